#!/usr/bin/env python3
"""SCIM 2.0 benchmark: Tessera beside the reference scim2-server, in the same run.

Each server runs as a child process on a free loopback port (a fresh one per phase, so
each phase starts from an empty store) and is stopped by its PID at the end, also on error.
The client is asyncio + httpx2 on the same machine; its CPU use is reported, since it shares
the cores with the server.

Phases, per server:
  single   POST /Users one user per request, 16 concurrent clients      -> users/s, p50/p99
  bulk     POST /Bulk, 1,000 POST /Users operations per request, 1 client -> users/s
  lookup   GET /Users?filter=userName eq "x", one client, random existing userNames,
           at 1k users, at --users and at --large users (seeded through /Bulk when the
           server supports it, else by single POSTs), and once with 16 clients at the
           largest level                                                  -> p50/p99

Output: a Markdown section on stdout; with --write it replaces the `## SCIM` section of
BENCHMARKS.md (appended when missing).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from benchkit import (BULK_REQUEST, REPO, SCIM_JSON, USER_SCHEMA, Http,  # noqa: E402
                      TransportError, cpu_seconds, default_binary, end_section, file_tail,
                      fmt_ms, free_port, log, machine, pct, process_rss_mib, rerun_args,
                      run_main, stop_process, tessera_version, write_section)
from benchkit import Run as Series  # noqa: E402
from benchkit import ratio as ratio_x  # noqa: E402

FIRST = ["Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances",
         "Edsger", "Radia", "Tim", "Hedy", "Donald", "Sophie", "John", "Katherine", "Niklaus",
         "Leslie", "Shafi", "Yukihiro", "Guido", "Anders", "Bjarne", "Joan", "Fran", "Mary"]
LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov",
        "Thompson", "Allen", "Dijkstra", "Perlman", "Berners-Lee", "Lamarr", "Knuth", "Wilson",
        "McCarthy", "Johnson", "Wirth", "Lamport", "Goldwasser", "Matsumoto", "van Rossum",
        "Hejlsberg", "Stroustrup", "Clarke", "Bilas", "Keller"]
OKTA_ID = string.ascii_letters + string.digits


# --------------------------------------------------------------------------- users

class Users:
    """Okta-like user bodies (no password: hashing would measure argon2, not SCIM).

    userNames are unique per run: `first.last.<index>@<domain>`; the index is global, so
    seeding a store further never repeats a name.
    """

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.domain = f"bench{seed % 100000:05d}.example.com"

    def body(self, i: int) -> dict:
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
        user_name = f"{first}.{last}.{i:07d}@{self.domain}".lower().replace(" ", "")
        return {
            "schemas": [USER_SCHEMA],
            "userName": user_name,
            "name": {"givenName": first, "familyName": last, "formatted": f"{first} {last}"},
            "displayName": f"{first} {last}",
            "emails": [{"primary": True, "value": user_name, "type": "work"}],
            "externalId": "00u" + "".join(self.rng.choice(OKTA_ID) for _ in range(17)),
            "locale": "en-US",
            "active": True,
        }

    def user_name(self, i: int) -> str:
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
        return f"{first}.{last}.{i:07d}@{self.domain}".lower().replace(" ", "")


# --------------------------------------------------------------------------- servers

class Server:
    name = "server"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.logfile = workdir / f"{self.name}-{self.port}.log"
        self.token = ""

    @property
    def base(self) -> str:
        raise NotImplementedError

    def command(self) -> tuple[list[str], dict]:
        raise NotImplementedError

    async def authenticate(self, client: httpx2.AsyncClient) -> None:
        pass

    async def start(self) -> None:
        argv, env = self.command()
        with open(self.logfile, "wb") as out:
            self.proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.workdir,
                                         start_new_session=True)
        deadline = time.monotonic() + 120
        async with httpx2.AsyncClient(timeout=5) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode} at start:\n"
                                       + self.log_tail())
                with contextlib.suppress(httpx2.HTTPError):
                    r = await client.get(f"{self.base}/ServiceProviderConfig")
                    if r.status_code in (200, 401):
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} not answering after 120 s:\n" + self.log_tail())
                await asyncio.sleep(0.1)
            await self.authenticate(client)

    def log_tail(self, n: int = 30) -> str:
        return file_tail(self.logfile, n)

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid) if self.proc and self.proc.poll() is None else float("nan")

    def rss_mib(self) -> float:
        return process_rss_mib(self.proc.pid)

    def stop(self) -> None:
        """Stop the child by its PID (SIGTERM, then SIGKILL after 10 s)."""
        p, self.proc = self.proc, None
        stop_process(p)


class Tessera(Server):
    name = "tessera"

    def __init__(self, workdir: Path, binary: Path, database: str) -> None:
        self.binary, self.database = binary, database
        super().__init__(workdir)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/scim/v2"

    def command(self) -> tuple[list[str], dict]:
        if self.database == "mem":
            endpoint = "mem://"
        else:
            endpoint = f"surrealkv://{self.workdir / f'db-{self.port}'}"
        env = dict(os.environ,
                   TESSERA__SERVER__BIND=f"127.0.0.1:{self.port}",
                   TESSERA__SERVER__EXTERNAL_URL=f"http://127.0.0.1:{self.port}",
                   TESSERA__DATABASE__ENDPOINT=endpoint,
                   TESSERA__LOG__LEVEL="warn")
        return [str(self.binary), "serve"], env

    async def authenticate(self, client: httpx2.AsyncClient) -> None:
        root = f"http://127.0.0.1:{self.port}/api/v1/users"
        creds = {"username": "admin", "password": "adminpassword"}
        r = await client.post(f"{root}/bootstrap", json=creds, timeout=60)
        if r.status_code not in (200, 201):
            raise RuntimeError(f"tessera bootstrap: {r.status_code} {r.text[:200]}")
        r = await client.post(f"{root}/login", json=creds, timeout=60)
        if r.status_code != 200:
            raise RuntimeError(f"tessera login: {r.status_code} {r.text[:200]}")
        self.token = r.json()["token"]


class Scim2Server(Server):
    name = "scim2-server"

    def __init__(self, workdir: Path, command: str) -> None:
        self.exe = command
        super().__init__(workdir)
        self.token = "bench-" + "".join(random.choice(OKTA_ID) for _ in range(24))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2"

    def command(self) -> tuple[list[str], dict]:
        return [self.exe, "--port", str(self.port), "--bearer-token", self.token], dict(os.environ)


# --------------------------------------------------------------------------- measurements

@dataclass
class Run(Series):
    """One timed phase: latencies (s) of each request, failures, wall/CPU time."""
    requests: int = 0
    items: int = 0
    client_cpu: float = 0.0
    note: str = ""
    unsupported: str = ""
    retried: dict = field(default_factory=dict)
    overflows: int = 0

    @property
    def rate(self) -> float:
        return self.items / self.wall if self.wall else float("nan")

    def summary(self) -> str:
        if self.unsupported:
            return f"{self.label}: {self.unsupported}"
        err = f", errors {self.errors}" if self.errors else ""
        err += f", retried {self.retried}" if self.retried else ""
        err += f", listen overflows {self.overflows}" if self.overflows else ""
        return (f"{self.label}: {self.items} in {self.wall:.2f} s = {self.rate:,.0f}/s, "
                f"p50 {self.p50:.2f} ms, p99 {self.p99:.2f} ms, client CPU {self.client_cpu:.1f} s, "
                f"server CPU {self.server_cpu:.1f} s{err}")


class Timed:
    """Wall, client CPU and server CPU of a phase."""

    def __init__(self, run: Run, server: Server) -> None:
        self.run, self.server = run, server

    def __enter__(self):
        self.t, self.c, self.s = time.perf_counter(), time.process_time(), self.server.cpu()
        self.o = listen_overflows()
        return self

    def __exit__(self, *exc):
        self.run.wall += time.perf_counter() - self.t
        self.run.client_cpu += time.process_time() - self.c
        self.run.server_cpu += self.server.cpu() - self.s
        self.run.overflows += listen_overflows() - self.o


# --------------------------------------------------------------------------- HTTP clients
#
# Each of the N concurrent clients owns one connection. Two engines:
#   raw     HTTP/1.1 keep-alive over asyncio streams, benchkit.Http (~30 µs of client CPU
#           per request);
#   httpx2  httpx2.AsyncClient (~550 µs per request here: at a few thousand requests/s the
#           client, not the server, is then what is measured, and it takes the server's cores).

class RawClient(Http):
    """One HTTP/1.1 connection (reopened when the server closes it, as HTTP/1.0 servers do)."""

    def __init__(self, server: Server) -> None:
        super().__init__(server.port)
        self.prefix = server.base.split(f":{server.port}", 1)[1]
        self.auth = f"Bearer {server.token}"

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        head = (f"{method} {self.prefix}{path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Authorization: {self.auth}\r\nAccept: {SCIM_JSON}\r\n")
        if body is not None:
            head += f"Content-Type: {SCIM_JSON}\r\nContent-Length: {len(body)}\r\n"
        return await self.exchange(head.encode() + b"\r\n" + (body or b""))


class HttpxClient:
    """The same interface over one shared httpx2.AsyncClient."""

    def __init__(self, server: Server, shared: httpx2.AsyncClient) -> None:
        self.base, self.client = server.base, shared

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": SCIM_JSON} if body is not None else None
        try:
            r = await self.client.request(method, self.base + path, content=body, headers=headers)
        except httpx2.HTTPError as e:
            raise TransportError(type(e).__name__) from e
        return r.status_code, r.content

    async def close(self) -> None:
        pass


@contextlib.asynccontextmanager
async def clients_for(server: Server, n: int, engine: str):
    if engine == "httpx2":
        async with httpx2.AsyncClient(
                headers={"Authorization": f"Bearer {server.token}", "Accept": SCIM_JSON},
                limits=httpx2.Limits(max_connections=n, max_keepalive_connections=n),
                timeout=httpx2.Timeout(300.0)) as shared:
            yield [HttpxClient(server, shared) for _ in range(n)]
    else:
        conns = [RawClient(server) for _ in range(n)]
        try:
            yield conns
        finally:
            for c in conns:
                await c.close()


async def send(client, run: Run, method: str, path: str, body: bytes | None = None,
               retries: int = 3) -> tuple[int, bytes, bool] | None:
    """A request, sent again (up to `retries` times) after a transport error such as a
    refused or reset connection; returns (status, body, was_retried), or None."""
    for attempt in range(retries + 1):
        try:
            status, payload = await client.request(method, path, body)
            return status, payload, attempt > 0
        except TransportError as e:
            if attempt == retries:
                run.fail(str(e))
                return None
            run.retried[str(e)] = run.retried.get(str(e), 0) + 1
            await asyncio.sleep(0.05 * (attempt + 1))


def listen_overflows() -> int:
    """The kernel's TcpExt ListenOverflows counter: connections dropped by a full backlog."""
    with contextlib.suppress(OSError, ValueError):
        lines = Path("/proc/net/netstat").read_text().splitlines()
        for names, values in zip(lines[::2], lines[1::2]):
            if names.startswith("TcpExt:"):
                return int(dict(zip(names.split(), values.split()))["ListenOverflows"])
    return 0


async def post_users(server: Server, users: Users, indices: list[int], clients: int,
                     run: Run, engine: str) -> None:
    """POST /Users for each index, `clients` requests in flight at a time."""
    it = iter(indices)

    async def worker(client) -> None:
        for i in it:
            body = json.dumps(users.body(i), separators=(",", ":")).encode()
            t = time.perf_counter()
            res = await send(client, run, "POST", "/Users", body)
            if res is None:
                continue
            run.lat.append(time.perf_counter() - t)
            run.requests += 1
            status, payload, retried = res
            if status == 201 or (status == 409 and retried):   # 409: the lost attempt created it
                run.items += 1
            else:
                run.fail(f"HTTP {status}")

    async with clients_for(server, clients, engine) as conns:
        with Timed(run, server):
            await asyncio.gather(*(worker(c) for c in conns))


async def bulk_supported(server: Server) -> tuple[bool, str]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {server.token}"}) as client:
        r = await client.get(f"{server.base}/ServiceProviderConfig")
    if r.status_code != 200:
        return False, f"ServiceProviderConfig: HTTP {r.status_code}"
    bulk = r.json().get("bulk") or {}
    if not bulk.get("supported"):
        return False, "not supported (ServiceProviderConfig: bulk.supported false)"
    return True, f"maxOperations {bulk.get('maxOperations')}, maxPayloadSize {bulk.get('maxPayloadSize')}"


class BulkUnsupported(Exception):
    pass


async def bulk_users(server: Server, users: Users, indices: list[int], per_request: int,
                     clients: int, run: Run, engine: str) -> None:
    """POST /Bulk with `per_request` POST /Users operations each, `clients` in flight."""
    chunks = iter([indices[k:k + per_request] for k in range(0, len(indices), per_request)])
    unsupported: list[str] = []

    async def worker(client) -> None:
        for chunk in chunks:
            if unsupported:
                return
            body = json.dumps({"schemas": [BULK_REQUEST], "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": users.body(i)}
                for i in chunk]}, separators=(",", ":")).encode()
            t = time.perf_counter()
            res = await send(client, run, "POST", "/Bulk", body, retries=0)
            if res is None:
                continue
            run.lat.append(time.perf_counter() - t)
            run.requests += 1
            status, payload, _ = res
            if status in (404, 405, 501):
                unsupported.append(f"not supported (POST /Bulk: HTTP {status})")
                return
            if status != 200:
                run.fail(f"HTTP {status}: {payload[:120].decode(errors='replace')}")
                continue
            for op in json.loads(payload).get("Operations", []):
                st = op.get("status")
                if isinstance(st, dict):     # the draft form {"code": ...}
                    st = st.get("code")
                if str(st) == "201":
                    run.items += 1
                else:
                    run.fail(f"operation {st}")

    async with clients_for(server, clients, engine) as conns:
        with Timed(run, server):
            await asyncio.gather(*(worker(c) for c in conns))
    if unsupported:
        raise BulkUnsupported(unsupported[0])


async def lookups(server: Server, users: Users, existing: int, n: int, clients: int,
                  run: Run, budget: float, rng: random.Random, engine: str) -> None:
    """GET /Users?filter=userName eq "x" for random existing userNames; checks 1 result."""
    targets = iter([rng.randrange(existing) for _ in range(n)])
    deadline = time.monotonic() + budget

    async def worker(client) -> None:
        for i in targets:
            if time.monotonic() > deadline:
                run.note = f"stopped after {budget:.0f} s"
                return
            query = quote(f'userName eq "{users.user_name(i)}"', safe="")
            t = time.perf_counter()
            res = await send(client, run, "GET", f"/Users?filter={query}")
            if res is None:
                continue
            run.lat.append(time.perf_counter() - t)
            run.requests += 1
            status, payload, _ = res
            if status != 200:
                run.fail(f"HTTP {status}")
            elif json.loads(payload).get("totalResults") != 1:
                run.fail("totalResults != 1")
            else:
                run.items += 1

    async with clients_for(server, clients, engine) as conns:
        with Timed(run, server):
            await asyncio.gather(*(worker(c) for c in conns))


# --------------------------------------------------------------------------- per server

@dataclass
class Results:
    name: str
    version: str = ""
    single: Run | None = None
    bulk: Run | None = None
    levels: dict = field(default_factory=dict)     # users -> Run (1 client)
    concurrent: Run | None = None                  # 16 clients at the largest level
    skipped: str = ""
    seed: list = field(default_factory=list)       # notes on seeding
    rss: dict = field(default_factory=dict)        # users -> RSS MiB
    failure: str = ""


async def seed(server: Server, users: Users, start: int, stop: int, use_bulk: bool,
               args, res: Results) -> float:
    """Grow the store from `start` to `stop` users; returns users/s."""
    run = Run(f"seed {start}->{stop}")
    indices = list(range(start, stop))
    if use_bulk:
        await bulk_users(server, users, indices, args.bulk_size, 1, run, args.client)
    else:
        await post_users(server, users, indices, args.clients, run, args.client)
    if run.items != len(indices):
        raise RuntimeError(f"{server.name}: seeding {start}->{stop} created {run.items}: {run.errors}")
    log(f"  {server.name} {run.summary()}")
    res.seed.append(f"{start}->{stop} via {'/Bulk' if use_bulk else 'POST'} {run.rate:,.0f}/s")
    return run.rate


async def bench_server(make, res: Results, args, is_peer: bool) -> None:
    rng = random.Random(args.seed)

    # 1. single POSTs, fresh store
    server = make()
    try:
        await server.start()
        log(f"{server.name}: POST /Users x{args.users}, {args.clients} clients")
        res.single = Run("POST /Users")
        await post_users(server, Users(args.seed), list(range(args.users)), args.clients,
                         res.single, args.client)
        log(f"  {res.single.summary()}")
    finally:
        server.stop()

    # 2. /Bulk, fresh store
    server = make()
    use_bulk = False
    try:
        await server.start()
        ok, info = await bulk_supported(server)
        res.bulk = Run("POST /Bulk")
        if not ok:
            res.bulk.unsupported = info
        else:
            log(f"{server.name}: /Bulk x{args.users}, {args.bulk_size} ops/request ({info})")
            try:
                await bulk_users(server, Users(args.seed), list(range(args.users)),
                                 args.bulk_size, 1, res.bulk, args.client)
                use_bulk = res.bulk.items == args.users
            except BulkUnsupported as e:
                res.bulk.unsupported = str(e)
        log(f"  {res.bulk.summary()}")
    finally:
        server.stop()

    # 3. lookups at growing sizes, one store
    levels = sorted({args.small, args.users, args.large} - {0})
    levels = [lv for lv in levels if lv >= args.small]
    server = make()
    try:
        await server.start()
        users = Users(args.seed + 1)
        have, rate = 0, float("nan")
        history: list[tuple[int, float, float]] = []   # (level, seed s/user, lookup p50 s)
        for level in levels:
            if is_peer and history and args.peer_budget > 0:
                est = estimate(history, have, level, args.lookups)
                if est > args.peer_budget:
                    res.skipped = (f"{level:,} users skipped: estimated {est / 60:.0f} min "
                                   f"(> {args.peer_budget / 60:.0f} min budget)")
                    log(f"  {server.name}: {res.skipped}")
                    break
            if level > have:
                rate = await seed(server, users, have, level, use_bulk, args, res)
                have = level
            run = Run(f"lookup @{level}")
            await lookups(server, users, have, args.lookups, 1, run, args.lookup_budget, rng,
                          args.client)
            log(f"  {server.name} {run.summary()}")
            res.levels[level] = run
            res.rss[level] = server.rss_mib()
            history.append((level, 1 / rate, pct(run.lat, 50)))
        top = max(res.levels)
        res.concurrent = Run(f"lookup @{top}, {args.clients} clients")
        await lookups(server, users, have, args.lookups, args.clients, res.concurrent,
                      args.lookup_budget, rng, args.client)
        log(f"  {server.name} {res.concurrent.summary()}")
    finally:
        server.stop()


def estimate(history: list[tuple[int, float, float]], have: int, level: int, n: int) -> float:
    """Seconds to seed from `have` to `level` and run `n` lookups there, extrapolating the
    cost per operation as a power of the store size fitted on the last two levels."""
    (l1, s1, p1) = history[-1]
    if len(history) >= 2:
        (l0, s0, p0) = history[-2]
        ks = max(0.0, min(1.0, math.log(max(s1, 1e-9) / max(s0, 1e-9)) / math.log(l1 / l0)))
        kp = max(0.0, min(1.0, math.log(max(p1, 1e-9) / max(p0, 1e-9)) / math.log(l1 / l0)))
    else:
        ks = kp = 1.0    # one point: assume a linear scan, the pessimistic case
    # seeding: integrate s1 * (x / l1)^ks over x from have to level
    seed_s = s1 * (level ** (ks + 1) - have ** (ks + 1)) / ((ks + 1) * l1 ** ks)
    look_s = n * p1 * (level / l1) ** kp
    return seed_s + look_s


# --------------------------------------------------------------------------- report

def peer_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return f"scim2-server {version('scim2-server')}"
    except PackageNotFoundError:
        return "scim2-server"


def f_rate(r: Run | None) -> str:
    if r is None:
        return "—"
    if r.unsupported:
        return r.unsupported
    if not r.requests:
        return "—" + err_mark(r)
    return f"{r.rate:,.0f}" + err_mark(r)


def f_lat(r: Run | None) -> str:
    if r is None:
        return "—"
    if r.unsupported:
        return "—"
    return f"{fmt_ms(r.p50)} / {fmt_ms(r.p99)}" + err_mark(r)


def err_mark(r: Run) -> str:
    extra = []
    if r.errors:
        extra.append(f"{sum(r.errors.values())} errors")
    if r.note:
        extra.append(f"{r.note}, n={r.requests}")
    return f" ({'; '.join(extra)})" if extra else ""


def ratio(a: float, b: float) -> str:
    return ratio_x(a, b)[0]


def ok(cond: bool | None) -> str:
    return "" if cond is None else (" ✓" if cond else " ✗")


def good(r: Run | None) -> bool:
    return bool(r and not r.unsupported and r.requests and not math.isnan(r.rate))


CLIENT_DESC = {"raw": "asyncio with a minimal HTTP/1.1 keep-alive client, one connection per client",
               "httpx2": "asyncio + httpx2.AsyncClient"}


def report(t: Results, p: Results, args, m: dict, debug_build: bool) -> str:
    n, c, bs = args.users, args.clients, args.bulk_size
    L = []
    L.append("## SCIM")
    L.append("")
    L.append(f"`bench/scim/run.sh` ({m['date']}): Tessera ({t.version}; store "
             f"`{'mem://' if args.database == 'mem' else 'surrealkv://'}`) and {p.version} "
             "(in memory, threaded wsgiref) in the same run, one fresh server per phase, "
             f"client {CLIENT_DESC[args.client]} on the same machine. Machine: {m['nproc']} CPUs "
             f"({m['usable']} usable), {m['cpu']}, {m['mem']}, Linux {m['kernel']}, "
             f"load average {m['load']} at start. "
             "Bodies are Okta-like (userName, name, displayName, work email, externalId, "
             "locale, active; no password). Ratio = Tessera ÷ scim2-server "
             "(throughput: higher is better; latency: lower is better).")
    if debug_build:
        L.append("")
        L.append("**Debug build: these numbers only show that the script works.**")
    L.append("")
    L.append("| measurement | Tessera | scim2-server | ratio | target |")
    L.append("|---|---|---|---|---|")

    s_ok = good(t.single)
    L.append(f"| POST /Users ×{n:,}, {c} clients: users/s | {f_rate(t.single)} | "
             f"{f_rate(p.single)} | {ratio(t.single.rate, p.single.rate)} | |")
    p99_ok = (t.single.p99 < 100) if s_ok else None
    L.append(f"| … latency p50 / p99 (ms) | {f_lat(t.single)} | {f_lat(p.single)} | "
             f"{ratio(t.single.p50, p.single.p50)} / {ratio(t.single.p99, p.single.p99)} | "
             f"p99 < 100 ms{ok(p99_ok)} |")
    tb, pb = t.bulk, p.bulk
    tb_ok = good(tb) and not tb.errors
    both = tb_ok and good(pb) and not pb.errors
    bulk_target = None
    if tb_ok:
        bulk_target = tb.rate >= 2000 and (not both or tb.rate >= 20 * pb.rate)
    L.append(f"| /Bulk ×{n:,}, {bs:,} operations/request, 1 client: users/s | {f_rate(tb)} | "
             f"{f_rate(pb)} | {ratio(tb.rate, pb.rate) if both else '—'} | "
             f"≥ 2,000/s and ≥ 20×{ok(bulk_target)} |")
    if good(tb) or good(pb):
        L.append(f"| … latency of one /Bulk request p50 / max (ms) | "
                 f"{bulk_lat(tb)} | {bulk_lat(pb)} | | |")

    levels = sorted(set(t.levels) | set(p.levels))
    for lv in levels:
        tr, pr = t.levels.get(lv), p.levels.get(lv)
        pcell = f_lat(pr) if pr else ("skipped" if p.skipped else "—")
        L.append(f"| filter `userName eq`, {lv:,} users, 1 client: p50 / p99 (ms) | "
                 f"{f_lat(tr)} | {pcell} | "
                 f"{ratio(tr.p50, pr.p50) if tr and pr else '—'} | |")
    if len(levels) >= 2:
        lo = args.small
        t_hi = max(t.levels) if t.levels else None
        p_hi = max(p.levels) if p.levels else None
        tg = growth(t, lo, t_hi)
        pg = growth(p, lo, p_hi)
        pcell = pg[0] if p_hi == t_hi or pg[1] is None else f"{pg[0]} ({fmt_n(p_hi)} ÷ {fmt_n(lo)})"
        L.append(f"| p50 growth: p50({fmt_n(t_hi or p_hi)}) ÷ p50({fmt_n(lo)}) | {tg[0]} | {pcell} | | "
                 f"≤ 1.5{ok(tg[1] <= 1.5 if tg[1] is not None else None)} |")
    tc, pc = t.concurrent, p.concurrent
    if tc or pc:
        tl = max(t.levels) if t.levels else 0
        pl = max(p.levels) if p.levels else 0
        same = tl == pl or not pc or not tc
        L.append(f"| filter `userName eq`, {fmt_n(tl)} users, {c} clients: lookups/s | "
                 f"{f_rate(tc)} | {f_rate(pc)}{'' if same else f' (at {fmt_n(pl)})'} | "
                 f"{ratio(tc.rate, pc.rate) if tc and pc and same else '—'} | |")
        c_ok = (tc.p99 < 100) if good(tc) else None
        L.append(f"| … latency p50 / p99 (ms) | {f_lat(tc)} | {f_lat(pc)} | "
                 f"{ratio(tc.p50, pc.p50) + ' / ' + ratio(tc.p99, pc.p99) if tc and pc and same else '—'} | "
                 f"p99 < 100 ms{ok(c_ok)} |")
    L.append("")
    notes = []
    for r in (t, p):
        if r.failure:
            notes.append(f"**{r.name}: {r.failure}**")
    if p.skipped:
        notes.append(f"scim2-server: {p.skipped}; its largest level is "
                     f"{fmt_n(max(p.levels)) if p.levels else '—'}.")
    for r in (t, p):
        if r.seed:
            notes.append(f"{r.name} lookup store seeded " + ", ".join(r.seed) + ".")
    cpu = []
    for r in (t, p):
        for run in (r.single, r.bulk, r.concurrent):
            if good(run):
                cpu.append(f"{r.name} {run.label}: server {run.server_cpu / run.wall:.2f}, "
                           f"client {run.client_cpu / run.wall:.2f}")
    if cpu:
        notes.append("CPU cores busy (CPU s ÷ wall s): " + "; ".join(cpu) + ".")
    rss = [f"{r.name} {fmt_n(max(r.rss))} users: {r.rss[max(r.rss)]:.0f} MiB"
           for r in (t, p) if r.rss]
    if rss:
        notes.append("Server RSS: " + ", ".join(rss) + ".")
    runs = [(r, run) for r in (t, p)
            for run in (r.single, r.bulk, *r.levels.values(), r.concurrent) if run]
    errs = [f"{r.name} {run.label}: {fmt_counts(run.errors)}" for r, run in runs if run.errors]
    if errs:
        notes.append("Errors (not counted as provisioned): " + "; ".join(errs) + ".")
    again = [f"{r.name} {run.label}: {fmt_counts(run.retried)}" for r, run in runs if run.retried]
    if again:
        notes.append("Sent again after a transport error (latency counts from the first "
                     "attempt): " + "; ".join(again) + ".")
    over = [f"{r.name} {run.label}: {run.overflows:,}" for r, run in runs if run.overflows]
    if over:
        notes.append("Connections dropped by a full listen backlog (kernel ListenOverflows; "
                     "each waits ≥ 1 s for the SYN to be sent again): " + "; ".join(over) + ". "
                     "scim2-server's CLI serves HTTP/1.0 (a new connection per request) with "
                     "wsgiref's backlog of 5, so 16 clients overflow it: that is its tail latency.")
    return end_section(L, notes, f"Run: `bench/scim/run.sh {' '.join(rerun_args())}` "
                                 "(see `bench/scim/README.md`).")


def fmt_counts(d: dict) -> str:
    return ", ".join(f"{v:,}× {k}" for k, v in d.items())


def bulk_lat(r: Run | None) -> str:
    if not good(r) or not r.lat:
        return "—"
    return f"{fmt_ms(pct(r.lat, 50) * 1000)} / {fmt_ms(max(r.lat) * 1000)}"


def growth(r: Results, lo: int, hi: int | None) -> tuple[str, float | None]:
    if hi is None or lo not in r.levels or hi not in r.levels or hi == lo:
        return "—", None
    g = r.levels[hi].p50 / r.levels[lo].p50
    return f"{g:.2f}", g


def fmt_n(n: int | None) -> str:
    if n is None:
        return "?"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000:,}k"
    return f"{n:,}"


# --------------------------------------------------------------------------- main

def default_peer() -> str:
    beside = Path(sys.executable).parent / "scim2-server"
    return str(beside) if beside.exists() else (shutil.which("scim2-server") or "scim2-server")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", type=Path, default=default_binary(),
                    help="Tessera binary (default: $CARGO_TARGET_DIR/release/tessera, "
                         "else ~/.cache/tessera/target/release/tessera)")
    ap.add_argument("--users", type=int, default=10000, help="users provisioned per phase (10000)")
    ap.add_argument("--large", type=int, default=100000, help="largest lookup level (100000)")
    ap.add_argument("--small", type=int, default=1000, help="smallest lookup level (1000)")
    ap.add_argument("--lookups", type=int, default=2000, help="lookups per level (2000)")
    ap.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    ap.add_argument("--bulk-size", type=int, default=1000, help="operations per /Bulk request (1000)")
    ap.add_argument("--client", choices=["raw", "httpx2"], default="raw",
                    help="HTTP client: raw HTTP/1.1 over asyncio streams (default, light), or "
                         "httpx2.AsyncClient (heavy: ~0.5 ms of client CPU per request)")
    ap.add_argument("--database", choices=["surrealkv", "mem"], default="surrealkv",
                    help="Tessera store: surrealkv://<tmpdir> (default) or mem://")
    ap.add_argument("--scim2-server", default=default_peer(), help="scim2-server command")
    ap.add_argument("--peer-budget", type=float, default=300,
                    help="skip a scim2-server lookup level estimated to take longer (s, 300; 0: never)")
    ap.add_argument("--lookup-budget", type=float, default=600,
                    help="stop a lookup series after this many seconds (600)")
    ap.add_argument("--only", choices=["tessera", "scim2-server"], help="run one server only")
    ap.add_argument("--seed", type=int, default=None, help="random seed")
    ap.add_argument("--write", action="store_true", help="replace the ## SCIM section of BENCHMARKS.md")
    ap.add_argument("--benchmarks-file", type=Path, default=REPO / "BENCHMARKS.md")
    ap.add_argument("--json", type=Path, help="also write the raw results as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, store)")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = random.randrange(1, 10**9)
    if min(a.users, a.large, a.small, a.lookups, a.clients, a.bulk_size) < 1:
        ap.error("sizes must be positive")
    return a


def to_json(r: Results) -> dict:
    def run(x: Run | None):
        if x is None:
            return None
        return {"label": x.label, "requests": x.requests, "items": x.items, "wall_s": x.wall,
                "rate_per_s": x.rate, "p50_ms": x.p50, "p99_ms": x.p99, "errors": x.errors,
                "client_cpu_s": x.client_cpu, "server_cpu_s": x.server_cpu, "note": x.note,
                "unsupported": x.unsupported}
    return {"name": r.name, "version": r.version, "single": run(r.single), "bulk": run(r.bulk),
            "levels": {str(k): run(v) for k, v in r.levels.items()},
            "concurrent": run(r.concurrent), "skipped": r.skipped, "seed": r.seed,
            "rss_mib": {str(k): v for k, v in r.rss.items()}}


async def amain(args) -> int:
    m = machine()
    binary = args.binary.resolve() if args.binary.exists() else args.binary
    if args.only != "scim2-server" and not binary.exists():
        print(f"Tessera binary not found: {binary} (build it with `cargo build --release`, "
              "or pass --binary)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="tessera-scim-bench-"))
    log(f"seed {args.seed}, workdir {workdir}, machine {m}")
    t = Results("Tessera", tessera_version(binary) if args.only != "scim2-server" else "")
    p = Results("scim2-server", peer_version())
    failed = False
    try:
        for res, make, is_peer in (
                (t, lambda: Tessera(workdir, binary, args.database), False),
                (p, lambda: Scim2Server(workdir, args.scim2_server), True)):
            if args.only and args.only != ("scim2-server" if is_peer else "tessera"):
                continue
            try:
                await bench_server(make, res, args, is_peer)
            except Exception as e:  # report what was measured, and the failure
                failed = True
                res.failure = f"{type(e).__name__}: {e}".splitlines()[0][:300]
                log(f"{res.name} failed:\n{traceback.format_exc()}")
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    for r in (t, p):
        r.single = r.single or Run("POST /Users")
        r.bulk = r.bulk or Run("POST /Bulk")
    if args.only:
        skipped = p if args.only == "tessera" else t
        skipped.failure = "not run (--only)"
    section = report(t, p, args, m, "/debug/" in str(binary))
    print(section)
    if args.json:
        args.json.write_text(json.dumps({"machine": m, "args": {k: str(v) for k, v in vars(args).items()},
                                         "tessera": to_json(t), "scim2_server": to_json(p)}, indent=2))
    if args.write:
        write_section(args.benchmarks_file, section, "SCIM")
    return 1 if failed else 0


def main() -> int:
    args = parse_args()
    return run_main(amain(args))


if __name__ == "__main__":
    sys.exit(main())
