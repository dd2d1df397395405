#!/usr/bin/env python3
"""Reads benchmark: authenticated reads and password logins, each beside its ceiling measured in
the same run (issue #12 items 3 and 4).

One Tessera (release build, the default argon2id parameters of config/default.toml) and one
nginx (a minimal configuration in a temporary directory, answering a fixed JSON body: the one
`GET /api/v1/users/{id}` answers) on free loopback ports; the load comes from wrk
(bench/reads/wrk.lua) on the same machine. Tessera's store (--store): the embedded
`surrealkv://` store in the temporary directory (surrealkv), Tessera over `ws://` to a SurrealDB
server on the same machine (ws: --surreal, `surreal start` with root credentials and its own
`surrealkv://` store in the temporary directory, the scale-out configuration), or both in turn
(the default when a SurrealDB server binary is found): each a fresh Tessera and store, seeded
alike and measured alike, against the same ceilings of the same run.

Seeding: the first admin (bootstrap), --users users through SCIM /Bulk, a target user, a
non-admin `reader` in a group `readers` whose policy allows `users:GetUser` (403 before the
policy is attached, 200 after), an `sk_` key of the admin, and --login-users users with
passwords for the logins.

Phases (each --duration s after --warmup s not recorded, --connections connections,
--threads wrk threads; before each, the script waits until no cargo/rustc runs, --wait-idle);
for each store in turn, the ceilings (nginx; argon2; the pair at once) at their first turn only,
nginx again at the very end:
  ceiling   nginx, the fixed body                               -> req/s  (first and last)
  reads     GET /healthz (informative)
            GET /api/v1/users/me with a session token, with the sk_ key
            GET /api/v1/users/{id} of the target as the admin, as the reader
                                                  -> req/s ÷ nginx, p50/p99, errors
  hashing   argon2id verify with argon2-cffi, the same parameters, in as many processes as
            the server has hashing threads (one per usable core)          -> verifies/s
  logins    POST /api/v1/users/login, --login-connections connections (within the server's
            bound on sign-ins in flight), the login users in turn    -> logins/s ÷ verifies/s
  together  the ceiling pair at once: nginx under wrk beside the argon2 processes; then
            Tessera: GET /api/v1/users/me (session) beside the logins, at once
                                          -> each ÷ its ceiling measured beside the other
Server RSS (VmRSS) is sampled every 100 ms, and its CPU time read per phase; over ws:// the
SurrealDB server's too.

Output: a Markdown section on stdout (progress on stderr); with --write it replaces the
`## Reads` section of BENCHMARKS.md (appended when missing). --quick: a short run to try the
script.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from benchkit import (Child, Http, Quiet, RssSampler, SurrealServer,  # noqa: E402
                      Tessera, add_output_args, add_quiet_args, add_run_args, apply_sizes,
                      args_json, bulk_users, call, check_binary, default_settings, default_surreal,
                      die_with_parent, end_section, file_tail, fmt_ms, in_workdir, log,
                      machine, nginx_binary, nginx_fixed_body, peer_target, process_rss_mib,
                      publish, ratio, rerun_args_but_json, scim_user, start_nginx,
                      surreal_version, tessera_version, tool_version)

HERE = Path(__file__).resolve().parent
WRK_LUA = HERE / "wrk.lua"
ARGON2_WORKER = HERE / "argon2_verify.py"
ADMIN = {"username": "admin", "password": "admin-password-1"}
READER = {"username": "reader", "password": "reader-password-1"}
TARGET = {"username": "target", "password": "target-password-1"}
LOGIN_PASSWORD = "login-password-0"
# Goals of issue #12: ratio to the ceiling, and latency.
GOAL_ME, GOAL_OTHER, GOAL_P99_MS, GOAL_LOGINS = 0.40, 0.25, 10.0, 0.90
# Published figures compared with (not measured here).
KEYCLOAK = "Keycloak's sizing guide: 15 password logins/s per vCPU, ~1.25 GB of memory per pod"
RAUTHY = "Rauthy: 35–65 MB RSS"

def argon2_params() -> dict:
    """[auth.argon2] of config/default.toml: the server's defaults, given to both sides."""
    return default_settings("auth.argon2", ("memory_kib", "iterations", "parallelism"))


# --store: what each store is called in the report, and the log file of its Tessera.
STORES = {"surrealkv": ("embedded", "tessera.log"), "ws": ("ws://", "tessera-ws.log")}
SURREAL_LOG = "surrealdb.log"


def start_tessera(binary: Path, workdir: Path, argon2: dict,
                  db: SurrealServer | None = None) -> Tessera:
    """The server with the defaults of config/default.toml stated (the ceiling uses the same
    argon2 parameters), its workers, hashing threads and sign-ins in flight left to their
    defaults: one per core, four per hashing thread. Without `db` on an embedded store in the
    workdir; with it over ws:// to that SurrealDB server as its root user (a random master
    key, as a shared database needs)."""
    env = {"TESSERA__AUTH__ARGON2__MEMORY_KIB": str(argon2["memory_kib"]),
           "TESSERA__AUTH__ARGON2__ITERATIONS": str(argon2["iterations"]),
           "TESSERA__AUTH__ARGON2__PARALLELISM": str(argon2["parallelism"])}
    unset = ("TESSERA__SERVER__WORKERS", "TESSERA__AUTH__HASHER_THREADS",
             "TESSERA__AUTH__MAX_PENDING_LOGINS", "TESSERA__AUTH__SECRET",
             "TESSERA__AUTH__SECRET_FILE", "TESSERA__DATABASE__NAMESPACE",
             "TESSERA__DATABASE__DATABASE")
    if db is None:
        return Tessera(binary, workdir / "store", "tessera", logfile=workdir / STORES[
            "surrealkv"][1], env=env, unset=unset + ("TESSERA__DATABASE__USERNAME",
                                                     "TESSERA__DATABASE__PASSWORD"))
    return Tessera(binary, workdir / "tessera-ws", "tessera (ws://)",
                   logfile=workdir / STORES["ws"][1], env=env,
                   unset=tuple(k for k in unset if k != "TESSERA__AUTH__SECRET"),
                   endpoint=db.endpoint(), db_username=db.user, db_password=db.password)


# --------------------------------------------------------------------------- measurements

@dataclass
class Load:
    """One wrk run (or the argon2 processes) and what the server did meanwhile."""
    label: str
    connections: int = 0
    requests: int = 0
    seconds: float = float("nan")
    p50: float = float("nan")       # ms
    p99: float = float("nan")
    max: float = float("nan")
    errors: dict = field(default_factory=dict)
    server_cpu: float = float("nan")  # cores busy (CPU s ÷ wall s)
    db_cpu: float = float("nan")      # the SurrealDB server's, over ws://
    skipped: str = ""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds and self.requests else float("nan")

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def summary(self) -> str:
        err = f", errors {self.errors}" if self.errors else ""
        db = "" if math.isnan(self.db_cpu) else f", SurrealDB cores {self.db_cpu:.2f}"
        return (f"{self.label}: {self.requests:,} in {self.seconds:.1f} s = {self.rate:,.0f}/s, "
                f"p50 {fmt_ms(self.p50)} ms, p99 {fmt_ms(self.p99)} ms, "
                f"server cores {self.server_cpu:.2f}{db}{err}")


async def wrk(port: int, path: str, seconds: float, connections: int, threads: int,
              token: str = "", bodies: list[str] | None = None, statuses: bool = False,
              label: str = "", start_at: float = 0.0) -> Load:
    """Runs wrk for `seconds` against 127.0.0.1:`port``path`; returns its figures."""
    env = dict(os.environ, BENCH_TOKEN=token, BENCH_METHOD="POST" if bodies else "GET",
               BENCH_BODIES="\n".join(bodies or []), BENCH_STATUSES="1" if statuses else "")
    argv = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections),
            "-d", f"{max(1, round(seconds))}s", "--timeout", "5s", "-s", str(WRK_LUA),
            f"http://127.0.0.1:{port}{path}"]
    wait = start_at - time.time()
    if wait > 0:
        await asyncio.sleep(wait)
    p = await asyncio.create_subprocess_exec(*argv, env=env, stdout=asyncio.subprocess.PIPE,
                                             stderr=asyncio.subprocess.PIPE,
                                             preexec_fn=die_with_parent)
    try:
        out, err = await p.communicate()
    finally:
        if p.returncode is None:
            p.kill()
            await p.wait()
    text = out.decode(errors="replace")
    line = next((x for x in text.splitlines() if x.startswith("BENCH_JSON ")), None)
    if p.returncode != 0 or line is None:
        raise RuntimeError(f"wrk {path} exited with {p.returncode}:\n{text[-2000:]}\n"
                           f"{err.decode(errors='replace')[-2000:]}")
    r = json.loads(line[len("BENCH_JSON "):])
    load = Load(label or path, connections=connections, requests=r["requests"],
                seconds=r["duration_us"] / 1e6, p50=r["p50_us"] / 1000, p99=r["p99_us"] / 1000,
                max=r["max_us"] / 1000)
    for k in ("connect", "read", "write", "timeout"):
        if r[k]:
            load.errors[k] = r[k]
    if statuses:
        for code, n in r["statuses"].items():
            if not code.startswith(("2", "3")):
                load.errors[f"HTTP {code}"] = n
    elif r["status"]:
        load.errors["HTTP non-2xx"] = r["status"]
    # wrk counts answers with an error status among its requests: only successes count here
    load.requests -= r["status"]
    return load


def cpu_of(child: Child | None) -> float:
    return child.cpu() if child else float("nan")


async def measure(args, quiet: Quiet, server: Child | None, port: int, path: str,
                  label: str, token: str = "", connections: int | None = None,
                  bodies: list[str] | None = None, db: Child | None = None) -> Load:
    """One phase: waits for a quiet machine, warms up, then runs wrk for --duration. `db`:
    the SurrealDB server behind `server`, whose CPU is read too."""
    c = connections or args.connections

    async def attempt() -> Load:
        if args.warmup > 0:
            await wrk(port, path, args.warmup, c, args.threads, token, bodies, bool(bodies))
        cpu0, db0, t0 = cpu_of(server), cpu_of(db), time.perf_counter()
        load = await wrk(port, path, args.duration, c, args.threads, token, bodies,
                         bool(bodies), label)
        wall = time.perf_counter() - t0
        load.server_cpu = (cpu_of(server) - cpu0) / wall
        load.db_cpu = (cpu_of(db) - db0) / wall
        log(f"  {load.summary()}")
        return load

    return await quiet.phase(label, attempt)


async def argon2_ceiling(args, argon2: dict, processes: int, label: str,
                         start_at: float = 0.0) -> Load:
    """`processes` argon2-cffi verify loops at once for --duration s (from `start_at`)."""
    start = start_at or time.time() + 1.0
    argv = [sys.executable, str(ARGON2_WORKER), "--memory-kib", str(argon2["memory_kib"]),
            "--iterations", str(argon2["iterations"]), "--parallelism",
            str(argon2["parallelism"]), "--seconds", str(args.duration), "--start", str(start)]
    procs = [await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                  stderr=asyncio.subprocess.PIPE,
                                                  preexec_fn=die_with_parent)
             for _ in range(processes)]
    outs = []
    try:
        for p in procs:
            out, err = await p.communicate()
            if p.returncode != 0:
                raise RuntimeError(f"{ARGON2_WORKER.name} exited with {p.returncode}: "
                                   f"{err.decode(errors='replace')[-1000:]}")
            outs.append(json.loads(out))
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
    load = Load(label, connections=processes)
    # the processes' rates added up, over the same window
    rate = sum(o["verifies"] / o["seconds"] for o in outs)
    load.seconds = max(o["seconds"] for o in outs)
    load.requests = round(rate * load.seconds)
    log(f"  {label}: {sum(o['verifies'] for o in outs):,} verifies in {load.seconds:.1f} s "
        f"= {rate:,.1f}/s")
    return load


# --------------------------------------------------------------------------- seeding

@dataclass
class Seeded:
    admin: str = ""
    reader: str = ""
    key: str = ""
    target_id: str = ""
    login_bodies: list = field(default_factory=list)
    body: str = ""           # GET /api/v1/users/{target} as the admin: nginx's fixed body
    seconds: float = float("nan")


def user_body(i: int) -> dict:
    return scim_user(f"user{i}@reads.test")


async def seed(t: Tessera, args) -> Seeded:
    s = Seeded()
    t0 = time.perf_counter()
    http = Http(t.port)
    try:
        await call(http, "POST", "/api/v1/users/bootstrap", ADMIN, expect=(201,))
        s.admin = (await call(http, "POST", "/api/v1/users/login", ADMIN))["token"]
        await bulk_users([http], "", s.admin, user_body, 1, args.users, 1000)
        s.target_id = (await call(http, "POST", "/api/v1/users", TARGET, s.admin,
                                  expect=(201,)))["id"]
        reader_id = (await call(http, "POST", "/api/v1/users", READER, s.admin,
                                expect=(201,)))["id"]
        s.reader = (await call(http, "POST", "/api/v1/users/login", READER))["token"]
        target = f"/api/v1/users/{s.target_id}"
        await call(http, "GET", target, token=s.reader, expect=(403,))
        policy = (await call(http, "POST", "/api/v1/policies", {
            "name": "read-users",
            "document": {"statement": [{"effect": "Allow", "action": ["users:GetUser"]}]}},
            s.admin, expect=(201,)))["id"]
        group = (await call(http, "POST", "/api/v1/groups",
                            {"name": "readers", "member_ids": [reader_id]}, s.admin,
                            expect=(201,)))["id"]
        await call(http, "GET", target, token=s.reader, expect=(403,))
        await call(http, "PUT", f"/api/v1/groups/{group}/policies", {"policy_ids": [policy]},
                   s.admin, expect=(204,))
        await call(http, "GET", target, token=s.reader)      # allowed through the group now
        s.key = (await call(http, "POST", "/api/v1/api-keys", {"name": "reads-bench"}, s.admin,
                            expect=(201,)))["key"]
        if not s.key.startswith("sk_"):
            raise RuntimeError(f"POST /api/v1/api-keys: a key not starting with sk_: "
                               f"{s.key[:6]}…")
        me = await call(http, "GET", "/api/v1/users/me", token=s.key)
        if me.get("username") != ADMIN["username"]:
            raise RuntimeError(f"GET /api/v1/users/me with the key: {me}")
        for i in range(args.login_users):
            who = {"username": f"login{i}", "password": LOGIN_PASSWORD}
            await call(http, "POST", "/api/v1/users", who, s.admin, expect=(201,))
            s.login_bodies.append(json.dumps(who, separators=(",", ":")))
        await call(http, "POST", "/api/v1/users/login", json.loads(s.login_bodies[0]))
        status, payload = await http.request("GET", target, token=s.admin)
        if status != 200:
            raise RuntimeError(f"GET {target} as the admin: HTTP {status}")
        s.body = payload.decode()
    finally:
        await http.close()
    s.seconds = time.perf_counter() - t0
    return s


# --------------------------------------------------------------------------- run

@dataclass
class StoreRun:
    """What was measured of Tessera on one store."""
    store: str                                       # "surrealkv" or "ws"
    healthz: Load | None = None
    reads: dict = field(default_factory=dict)        # key -> Load
    logins: Load | None = None
    beside_reads: Load | None = None                 # /users/me beside the logins
    beside_logins: Load | None = None                # logins beside /users/me
    rss: dict = field(default_factory=dict)          # Tessera's, MiB
    db_rss: dict = field(default_factory=dict)       # the SurrealDB server's (ws://), MiB
    seeded: Seeded | None = None
    start_s: float = float("nan")                    # Tessera: spawn -> /healthz 200
    db_start_s: float = float("nan")                 # SurrealDB: spawn -> /health 200

    @property
    def name(self) -> str:
        return STORES[self.store][0]


@dataclass
class Results:
    nginx: list = field(default_factory=list)        # Load, first and last
    argon2: Load | None = None
    beside_nginx: Load | None = None                 # nginx beside the argon2 processes
    beside_argon2: Load | None = None                # argon2 processes beside nginx under wrk
    stores: dict = field(default_factory=dict)       # "surrealkv"/"ws" -> StoreRun, in turn
    quiet: Quiet = field(default_factory=lambda: Quiet(0, 0))
    body_bytes: int = 0
    failure: str = ""


READS = (  # key, label, goal
    ("me_session", "`GET /api/v1/users/me`, session token", GOAL_ME),
    ("me_key", "`GET /api/v1/users/me`, `sk_` key", GOAL_ME),
    ("other_admin", "`GET /api/v1/users/{id}` of another user, as admin", GOAL_OTHER),
    ("other_group", "`GET /api/v1/users/{id}` of another user, non-admin allowed by a group "
                    "policy", GOAL_OTHER),
)


async def together(port_a: int, path_a: str, token_a: str, args, other, label: str,
                   server: Child, db: Child | None = None) -> tuple[Load, Load]:
    """wrk on `path_a` and `other(start_at)` (a coroutine giving a Load) at the same time."""
    start_at = time.time() + 1.0

    async def first() -> Load:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        cpu0, db0, t0 = cpu_of(server), cpu_of(db), time.perf_counter()
        load = await wrk(port_a, path_a, args.duration, args.connections, args.threads,
                         token_a, label=label)
        wall = time.perf_counter() - t0
        load.server_cpu = (cpu_of(server) - cpu0) / wall
        load.db_cpu = (cpu_of(db) - db0) / wall
        return load

    a, b = await asyncio.gather(first(), other(start_at))
    log(f"  {a.summary()}")
    if not math.isnan(b.p50):      # the argon2 processes said their own
        log(f"  {b.summary()}")
    return a, b


async def run(args, workdir: Path, res: Results, argon2: dict, cores: int) -> None:
    """Each store in turn (the ceilings at the first), then nginx again."""
    ceilings: dict = {}          # "nginx": the nginx child, started at the first store
    try:
        for store in args.stores:
            sr = res.stores[store] = StoreRun(store)
            await run_store(args, workdir, res, sr, argon2, cores, ceilings)
        nginx = ceilings["nginx"]
        log("nginx again")
        res.nginx.append(await measure(args, res.quiet, nginx, nginx.port, "/",
                                       "nginx (last)"))
    finally:
        if "nginx" in ceilings:
            ceilings["nginx"].stop()


async def run_store(args, workdir: Path, res: Results, sr: StoreRun, argon2: dict,
                    cores: int, ceilings: dict) -> None:
    """A fresh Tessera on `sr.store` (over ws://: a fresh SurrealDB server first), seeded and
    measured; the ceilings measured where they are first needed. Its servers are stopped at
    the end."""
    db: SurrealServer | None = None
    tessera: Tessera | None = None
    samplers: list = []
    tag = "" if sr.store == "surrealkv" else f" ({sr.name})"
    try:
        if sr.store == "ws":
            db = SurrealServer(args.surreal, workdir / "surrealdb", logfile=workdir / SURREAL_LOG)
            log(f"SurrealDB server {args.surreal}, store {db.store()}")
            sr.db_start_s = await db.start()
            samplers.append((RssSampler(db.pid()), sr.db_rss))
            log(f"  accepting connections after {sr.db_start_s:.2f} s on port {db.port}")
        tessera = start_tessera(args.binary, workdir, argon2, db)
        log(f"Tessera{tag}, store {tessera.endpoint}")
        sr.start_s, _ = await tessera.start(timeout=120, interval=0.005, from_spawn=False)
        samplers.insert(0, (RssSampler(tessera.pid()), sr.rss))
        for sampler, _ in samplers:
            sampler.start()

        def window(name: str) -> None:
            for sampler, _ in samplers:
                sampler.window = name

        def now(key: str) -> None:
            for sampler, into in samplers:
                into[key] = process_rss_mib(sampler.pid)

        def peak(key: str, *windows: str) -> None:
            for sampler, into in samplers:
                into[key] = sampler.peak_of(*windows)

        await asyncio.sleep(2)
        now("idle")
        window("seed")
        log(f"seeding{tag}: {args.users:,} users (SCIM /Bulk), target, reader in a group with "
            f"a users:GetUser policy, sk_ key, {args.login_users} login users")
        sr.seeded = s = await seed(tessera, args)
        now("seeded")
        log(f"  seeded in {s.seconds:.1f} s, RSS {sr.rss['seeded']:.0f} MiB"
            + (f", SurrealDB {sr.db_rss['seeded']:.0f} MiB" if db else ""))
        if "nginx" not in ceilings:
            res.body_bytes = len(s.body.encode())
            nginx = ceilings["nginx"] = start_nginx(workdir, nginx_fixed_body(s.body))
            await nginx.until_200("/")
            log(f"nginx, fixed body of {res.body_bytes} bytes, {args.connections} connections")
            res.nginx.append(await measure(args, res.quiet, nginx, nginx.port, "/",
                                           "nginx (first)"))
        nginx = ceilings["nginx"]
        window("reads")
        target = f"/api/v1/users/{s.target_id}"
        log(f"Tessera reads{tag}")
        sr.healthz = await measure(args, res.quiet, tessera, tessera.port, "/healthz",
                                   "/healthz" + tag, db=db)
        for key, token, path in (("me_session", s.admin, "/api/v1/users/me"),
                                 ("me_key", s.key, "/api/v1/users/me"),
                                 ("other_admin", s.admin, target),
                                 ("other_group", s.reader, target)):
            sr.reads[key] = await measure(args, res.quiet, tessera, tessera.port, path,
                                          key + tag, token, db=db)
        peak("reads", "reads")
        window("logins")
        if res.argon2 is None:
            log(f"argon2id verify (argon2-cffi), {cores} processes, {argon2}")
            res.argon2 = await res.quiet.phase(
                "argon2-cffi verify",
                lambda: argon2_ceiling(args, argon2, cores, "argon2-cffi verify"))
        log(f"logins{tag}, {args.login_connections} connections")
        sr.logins = await measure(args, res.quiet, tessera, tessera.port,
                                  "/api/v1/users/login", "logins" + tag,
                                  connections=args.login_connections, bodies=s.login_bodies,
                                  db=db)
        peak("logins", "logins")
        window("together")
        if res.beside_nginx is None:
            log("together: nginx beside the argon2 processes")
            res.beside_nginx, res.beside_argon2 = await res.quiet.phase(
                "nginx beside argon2", lambda: together(
                    nginx.port, "/", "", args,
                    lambda at: argon2_ceiling(args, argon2, cores, "argon2-cffi beside nginx",
                                              at),
                    "nginx beside argon2", nginx))
        log(f"together{tag}: Tessera /users/me (session) beside the logins")

        async def logins_beside(at: float) -> Load:
            return await wrk(tessera.port, "/api/v1/users/login", args.duration,
                             args.login_connections, 1, bodies=s.login_bodies, statuses=True,
                             label="logins beside reads" + tag, start_at=at)

        sr.beside_reads, sr.beside_logins = await res.quiet.phase(
            "/users/me beside logins" + tag, lambda: together(
                tessera.port, "/api/v1/users/me", s.admin, args, logins_beside,
                "/users/me beside logins" + tag, tessera, db))
        peak("together", "together")
        now("end")
        peak("peak", "reads", "logins", "together")
    finally:
        for sampler, _ in samplers:
            await sampler.stop()
        if tessera:
            tessera.stop()
        if db:
            db.stop()


# --------------------------------------------------------------------------- report

def mark(ok: bool | None) -> str:
    return "" if ok is None else (" ✓" if ok else " ✗")


def nginx_ceiling(res: Results) -> float:
    rates = [x.rate for x in res.nginx if not math.isnan(x.rate)]
    return sum(rates) / len(rates) if rates else float("nan")


def rate_text(v: float) -> str:
    return "—" if v is None or math.isnan(v) else (f"{v:,.0f}" if v >= 100 else f"{v:,.1f}")


def errors_text(x: Load | None) -> str:
    if x is None:
        return "—"
    if not x.errors:
        return "0"
    return ", ".join(f"{v:,}× {k}" for k, v in x.errors.items())


def cores_text(v: float) -> str:
    return "—" if v is None or math.isnan(v) else f"{v:.2f}"


def rate_of(x: Load | None) -> float:
    return x.rate if x else float("nan")


def table(L: list, columns: list, rows: list) -> None:
    """Appends a Markdown table: `columns` (header, key) pairs, each row a dict key -> cell
    (a missing key: an empty cell)."""
    L.append("| " + " | ".join(h for h, _ in columns) + " |")
    L.append("|" + "---|" * len(columns))
    for r in rows:
        L.append("| " + " | ".join(str(r.get(k, "")) for _, k in columns) + " |")
    L.append("")


def load_cells(x: Load | None, db: bool) -> dict:
    """A measurement's cells: rate, latencies, errors, cores busy (the SurrealDB server's
    with `db`)."""
    if x is None:
        return {k: "—" for k in ("rate", "p50", "p99", "errors", "cores", "db")}
    return {"rate": rate_text(x.rate), "p50": fmt_ms(x.p50), "p99": fmt_ms(x.p99),
            "errors": errors_text(x), "cores": cores_text(x.server_cpu),
            "db": cores_text(x.db_cpu) if db else ""}


def home_path(path: Path) -> str:
    """`path` with the home directory written `~`."""
    text, home = str(path), str(Path.home())
    return "~" + text[len(home):] if home != "/" and text.startswith(home + "/") else text


def report(res: Results, args, m: dict, version: str, versions: dict, argon2: dict,
           cores: int, load_end: str) -> str:
    ceiling = nginx_ceiling(res)
    nan = float("nan")
    has_ws, both = "ws" in args.stores, len(args.stores) > 1
    runs = [res.stores.get(store) or StoreRun(store) for store in args.stores]
    embedded = res.stores.get("surrealkv")

    def versus(sr: StoreRun, get) -> str:
        """A ws:// figure ÷ the same figure embedded (both stores measured only)."""
        if not both or sr.store == "surrealkv" or embedded is None:
            return ""
        return ratio(rate_of(get(sr)), rate_of(get(embedded)))[0]

    if both:
        where = ("two stores in turn, each fresh and seeded alike: the embedded `surrealkv://` "
                 "store, then over `ws://` to a SurrealDB server (below)")
    elif has_ws:
        where = "over `ws://` to a fresh SurrealDB server (below)"
    else:
        where = "store `surrealkv://`, one fresh store"
    L = ["## Reads", ""]
    L.append(
        f"`bench/reads/run.sh` ({m['date']}): Tessera ({version}; {where}; default settings: "
        f"{cores} HTTP workers and {cores} hashing threads, one per core; argon2id "
        f"{argon2['memory_kib']:,} KiB × {argon2['iterations']} iterations × "
        f"{argon2['parallelism']} lane, the defaults of `config/default.toml`) beside "
        f"{versions['nginx']} (`worker_processes auto`, answering `return 200` with a fixed "
        f"{res.body_bytes}-byte JSON body: what `GET /api/v1/users/{{id}}` answers) in the same "
        f"run, on loopback. Load: {versions['wrk']}, {args.threads} threads, "
        f"{args.connections} connections, {args.duration:g} s per measurement after "
        f"{args.warmup:g} s of warm-up; client and servers share the machine. Machine: "
        f"{m['nproc']} CPUs ({m['usable']} usable), {m['cpu']}, {m['mem']}, Linux {m['kernel']}, "
        f"load average {m['load']} at start, {load_end} at the end.")
    if has_ws:
        L += ["", f"**Over `ws://`** (the scale-out configuration: stateless replicas on one "
                  f"database): the SurrealDB server is {versions['surreal']} "
                  f"(`{home_path(args.surreal)}`: the `surreal` command line as SurrealDB ships "
                  f"it, built from `tests/peers/surrealdb-server`), `surreal start` as root with "
                  f"a fresh `surrealkv://` store in the temporary directory, log level warn, on "
                  f"loopback on the same machine: it shares the {m['usable']} usable cores with "
                  f"Tessera, nginx and wrk; its CPU and RSS are shown apart. Tessera connects to "
                  f"it as root (namespace and database `tessera`) with a configured master key, "
                  f"as replicas sharing a database need."]
    if "/debug/" in str(args.binary):
        L += ["", "**Debug build: these numbers only show that the script works.**"]
    if has_ws and ("/debug/" in str(args.surreal) or "debug" in versions.get("surreal", "")):
        L += ["", "**The SurrealDB server is a debug build (the one `scripts/setup --peers` "
                  "builds for the tests): its `ws://` numbers only show that the script works.**"]
    if args.quick:
        L += ["", "**`--quick`: a short run to try the script, not the published numbers.**"]
    L += ["", f"{'Each store' if both else 'The store'} holds "
              f"{args.users + args.login_users + 3:,} users ({args.users:,} "
              f"through SCIM `/Bulk`, the admin, the target, the reader and "
              f"{args.login_users} login users). Ratio = Tessera ÷ nginx (the mean of the two "
              f"nginx runs, first and last"
              + (", before the first store and after the last" if both else "") + ")"
              + ("; ws:// ÷ embedded: Tessera over `ws://` ÷ Tessera on the embedded store, "
                 "the same measurement" if both else "")
              + f". Goals of issue #12: `/users/me` ≥ {GOAL_ME:.2f}, another user's record ≥ "
                f"{GOAL_OTHER:.2f}, p99 < {GOAL_P99_MS:g} ms, no errors.", ""]

    def cols(*last: tuple) -> list:
        c = [("measurement", "what"), ("store", "store"), ("per second", "rate"),
             ("p50 (ms)", "p50"), ("p99 (ms)", "p99"), ("errors", "errors"),
             ("Tessera cores busy", "cores")]
        if has_ws:
            c.append(("SurrealDB cores busy", "db"))
        return c + list(last)

    read_cols = cols(("ratio to nginx", "ratio"), *([("ws:// ÷ embedded", "vs")] if both
                                                     else []), ("goal", "goal"))
    read_cols[2] = ("req/s", "rate")
    rows = []
    for i, x in enumerate(res.nginx):
        rows.append({"what": f"nginx, fixed JSON body ({'first' if i == 0 else 'last'})",
                     **load_cells(x, False), "cores": cores_text(x.server_cpu),
                     "ratio": ratio(x.rate, ceiling)[0]})
    rows.append({"what": "**nginx ceiling** (mean)", "rate": f"**{rate_text(ceiling)}**",
                 "ratio": "1.00×"})

    def read_row(label: str, sr: StoreRun, get, goal: float | None) -> dict:
        x = get(sr)
        row = {"what": label, "store": sr.name, **load_cells(x, sr.store == "ws"),
               "vs": versus(sr, get)}
        if x is None:
            row.update(ratio="—", goal="not measured")
            return row
        text, r = ratio(x.rate, ceiling)
        row["ratio"] = text
        if goal is not None:
            ok = None if r is None else (r >= goal and x.p99 < GOAL_P99_MS and not x.errors)
            row["goal"] = f"≥ {goal:.2f}, p99 < {GOAL_P99_MS:g} ms" + mark(ok)
        return row

    for sr in runs:
        rows.append(read_row("Tessera `GET /healthz` (no credential; informative)", sr,
                             lambda r: r.healthz, None))
    for key, label, goal in READS:
        for sr in runs:
            rows.append(read_row(label, sr, lambda r, k=key: r.reads.get(k), goal))
    table(L, read_cols, rows)

    a = res.argon2
    L.append(f"**Password logins** (`POST /api/v1/users/login`, {args.login_connections} "
             f"connections: the server checks at most four sign-ins per hashing thread at once "
             f"and refuses more with 503; the {args.login_users} login users in turn) beside "
             f"raw argon2id verify with PyPI {versions['argon2']} (the reference C "
             f"implementation) at the same parameters, in {cores} processes (one per hashing "
             f"thread), each verifying without pause. Goal: ≥ {GOAL_LOGINS:.2f}.")
    L.append("")
    rows = []
    if a:
        rows.append({"what": f"argon2-cffi verify, {cores} processes (ceiling)",
                     "rate": rate_text(a.rate), "ratio": "1.00×"})
    for sr in runs:
        lg = sr.logins
        row = {"what": "Tessera logins", "store": sr.name, **load_cells(lg, sr.store == "ws"),
               "vs": versus(sr, lambda r: r.logins)}
        if lg is None:
            row.update(ratio="—", goal="not measured")
        else:
            text, r = ratio(lg.rate, rate_of(a))
            row.update(ratio=text, goal=f"≥ {GOAL_LOGINS:.2f}" + mark(
                None if r is None else r >= GOAL_LOGINS and not lg.errors))
        rows.append(row)
    table(L, cols(("ratio", "ratio"), *([("ws:// ÷ embedded", "vs")] if both else []),
                  ("goal", "goal")), rows)

    bn, ba = res.beside_nginx, res.beside_argon2
    L.append(f"**Reads and logins at once** (issue #12 item 4: hashing must not starve reads). "
             f"The ceiling pair first: nginx under wrk ({args.connections} connections) while "
             f"{cores} argon2-cffi processes verify; then Tessera"
             + (" on each store" if both else "")
             + f": `GET /api/v1/users/me` with a session token ({args.connections} connections) "
             f"while logins run ({args.login_connections} connections), both "
             f"{args.duration:g} s in the same window. Each figure ÷ its ceiling alone (above), "
             f"÷ its ceiling measured beside the other (the same contention for the {cores} "
             f"cores), and ÷ Tessera's own figure alone (on the same store). Goals: logins ≥ "
             f"{GOAL_LOGINS:.2f} of raw verify alone (issue #12: \"logins stay at the hashing "
             f"limit while reads run beside them\"); reads ≥ {GOAL_ME:.2f} of nginx beside the "
             f"hashing, p99 < {GOAL_P99_MS:g} ms, no errors (this benchmark's reading of "
             f"\"never starves\").")
    L.append("")
    rows = []
    if bn and ba:
        rows.append({"what": "nginx beside argon2-cffi (ceiling)", **load_cells(bn, False),
                     "alone": ratio(bn.rate, ceiling)[0], "at_once": "1.00×"})
        rows.append({"what": "argon2-cffi beside nginx (ceiling)", "rate": rate_text(ba.rate),
                     "alone": ratio(ba.rate, rate_of(a))[0], "at_once": "1.00×"})
    for sr in runs:
        br, bl = sr.beside_reads, sr.beside_logins
        alone_reads = sr.reads.get("me_session")
        row = {"what": "Tessera `/users/me` (session) beside logins", "store": sr.name,
               **load_cells(br, sr.store == "ws")}
        if br is None:
            row["goal"] = "not measured"
        else:
            text, r = ratio(br.rate, rate_of(bn))
            ok = None if r is None else (r >= GOAL_ME and br.p99 < GOAL_P99_MS
                                         and not br.errors)
            row.update(cores=f"{cores_text(br.server_cpu)} (both)",
                       alone=ratio(br.rate, ceiling)[0], at_once=text,
                       own=ratio(br.rate, rate_of(alone_reads))[0],
                       goal=f"≥ {GOAL_ME:.2f} at once, p99 < {GOAL_P99_MS:g} ms" + mark(ok))
            if sr.store == "ws":
                row["db"] = f"{cores_text(br.db_cpu)} (both)"
        rows.append(row)
        row = {"what": "Tessera logins beside `/users/me`", "store": sr.name,
               **load_cells(bl, False), "cores": "", "db": ""}
        if bl is None:
            row["goal"] = "not measured"
        else:
            text, r = ratio(bl.rate, rate_of(a))
            ok = None if r is None else (r >= GOAL_LOGINS and not bl.errors)
            row.update(alone=text, at_once=ratio(bl.rate, rate_of(ba))[0],
                       own=ratio(bl.rate, rate_of(sr.logins))[0],
                       goal=f"≥ {GOAL_LOGINS:.2f} alone" + mark(ok))
        rows.append(row)
    at_once_cols = cols(("÷ ceiling alone", "alone"), ("÷ ceiling at once", "at_once"),
                        ("÷ Tessera alone", "own"), ("goal", "goal"))
    at_once_cols[0] = ("at once", "what")
    table(L, at_once_cols, rows)
    shares = []
    for sr in runs:
        br, bl, alone_reads = sr.beside_reads, sr.beside_logins, sr.reads.get("me_session")
        if br and bl and alone_reads and sr.logins:
            fr, fl = br.rate / alone_reads.rate, bl.rate / sr.logins.rate
            shares.append(f"Tessera's reads and logins{f' ({sr.name})' if both else ''} "
                          f"{fr:.2f} + {fl:.2f} = {fr + fl:.2f}")
    if bn and ba and a and not math.isnan(ceiling):
        shares.append(f"the ceiling pair {bn.rate / ceiling:.2f} + {ba.rate / a.rate:.2f} = "
                      f"{bn.rate / ceiling + ba.rate / a.rate:.2f}")
    if shares:
        L.append("At once, each load's fraction of its figure alone, added up (1.00: the two share "
                 "the cores without loss; the load generator takes its part too): "
                 + "; ".join(shares) + ".")
        L.append("")

    rows = []
    for sr in runs:
        rows.append({"what": f"Tessera, {sr.name}", **{k: fmt_ms(sr.rss.get(k, nan))
                                                       for k in RSS_KEYS}})
        if sr.store == "ws":
            rows.append({"what": f"SurrealDB server ({sr.name})",
                         **{k: fmt_ms(sr.db_rss.get(k, nan)) for k in RSS_KEYS}})
    L.append(f"**Memory** (`VmRSS` in MiB, sampled every 100 ms; idle: 2 s after Tessera's "
             f"start; the logins' peak with {cores} × {argon2['memory_kib'] / 1024:g} MiB of "
             f"argon2 memory at once" + ("; the SurrealDB server's beside Tessera's over "
                                         "`ws://`, the same moments" if has_ws else "") + "):")
    L.append("")
    table(L, [("RSS (MiB)", "what"), ("idle", "idle"), ("after seeding", "seeded"),
              ("reads (peak)", "reads"), ("logins (peak)", "logins"),
              ("at once (peak)", "together"), ("end", "end")], rows)

    first = runs[0]
    lg = first.logins
    per_core = lg.rate / cores if lg and cores else nan
    peak = fmt_ms(first.rss.get("peak", nan))
    ws = res.stores.get("ws")
    ws_peak = ""
    if ws is None or "peak" not in ws.rss:
        pass
    elif first is not ws:
        ws_peak = (f"; over `ws://` {fmt_ms(ws.rss.get('peak', nan))} MiB, and the SurrealDB "
                   f"server's {fmt_ms(ws.db_rss.get('peak', nan))} MiB beside it")
    else:
        ws_peak = f", and the SurrealDB server's {fmt_ms(ws.db_rss.get('peak', nan))} MiB"
    L.append(
        f"**Published figures**, not measured here: {KEYCLOAK}; {RAUTHY}. Tessera here"
        f"{f' ({first.name})' if both else ''}: {rate_text(per_core)} password logins/s per "
        f"core ({ratio(per_core, 15.0)[0]} Keycloak's figure; with argon2id at "
        f"{argon2['memory_kib'] / 1024:g} MiB × {argon2['iterations']} the hash is the limit, "
        f"whatever the server, and Keycloak's figure is for its own hashing settings), and a "
        f"peak RSS of {peak} MiB under load{ws_peak} (Keycloak ~1,250 MB per pod; Rauthy "
        f"35–65 MB).")
    L.append("")

    notes = []
    if res.failure:
        notes.append(f"**The run failed: {res.failure}**")
    for sr in runs:
        if sr.seeded:
            db = (f"SurrealDB server start → first `/health` 200: {sr.db_start_s:.2f} s; "
                  if sr.store == "ws" else "")
            where = "Embedded store: " if sr.store == "surrealkv" else "Over `ws://`: "
            notes.append(f"{where if both else ''}{db}Tessera start → "
                         f"first `/healthz` 200: {sr.start_s * 1000:,.0f} ms on the empty "
                         f"store; seeding took {sr.seeded.seconds:.1f} s.")
    if any(sr.seeded for sr in runs):
        notes.append("Each read was answered 200 once before it was measured, and the "
                     "non-admin's read answered 403 before the group's policy was attached.")
    notes.append("wrk's latencies are per request, from the request's send (a closed loop: "
                 "each connection sends its next request when the answer arrives); a request "
                 "answered other than 2xx counts as an error, not as a request.")
    notes += res.quiet.notes("this script, wrk, the argon2 processes and the servers")
    rerun = " ".join(["bench/reads/run.sh"] + rerun_args_but_json())
    return end_section(L, notes, f"Run: `{rerun}` (see `bench/reads/README.md`).")


RSS_KEYS = ("idle", "seeded", "reads", "logins", "together", "end")


def load_json(x: Load | None):
    if x is None:
        return None
    return {"label": x.label, "connections": x.connections, "requests": x.requests,
            "seconds": x.seconds, "rate_per_s": x.rate, "p50_ms": x.p50, "p99_ms": x.p99,
            "max_ms": x.max, "errors": x.errors, "server_cores_busy": x.server_cpu,
            "surrealdb_cores_busy": None if math.isnan(x.db_cpu) else x.db_cpu}


def store_json(sr: StoreRun) -> dict:
    return {"healthz": load_json(sr.healthz),
            "reads": {k: load_json(v) for k, v in sr.reads.items()},
            "logins": load_json(sr.logins),
            "together": {"reads": load_json(sr.beside_reads),
                         "logins": load_json(sr.beside_logins)},
            "rss_mib": sr.rss, "surrealdb_rss_mib": sr.db_rss or None,
            "start_s": sr.start_s, "surrealdb_start_s": None if math.isnan(sr.db_start_s)
            else sr.db_start_s,
            "seed_s": sr.seeded.seconds if sr.seeded else None}


def to_json(res: Results) -> dict:
    return {"nginx": [load_json(x) for x in res.nginx], "nginx_ceiling": nginx_ceiling(res),
            "argon2": load_json(res.argon2),
            "together": {"nginx": load_json(res.beside_nginx),
                         "argon2": load_json(res.beside_argon2)},
            "stores": {k: store_json(v) for k, v in res.stores.items()},
            "other_processes_cores": res.quiet.others, "repeated": res.quiet.repeated,
            "body_bytes": res.body_bytes, "failure": res.failure}


# --------------------------------------------------------------------------- main

# Defaults; --quick takes the second value (each still overridden by its flag).
SIZES = {"duration": (10.0, 2.0), "warmup": (2.0, 0.5), "connections": (64, 16),
         "users": (1000, 50)}


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_args(ap, SIZES, "a short run")
    ap.add_argument("--duration", type=float, help="seconds per measurement (10)")
    ap.add_argument("--warmup", type=float, help="seconds of warm-up before each (2)")
    ap.add_argument("--connections", type=int, help="wrk connections for the reads (64)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    ap.add_argument("--login-connections", type=int,
                    help="wrk connections for the logins (default: 2 per hashing thread, "
                         "within the server's 4 sign-ins in flight per hashing thread)")
    ap.add_argument("--users", type=int, help="users created through SCIM /Bulk (1000)")
    ap.add_argument("--login-users", type=int, default=8,
                    help="users the logins sign in as, in turn (8)")
    release = peer_target() / "release" / "surrealdb-test-server"
    ap.add_argument("--store", choices=("surrealkv", "ws", "both"),
                    help="Tessera's store: the embedded surrealkv:// store, ws:// to a "
                         "SurrealDB server started here (--surreal), or both in turn, against "
                         "the same ceilings (default: both when a SurrealDB server binary is "
                         "found, else surrealkv)")
    ap.add_argument("--surreal", type=Path, default=default_surreal(),
                    help="the SurrealDB server binary for ws:// (the `surreal` command line; "
                         f"default: {release} when it is built, from "
                         "tests/peers/surrealdb-server; run.sh builds it when missing)")
    add_quiet_args(ap)
    add_output_args(ap, "Reads", "stores, configuration, logs")
    a = ap.parse_args()
    apply_sizes(ap, a, SIZES)
    cores = len(os.sched_getaffinity(0))
    if a.login_connections is None:
        a.login_connections = 2 * cores
    if min(a.duration, a.connections, a.threads, a.login_connections, a.login_users) <= 0 \
            or a.users < 0 or a.warmup < 0 or a.retries < 0:
        ap.error("sizes must be positive")
    if a.store is None:
        a.store = "both" if a.surreal else "surrealkv"
    a.stores = ["surrealkv", "ws"] if a.store == "both" else [a.store]
    if "ws" in a.stores:
        if a.surreal is None:
            ap.error(f"--store {a.store} needs a SurrealDB server binary: --surreal PATH "
                     f"(bench/reads/run.sh builds {release} when missing)")
        if not (a.surreal.is_file() and os.access(a.surreal, os.X_OK)):
            ap.error(f"--surreal {a.surreal}: not an executable file")
        a.surreal = a.surreal.resolve()
    return a


async def amain(args, workdir: Path, m: dict, version: str, versions: dict) -> int:
    argon2 = argon2_params()
    cores = len(os.sched_getaffinity(0))
    res = Results(quiet=Quiet(args.wait_idle, args.retries))
    failed = False
    try:
        await run(args, workdir, res, argon2, cores)
    except Exception as e:   # report what was measured, and the failure
        failed = True
        res.failure = f"{type(e).__name__}: {e}".splitlines()[0][:300]
        log(f"failed:\n{traceback.format_exc()}")
        for name in [STORES[x][1] for x in args.stores if x in res.stores] + (
                [SURREAL_LOG] if "ws" in res.stores else []):
            if (workdir / name).exists():
                log(f"{name} tail:\n{file_tail(workdir / name)}")
    load_end = " ".join(f"{x:.2f}" for x in os.getloadavg())
    section = report(res, args, m, version, versions, argon2, cores, load_end)
    return publish(args, section, "Reads", failed, {
        "machine": m, "version": version, "versions": versions, "argon2": argon2,
        "args": args_json(args), "results": to_json(res)})


def main() -> int:
    args = parse_args()
    if not check_binary(args):
        return 2
    if shutil.which("wrk") is None:
        print("wrk not found (bench/reads/run.sh installs it: apt-get install wrk)",
              file=sys.stderr)
        return 2
    try:
        import argon2   # noqa: F401
        from importlib.metadata import version as package_version
        argon2_version = f"argon2-cffi {package_version('argon2-cffi')}"
    except ImportError:
        print("needs argon2-cffi: pip install -r bench/requirements.txt", file=sys.stderr)
        return 2
    m = machine()
    version = tessera_version(args.binary)
    versions = {"wrk": tool_version(["wrk", "-v"]).split(" [")[0].split(" Copyright")[0],
                "nginx": tool_version([nginx_binary(), "-v"]).replace("nginx version: ", ""),
                "argon2": argon2_version}
    if "ws" in args.stores:
        versions["surreal"] = surreal_version(args.surreal)
    return in_workdir(args, "tessera-reads-bench-", f"{version}, {versions}, machine {m}",
                      lambda workdir: amain(args, workdir, m, version, versions))

if __name__ == "__main__":
    sys.exit(main())
