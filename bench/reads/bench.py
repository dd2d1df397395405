#!/usr/bin/env python3
"""Reads benchmark: authenticated reads and password logins, each beside its ceiling measured in
the same run (issue #12 items 3 and 4).

One Tessera (release build, embedded `surrealkv://` store in a temporary directory, the default
argon2id parameters of config/default.toml) and one nginx (a minimal configuration in the same
temporary directory, answering a fixed JSON body: the one `GET /api/v1/users/{id}` answers) on
free loopback ports; the load comes from wrk (bench/reads/wrk.lua) on the same machine.

Seeding: the first admin (bootstrap), --users users through SCIM /Bulk, a target user, a
non-admin `reader` in a group `readers` whose policy allows `users:GetUser` (403 before the
policy is attached, 200 after), an `sk_` key of the admin, and --login-users users with
passwords for the logins.

Phases (each --duration s after --warmup s not recorded, --connections connections,
--threads wrk threads; before each, the script waits until no cargo/rustc runs, --wait-idle):
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
Server RSS (VmRSS) is sampled every 100 ms, and its CPU time read per phase.

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
import re
import shutil
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from benchkit import (REPO, Child, Http, Quiet, RssSampler, Tessera,  # noqa: E402
                      add_output_args, add_quiet_args, add_run_args, apply_sizes, args_json,
                      bulk_users, call, check_binary, die_with_parent, end_section, file_tail,
                      fmt_ms, in_workdir, log, machine, nginx_binary, nginx_fixed_body,
                      process_rss_mib, publish, ratio, rerun_args_but_json, scim_user,
                      start_nginx, tessera_version, tool_version)

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
    text = (REPO / "config" / "default.toml").read_text()
    section = re.search(r"^\[auth\.argon2\]\s*\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
    if not section:
        raise RuntimeError("config/default.toml has no [auth.argon2] section")
    params = {}
    for key in ("memory_kib", "iterations", "parallelism"):
        m = re.search(rf"^{key}\s*=\s*(\d+)", section.group(1), re.M)
        if not m:
            raise RuntimeError(f"config/default.toml: [auth.argon2] has no {key}")
        params[key] = int(m.group(1))
    return params


def start_tessera(binary: Path, workdir: Path, argon2: dict) -> Tessera:
    """The server with the defaults of config/default.toml stated (the ceiling uses the same
    argon2 parameters), its workers, hashing threads and sign-ins in flight left to their
    defaults: one per core, four per hashing thread."""
    return Tessera(binary, workdir / "store", "tessera", logfile=workdir / "tessera.log", env={
        "TESSERA__AUTH__ARGON2__MEMORY_KIB": str(argon2["memory_kib"]),
        "TESSERA__AUTH__ARGON2__ITERATIONS": str(argon2["iterations"]),
        "TESSERA__AUTH__ARGON2__PARALLELISM": str(argon2["parallelism"])},
        unset=("TESSERA__SERVER__WORKERS", "TESSERA__AUTH__HASHER_THREADS",
               "TESSERA__AUTH__MAX_PENDING_LOGINS"))


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
    skipped: str = ""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds and self.requests else float("nan")

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def summary(self) -> str:
        err = f", errors {self.errors}" if self.errors else ""
        return (f"{self.label}: {self.requests:,} in {self.seconds:.1f} s = {self.rate:,.0f}/s, "
                f"p50 {fmt_ms(self.p50)} ms, p99 {fmt_ms(self.p99)} ms, "
                f"server cores {self.server_cpu:.2f}{err}")


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


async def measure(args, quiet: Quiet, server: Child | None, port: int, path: str,
                  label: str, token: str = "", connections: int | None = None,
                  bodies: list[str] | None = None) -> Load:
    """One phase: waits for a quiet machine, warms up, then runs wrk for --duration."""
    c = connections or args.connections

    async def attempt() -> Load:
        if args.warmup > 0:
            await wrk(port, path, args.warmup, c, args.threads, token, bodies, bool(bodies))
        cpu0, t0 = server.cpu() if server else float("nan"), time.perf_counter()
        load = await wrk(port, path, args.duration, c, args.threads, token, bodies,
                         bool(bodies), label)
        if server:
            load.server_cpu = (server.cpu() - cpu0) / (time.perf_counter() - t0)
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
class Results:
    nginx: list = field(default_factory=list)        # Load, first and last
    healthz: Load | None = None
    reads: dict = field(default_factory=dict)        # key -> Load
    argon2: Load | None = None
    logins: Load | None = None
    beside_nginx: Load | None = None                 # nginx beside the argon2 processes
    beside_argon2: Load | None = None                # argon2 processes beside nginx under wrk
    beside_reads: Load | None = None                 # /users/me beside the logins
    beside_logins: Load | None = None                # logins beside /users/me
    rss: dict = field(default_factory=dict)
    quiet: Quiet = field(default_factory=lambda: Quiet(0, 0))
    seeded: Seeded | None = None
    body_bytes: int = 0
    start_s: float = float("nan")
    failure: str = ""


READS = (  # key, label, goal
    ("me_session", "`GET /api/v1/users/me`, session token", GOAL_ME),
    ("me_key", "`GET /api/v1/users/me`, `sk_` key", GOAL_ME),
    ("other_admin", "`GET /api/v1/users/{id}` of another user, as admin", GOAL_OTHER),
    ("other_group", "`GET /api/v1/users/{id}` of another user, non-admin allowed by a group "
                    "policy", GOAL_OTHER),
)


async def together(port_a: int, path_a: str, token_a: str, args, other, label: str,
                   server: Child) -> tuple[Load, Load]:
    """wrk on `path_a` and `other(start_at)` (a coroutine giving a Load) at the same time."""
    start_at = time.time() + 1.0

    async def first() -> Load:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        cpu0, t0 = server.cpu(), time.perf_counter()
        load = await wrk(port_a, path_a, args.duration, args.connections, args.threads,
                         token_a, label=label)
        load.server_cpu = (server.cpu() - cpu0) / (time.perf_counter() - t0)
        return load

    a, b = await asyncio.gather(first(), other(start_at))
    log(f"  {a.summary()}")
    if not math.isnan(b.p50):      # the argon2 processes said their own
        log(f"  {b.summary()}")
    return a, b


async def run(args, workdir: Path, res: Results, argon2: dict, cores: int) -> None:
    tessera = start_tessera(args.binary, workdir, argon2)
    res.start_s, _ = await tessera.start(timeout=120, interval=0.005, from_spawn=False)
    rss = RssSampler(tessera.pid())
    rss.start()
    nginx = None
    try:
        await asyncio.sleep(2)
        res.rss["idle"] = process_rss_mib(tessera.pid())
        rss.window = "seed"
        log(f"seeding: {args.users:,} users (SCIM /Bulk), target, reader in a group with a "
            f"users:GetUser policy, sk_ key, {args.login_users} login users")
        res.seeded = s = await seed(tessera, args)
        res.rss["seeded"] = process_rss_mib(tessera.pid())
        log(f"  seeded in {s.seconds:.1f} s, RSS {res.rss['seeded']:.0f} MiB")
        res.body_bytes = len(s.body.encode())
        nginx = start_nginx(workdir, nginx_fixed_body(s.body))
        await nginx.until_200("/")
        rss.window = "reads"
        target = f"/api/v1/users/{s.target_id}"
        c = args.connections
        log(f"nginx, fixed body of {res.body_bytes} bytes, {c} connections")
        res.nginx.append(await measure(args, res.quiet, nginx, nginx.port, "/",
                                       "nginx (first)"))
        log("Tessera reads")
        res.healthz = await measure(args, res.quiet, tessera, tessera.port, "/healthz",
                                    "/healthz")
        for key, token, path in (("me_session", s.admin, "/api/v1/users/me"),
                                 ("me_key", s.key, "/api/v1/users/me"),
                                 ("other_admin", s.admin, target),
                                 ("other_group", s.reader, target)):
            res.reads[key] = await measure(args, res.quiet, tessera, tessera.port, path, key,
                                           token)
        res.rss["reads"] = rss.peak_of("reads")
        rss.window = "logins"
        log(f"argon2id verify (argon2-cffi), {cores} processes, {argon2}")
        res.argon2 = await res.quiet.phase(
            "argon2-cffi verify",
            lambda: argon2_ceiling(args, argon2, cores, "argon2-cffi verify"))
        log(f"logins, {args.login_connections} connections")
        res.logins = await measure(args, res.quiet, tessera, tessera.port,
                                   "/api/v1/users/login", "logins",
                                   connections=args.login_connections, bodies=s.login_bodies)
        res.rss["logins"] = rss.peak_of("logins")
        rss.window = "together"
        log("together: nginx beside the argon2 processes")
        res.beside_nginx, res.beside_argon2 = await res.quiet.phase(
            "nginx beside argon2", lambda: together(
                nginx.port, "/", "", args,
                lambda at: argon2_ceiling(args, argon2, cores, "argon2-cffi beside nginx", at),
                "nginx beside argon2", nginx))
        log("together: Tessera /users/me (session) beside the logins")

        async def logins_beside(at: float) -> Load:
            load = await wrk(tessera.port, "/api/v1/users/login", args.duration,
                             args.login_connections, 1, bodies=s.login_bodies, statuses=True,
                             label="logins beside reads", start_at=at)
            return load

        res.beside_reads, res.beside_logins = await res.quiet.phase(
            "/users/me beside logins", lambda: together(
                tessera.port, "/api/v1/users/me", s.admin, args, logins_beside,
                "/users/me beside logins", tessera))
        res.rss["together"] = rss.peak_of("together")
        log("nginx again")
        res.nginx.append(await measure(args, res.quiet, nginx, nginx.port, "/",
                                       "nginx (last)"))
        res.rss["end"] = process_rss_mib(tessera.pid())
        res.rss["peak"] = rss.peak_of("reads", "logins", "together")
    finally:
        await rss.stop()
        if nginx:
            nginx.stop()
        tessera.stop()


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


def report(res: Results, args, m: dict, version: str, versions: dict, argon2: dict,
           cores: int, load_end: str) -> str:
    ceiling = nginx_ceiling(res)
    L = ["## Reads", ""]
    L.append(
        f"`bench/reads/run.sh` ({m['date']}): Tessera ({version}; store `surrealkv://`, one "
        f"fresh store, default settings: {cores} HTTP workers and {cores} hashing threads, one "
        f"per core; argon2id {argon2['memory_kib']:,} KiB × {argon2['iterations']} iterations "
        f"× {argon2['parallelism']} lane, the defaults of `config/default.toml`) beside "
        f"{versions['nginx']} (`worker_processes auto`, answering `return 200` with a fixed "
        f"{res.body_bytes}-byte JSON body: what `GET /api/v1/users/{{id}}` answers) in the same "
        f"run, on loopback. Load: {versions['wrk']}, {args.threads} threads, "
        f"{args.connections} connections, {args.duration:g} s per measurement after "
        f"{args.warmup:g} s of warm-up; client and servers share the machine. Machine: "
        f"{m['nproc']} CPUs ({m['usable']} usable), {m['cpu']}, {m['mem']}, Linux {m['kernel']}, "
        f"load average {m['load']} at start, {load_end} at the end.")
    if "/debug/" in str(args.binary):
        L += ["", "**Debug build: these numbers only show that the script works.**"]
    if args.quick:
        L += ["", "**`--quick`: a short run to try the script, not the published numbers.**"]
    L += ["", f"The store holds {args.users + args.login_users + 3:,} users ({args.users:,} "
              f"through SCIM `/Bulk`, the admin, the target, the reader and "
              f"{args.login_users} login users). Ratio = Tessera ÷ nginx (the mean of the two "
              f"nginx runs, first and last). Goals of issue #12: `/users/me` ≥ {GOAL_ME:.2f}, "
              f"another user's record ≥ {GOAL_OTHER:.2f}, p99 < {GOAL_P99_MS:g} ms, no errors.",
          ""]
    L.append("| measurement | req/s | p50 (ms) | p99 (ms) | errors | server cores busy | "
             "ratio to nginx | goal |")
    L.append("|---|---|---|---|---|---|---|---|")

    def cores_text(x: Load) -> str:
        return "—" if math.isnan(x.server_cpu) else f"{x.server_cpu:.2f}"

    def row(label: str, x: Load | None, goal: float | None, latency_goal: bool) -> None:
        if x is None:
            L.append(f"| {label} | — | — | — | — | — | — | not measured |")
            return
        text, r = ratio(x.rate, ceiling)
        g = ""
        if goal is not None:
            ok = None if r is None else (r >= goal and x.p99 < GOAL_P99_MS and not x.errors)
            g = f"≥ {goal:.2f}, p99 < {GOAL_P99_MS:g} ms" + mark(ok)
        L.append(f"| {label} | {rate_text(x.rate)} | {fmt_ms(x.p50)} | {fmt_ms(x.p99)} | "
                 f"{errors_text(x)} | {cores_text(x)} | {text} | {g} |")

    for i, x in enumerate(res.nginx):
        row(f"nginx, fixed JSON body ({'first' if i == 0 else 'last'})", x, None, False)
    L.append(f"| **nginx ceiling** (mean) | **{rate_text(ceiling)}** | | | | | 1.00× | |")
    row("Tessera `GET /healthz` (no credential; informative)", res.healthz, None, False)
    for key, label, goal in READS:
        row(label, res.reads.get(key), goal, True)
    L.append("")

    a, lg = res.argon2, res.logins
    L.append(f"**Password logins** (`POST /api/v1/users/login`, {args.login_connections} "
             f"connections: the server checks at most four sign-ins per hashing thread at once "
             f"and refuses more with 503; the {args.login_users} login users in turn) beside "
             f"raw argon2id verify with PyPI {versions['argon2']} (the reference C "
             f"implementation) at the same parameters, in {cores} processes (one per hashing "
             f"thread), each verifying without pause. Goal: ≥ {GOAL_LOGINS:.2f}.")
    L.append("")
    L.append("| measurement | per second | p50 (ms) | p99 (ms) | errors | server cores busy | "
             "ratio | goal |")
    L.append("|---|---|---|---|---|---|---|---|")
    if a:
        L.append(f"| argon2-cffi verify, {cores} processes (ceiling) | {rate_text(a.rate)} | | | "
                 f"| | 1.00× | |")
    if lg:
        text, r = ratio(lg.rate, a.rate if a else float("nan"))
        L.append(f"| Tessera logins | {rate_text(lg.rate)} | {fmt_ms(lg.p50)} | "
                 f"{fmt_ms(lg.p99)} | {errors_text(lg)} | {cores_text(lg)} | {text} | "
                 f"≥ {GOAL_LOGINS:.2f}" + mark(None if r is None else r >= GOAL_LOGINS
                                                and not lg.errors) + " |")
    L.append("")

    bn, ba, br, bl = res.beside_nginx, res.beside_argon2, res.beside_reads, res.beside_logins
    nan = float("nan")
    alone_reads = res.reads.get("me_session")
    L.append(f"**Reads and logins at once** (issue #12 item 4: hashing must not starve reads). "
             f"The ceiling pair first: nginx under wrk ({args.connections} connections) while "
             f"{cores} argon2-cffi processes verify; then Tessera: `GET /api/v1/users/me` with a "
             f"session token ({args.connections} connections) while logins run "
             f"({args.login_connections} connections), both {args.duration:g} s in the same "
             f"window. Each figure ÷ its ceiling alone (above), ÷ its ceiling measured beside "
             f"the other (the same contention for the {cores} cores), and ÷ Tessera's own "
             f"figure alone. Goals: logins ≥ {GOAL_LOGINS:.2f} of raw verify alone (issue #12: "
             f"\"logins stay at the hashing limit while reads run beside them\"); reads ≥ "
             f"{GOAL_ME:.2f} of nginx beside the hashing, p99 < {GOAL_P99_MS:g} ms, no errors "
             f"(this benchmark's reading of \"never starves\").")
    L.append("")
    L.append("| at once | per second | p50 (ms) | p99 (ms) | errors | server cores busy | "
             "÷ ceiling alone | ÷ ceiling at once | ÷ Tessera alone | goal |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    if bn and ba:
        L.append(f"| nginx beside argon2-cffi (ceiling) | {rate_text(bn.rate)} | {fmt_ms(bn.p50)} "
                 f"| {fmt_ms(bn.p99)} | {errors_text(bn)} | {cores_text(bn)} | "
                 f"{ratio(bn.rate, ceiling)[0]} | 1.00× | | |")
        L.append(f"| argon2-cffi beside nginx (ceiling) | {rate_text(ba.rate)} | | | | | "
                 f"{ratio(ba.rate, a.rate if a else nan)[0]} | 1.00× | | |")
    if br:
        text, r = ratio(br.rate, bn.rate if bn else nan)
        ok = None if r is None else (r >= GOAL_ME and br.p99 < GOAL_P99_MS and not br.errors)
        L.append(f"| Tessera `/users/me` (session) beside logins | {rate_text(br.rate)} | "
                 f"{fmt_ms(br.p50)} | {fmt_ms(br.p99)} | {errors_text(br)} | "
                 f"{cores_text(br)} (both) | {ratio(br.rate, ceiling)[0]} | {text} | "
                 f"{ratio(br.rate, alone_reads.rate if alone_reads else nan)[0]} | "
                 f"≥ {GOAL_ME:.2f} at once, p99 < {GOAL_P99_MS:g} ms" + mark(ok) + " |")
    if bl:
        text, r = ratio(bl.rate, a.rate if a else nan)
        ok = None if r is None else (r >= GOAL_LOGINS and not bl.errors)
        L.append(f"| Tessera logins beside `/users/me` | {rate_text(bl.rate)} | {fmt_ms(bl.p50)} "
                 f"| {fmt_ms(bl.p99)} | {errors_text(bl)} | | {text} | "
                 f"{ratio(bl.rate, ba.rate if ba else nan)[0]} | "
                 f"{ratio(bl.rate, lg.rate if lg else nan)[0]} | "
                 f"≥ {GOAL_LOGINS:.2f} alone" + mark(ok) + " |")
    L.append("")
    shares = []
    if br and bl and alone_reads and lg:
        fr, fl = br.rate / alone_reads.rate, bl.rate / lg.rate
        shares.append(f"Tessera's reads and logins {fr:.2f} + {fl:.2f} = {fr + fl:.2f}")
    if bn and ba and a and not math.isnan(ceiling):
        shares.append(f"the ceiling pair {bn.rate / ceiling:.2f} + {ba.rate / a.rate:.2f} = "
                      f"{bn.rate / ceiling + ba.rate / a.rate:.2f}")
    if shares:
        L.append("At once, each load's fraction of its figure alone, added up (1.00: the two share "
                 "the cores without loss; the load generator takes its part too): "
                 + "; ".join(shares) + ".")
        L.append("")

    rs = res.rss
    per_core = lg.rate / cores if lg and cores else float("nan")
    L.append(
        f"**Memory and published figures.** Tessera's RSS (`VmRSS`, sampled every 100 ms): "
        f"{fmt_ms(rs.get('idle', float('nan')))} MiB idle 2 s after start, "
        f"{fmt_ms(rs.get('seeded', float('nan')))} MiB after seeding, peak "
        f"{fmt_ms(rs.get('reads', float('nan')))} MiB during the reads, "
        f"{fmt_ms(rs.get('logins', float('nan')))} MiB during the logins "
        f"({cores} × {argon2['memory_kib'] / 1024:g} MiB of argon2 memory at once), "
        f"{fmt_ms(rs.get('together', float('nan')))} MiB with both at once, "
        f"{fmt_ms(rs.get('end', float('nan')))} MiB at the end. Published, not measured here: "
        f"{KEYCLOAK}; {RAUTHY}. Tessera here: {rate_text(per_core)} password logins/s per core "
        f"({ratio(per_core, 15.0)[0]} Keycloak's figure; with argon2id at "
        f"{argon2['memory_kib'] / 1024:g} MiB × {argon2['iterations']} the hash is the limit, "
        f"whatever the server, and Keycloak's figure is for its own hashing settings), and a "
        f"peak RSS of {fmt_ms(rs.get('peak', float('nan')))} MiB under load (Keycloak ~1,250 MB "
        f"per pod; Rauthy 35–65 MB).")
    L.append("")

    notes = []
    if res.failure:
        notes.append(f"**The run failed: {res.failure}**")
    if res.seeded:
        notes.append(f"Start → first `/healthz` 200: {res.start_s * 1000:,.0f} ms on the empty "
                     f"store; seeding took {res.seeded.seconds:.1f} s. Each read was answered "
                     f"200 once before it was measured, and the non-admin's read answered 403 "
                     f"before the group's policy was attached.")
    notes.append("wrk's latencies are per request, from the request's send (a closed loop: "
                 "each connection sends its next request when the answer arrives); a request "
                 "answered other than 2xx counts as an error, not as a request.")
    notes += res.quiet.notes("this script, wrk, the argon2 processes and the two servers")
    rerun = " ".join(["bench/reads/run.sh"] + rerun_args_but_json())
    return end_section(L, notes, f"Run: `{rerun}` (see `bench/reads/README.md`).")


def load_json(x: Load | None):
    if x is None:
        return None
    return {"label": x.label, "connections": x.connections, "requests": x.requests,
            "seconds": x.seconds, "rate_per_s": x.rate, "p50_ms": x.p50, "p99_ms": x.p99,
            "max_ms": x.max, "errors": x.errors, "server_cores_busy": x.server_cpu}


def to_json(res: Results) -> dict:
    return {"nginx": [load_json(x) for x in res.nginx], "nginx_ceiling": nginx_ceiling(res),
            "healthz": load_json(res.healthz),
            "reads": {k: load_json(v) for k, v in res.reads.items()},
            "argon2": load_json(res.argon2), "logins": load_json(res.logins),
            "together": {"nginx": load_json(res.beside_nginx),
                         "argon2": load_json(res.beside_argon2),
                         "reads": load_json(res.beside_reads),
                         "logins": load_json(res.beside_logins)},
            "rss_mib": res.rss, "other_processes_cores": res.quiet.others,
            "repeated": res.quiet.repeated,
            "body_bytes": res.body_bytes, "start_s": res.start_s,
            "failure": res.failure}


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
    add_quiet_args(ap)
    add_output_args(ap, "Reads", "store, configuration, logs")
    a = ap.parse_args()
    apply_sizes(ap, a, SIZES)
    cores = len(os.sched_getaffinity(0))
    if a.login_connections is None:
        a.login_connections = 2 * cores
    if min(a.duration, a.connections, a.threads, a.login_connections, a.login_users) <= 0 \
            or a.users < 0 or a.warmup < 0 or a.retries < 0:
        ap.error("sizes must be positive")
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
        log(f"tessera log tail:\n{file_tail(workdir / 'tessera.log')}")
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
    return in_workdir(args, "tessera-reads-bench-", f"{version}, {versions}, machine {m}",
                      lambda workdir: amain(args, workdir, m, version, versions))

if __name__ == "__main__":
    sys.exit(main())
