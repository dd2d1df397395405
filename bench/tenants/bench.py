#!/usr/bin/env python3
"""Tenants benchmark: does Tessera stay fast with 1,000 tenants on the embedded store?

Three stores are built in the same run, each on a fresh `surrealkv://` directory:
  small      1 tenant × --users users (100)
  same data  1 tenant × (--tenants × --users) users (100,000): the data of the large store
  many       --tenants tenants (1,000) × --users users each
each tenant with its first admin. The same measurements are taken on the three, one server at a
time, alternating them. The embedded store loads its index at start, so start-up and memory grow
with the amount of data; the ratios separate the two causes:
  tenant-count effect = many ÷ same data    (target ≤ 1.5 for start-up and latencies)
  data effect         = same data ÷ small   (informative)

Phases:
  populate  per tenant: POST /api/v1/tenants (with its first admin), the admin's login,
            POST /t/<id>/scim/v2/Bulk with the users (--bulk-size per request); --populate-clients
            requests in flight (tenants at a time, or clients on the one tenant) -> wall time
  start-up  stop; start the server again on the populated directory -> time to the first
            /healthz 200 and to the first 200 of a request to one tenant (a token issued
            before the restart); --restarts times, alternating the stores      -> median, max
  latency   the tenant in the middle of the list, with its admin's token:
            GET /t/<id>/api/v1/users/me, one client, --warmup then --requests     -> p50/p99
            GET /t/<id>/scim/v2/Users?filter=userName eq "<the middle user of the tenant>"
            (user50 of 100, user50000 of 100,000), one client                    -> p50/p99
            GET /t/<id>/api/v1/users/me, --clients clients                       -> req/s, p50/p99
            --rounds rounds, alternating the stores, each on a fresh start, pooled
  memory    server RSS (VmRSS) idle after the start, and after the latency phase
  deletion  last, on the same-data store (left without its tenant): one client sends
            GET /api/v1/users/me to the default tenant (operator's token) without pause,
            --delete-baseline s, then DELETE /api/v1/tenants/t0001 (202 `deleting`) and
            GET /api/v1/tenants/t0001 every 50 ms until 404; meanwhile
            GET /t/t0001/api/v1/users/me must answer 404 from the first request
            -> s to the 404, users/s; p50/p99/max during ÷ before (target: p99 ≤ 1.5×,
            max < 1 s)

Each server is a child process on a free loopback port, stopped by its PID at the end of its
phase, also on error, Ctrl-C or SIGTERM (and killed by the kernel if this script dies). The
client is the minimal HTTP/1.1 keep-alive client on asyncio of bench/lib/benchkit.py (the
standard library only, like the rest of this script).

Output: a Markdown section on stdout; with --write it replaces the `## Tenants` section of
BENCHMARKS.md (appended when missing). --quick: a small run to try the script.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from benchkit import (CHEAP_ARGON2, HINTS, SCIM_JSON, Http, Run,  # noqa: E402
                      Tessera, TransportError, add_output_args, add_run_args, apply_sizes,
                      args_json, bulk_users, call, call_again, check_200, check_binary,
                      end_section, fmt_ms, in_workdir, log, machine, publish, ratio,
                      rerun_args, run_all, scim_user, series, tessera_version)

OPERATOR = {"username": "operator", "password": "operator-password"}
TENANT_ADMIN = {"username": "admin", "password": "tenant-admin-password"}
TARGET = 1.5

HINTS[("/api/v1/tenants", 404)] = (" (this binary has no tenants API: build the current "
                                   "tree, or try the script with --create config)")


# --------------------------------------------------------------------------- measurements

def check_one(status: int, payload: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status}"
    if json.loads(payload).get("totalResults") != 1:
        return "totalResults != 1"
    return None


# --------------------------------------------------------------------------- one store

@dataclass
class Store:
    """One data directory with `tenants` tenants of `users` users each, and what was measured
    on it."""
    tenants: int
    users: int
    server: Tessera
    ids: list = field(default_factory=list)
    middle: str = ""
    probe_token: str = ""        # the middle tenant admin's token, issued while populating
    populate_s: float = float("nan")
    populate_retried: dict = field(default_factory=dict)
    disk_mib: float = float("nan")
    health: list = field(default_factory=list)       # s, per restart
    first_tenant: list = field(default_factory=list)  # s, per restart
    rss_idle: float = float("nan")
    rss_after: float = float("nan")
    me: Run | None = None
    lookup: Run | None = None
    concurrent: Run | None = None
    deletion: "Deletion | None" = None   # the same-data store only: its tenant deleted, last
    failure: str = ""


def tenant_ids(n: int) -> list[str]:
    width = max(4, len(str(n)))
    return [f"t{i:0{width}d}" for i in range(1, n + 1)]


def user_body(i: int, tenant: str) -> dict:
    return scim_user(f"user{i}@{tenant}.test")


def probe_user(users: int) -> int:
    """The user looked up by the SCIM filter: the one in the middle of its tenant (user50 of
    100, user50000 of 100,000), so that the lookup hits an existing user in every store."""
    return max(1, users // 2)


def probe_name(store: Store) -> str:
    return f"user{probe_user(store.users)}@{store.middle}.test"


async def populate_tenant(conns: list[Http], tenant: str, users: int, operator: str, args,
                          retried: dict, progress=None) -> str:
    """Creates `tenant` with its first admin and its `users` users (SCIM /Bulk requests of
    --bulk-size operations, sent over the connections `conns`, one request in flight on each);
    returns the admin's token. A 503 (e.g. a write conflict between concurrent creations) of
    the tenant creation or the login is retried, and counted. `progress(n)`: n more users."""
    http = conns[0]
    root = f"/t/{tenant}/api/v1/users"
    if args.create == "api":
        body = {"id": tenant, "admin": TENANT_ADMIN}
        await call_again(
            retried, "create tenant", (503,),
            lambda: call(http, "POST", "/api/v1/tenants", body, token=operator, expect=(201,)),
            # after a 503, a 409 means the lost attempt created it
            lambda: call(http, "POST", "/api/v1/tenants", body, token=operator,
                         expect=(201, 409)))
    else:   # --create config: the server created the tenant at start; its first admin
        await call(http, "POST", f"{root}/bootstrap", TENANT_ADMIN, expect=(200, 201))
    # 404: the new tenant not served yet
    token = (await call_again(retried, "admin login", (404, 503),
                              lambda: call(http, "POST", f"{root}/login", TENANT_ADMIN)))["token"]
    await bulk_users(conns, f"/t/{tenant}", token, lambda i: user_body(i, tenant), 1, users,
                     args.bulk_size, progress, label=f"{tenant}: ")
    return token


async def populate(store: Store, args) -> None:
    server = store.server
    store.ids = tenant_ids(store.tenants)
    store.middle = store.ids[(len(store.ids) - 1) // 2]
    if args.create == "config":
        server.extra_env = {"TESSERA__SERVER__TENANTS": ",".join(store.ids)}
    await server.start()
    try:
        http = Http(server.port)
        try:
            await call(http, "POST", "/api/v1/users/bootstrap", OPERATOR, expect=(200, 201))
            operator = (await call(http, "POST", "/api/v1/users/login", OPERATOR))["token"]
        finally:
            await http.close()
        clients = args.populate_clients
        t0 = time.perf_counter()
        if store.tenants == 1:
            # One tenant: its /Bulk requests are sent by --populate-clients clients at a time,
            # as the many-tenant store has that many tenants (one client each) in flight.
            log(f"{server.label}: populating, {store.users:,} users in {store.ids[0]} "
                f"({clients} clients)")
            added = [0]
            step = max(args.bulk_size, store.users // 10)

            def progress(n: int) -> None:
                before, added[0] = added[0], added[0] + n
                if store.users >= 10 * args.bulk_size and added[0] // step > before // step:
                    log(f"  {added[0]:,}/{store.users:,} users, "
                        f"{time.perf_counter() - t0:.0f} s")

            conns = [Http(server.port) for _ in range(clients)]
            try:
                store.probe_token = await populate_tenant(conns, store.ids[0], store.users,
                                                          operator, args,
                                                          store.populate_retried, progress)
            finally:
                for c in conns:
                    await c.close()
        else:
            log(f"{server.label}: populating, {store.users:,} users each "
                f"({clients} clients, one tenant each)")
            todo = iter(store.ids)
            done = [0]

            async def worker() -> None:
                conn = Http(server.port)
                try:
                    for tenant in todo:
                        token = await populate_tenant([conn], tenant, store.users, operator,
                                                      args, store.populate_retried)
                        if tenant == store.middle:
                            store.probe_token = token
                        done[0] += 1
                        if done[0] % max(1, store.tenants // 10) == 0 and store.tenants >= 10:
                            log(f"  {done[0]:,}/{store.tenants:,} tenants, "
                                f"{time.perf_counter() - t0:.0f} s")
                finally:
                    await conn.close()

            await run_all(worker() for _ in range(clients))
        store.populate_s = time.perf_counter() - t0
        log(f"  populated in {store.populate_s:.1f} s, RSS {server.rss_mib():.0f} MiB")
    finally:
        server.stop()
    store.disk_mib = dir_mib(server.datadir)


def dir_mib(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, f)).st_size
    return total / 2**20


async def restart(store: Store, args) -> None:
    """One measured start on the populated directory, then stop."""
    probe = (f"/t/{store.middle}/api/v1/users/me", store.probe_token)
    try:
        health, tenant = await store.server.start(probe)
    finally:
        store.server.stop()
    store.health.append(health)
    store.first_tenant.append(tenant)
    log(f"  {store.server.label}: start -> /healthz 200 {health * 1000:.0f} ms, "
        f"-> tenant 200 {tenant * 1000:.0f} ms")


async def latency(store: Store, args, round_: int) -> None:
    """One round of the latency series on a fresh start; rounds add to the same Runs."""
    server = store.server
    await server.start()
    try:
        await asyncio.sleep(args.settle)
        if round_ == 0:
            store.rss_idle = server.rss_mib()
        http = Http(server.port)
        try:
            token = (await call(http, "POST", f"/t/{store.middle}/api/v1/users/login",
                                TENANT_ADMIN))["token"]
        finally:
            await http.close()
        me = f"/t/{store.middle}/api/v1/users/me"
        name = probe_name(store)
        lookup = (f"/t/{store.middle}/scim/v2/Users?filter="
                  + quote(f'userName eq "{name}"', safe=""))
        label = server.label + (f", round {round_ + 1}/{args.rounds}" if args.rounds > 1 else "")
        store.me = store.me or Run("users/me, 1 client")
        store.lookup = store.lookup or Run("SCIM filter, 1 client")
        store.concurrent = store.concurrent or Run(f"users/me, {args.clients} clients")
        log(f"{label}: GET {me}, 1 client")
        await series(server, None, me, args.warmup, 1, check_200, token)
        await series(server, store.me, me, args.requests, 1, check_200, token)
        log(f"  {store.me.summary()}")
        log(f"{label}: SCIM filter userName eq \"{name}\", 1 client")
        await series(server, None, lookup, args.warmup, 1, check_one, token, SCIM_JSON)
        await series(server, store.lookup, lookup, args.requests, 1, check_one, token, SCIM_JSON)
        log(f"  {store.lookup.summary()}")
        log(f"{label}: GET {me}, {args.clients} clients")
        await series(server, None, me, args.warmup, args.clients, check_200, token)
        await series(server, store.concurrent, me, args.concurrent_requests, args.clients,
                     check_200, token)
        log(f"  {store.concurrent.summary()}")
        store.rss_after = server.rss_mib()
    finally:
        server.stop()


@dataclass
class Deletion:
    """Deleting the one tenant of the same-data store while the default tenant is measured."""
    tenant: str = ""
    users: int = 0                  # users of the tenant, its admin included
    before: Run | None = None       # default tenant's /users/me just before the DELETE
    during: Run | None = None       # … from the DELETE to the tenant's 404
    delete_ms: float = float("nan")  # the DELETE's answer
    gone_s: float = float("nan")     # DELETE sent → first 404 of GET /api/v1/tenants/<id>
    polls: int = 0                   # GET /api/v1/tenants/<id> sent
    poll_odd: dict = field(default_factory=dict)  # answers neither 200 `deleting` nor 404
    probes: int = 0                  # GET /t/<id>/api/v1/users/me sent after the DELETE
    probe_bad: dict = field(default_factory=dict)  # … that did not answer 404
    left: int = -1                   # users found in the tenant recreated with the same id, but its admin
    reclaimed: bool = False          # an old user's name could be taken again (no claim was left)
    skipped: str = ""

    @property
    def rate(self) -> float:
        return self.users / self.gone_s if self.gone_s else float("nan")


def max_lat_ms(r: Run | None) -> float:
    return max(r.lat) * 1000 if r and r.lat else float("nan")


def count(d: dict, what: str) -> None:
    d[what] = d.get(what, 0) + 1


DELETE_POLL = 0.05       # s between two GET /api/v1/tenants/<id>, and two /t/<id>/…/users/me
DELETE_TIMEOUT = 1800.0  # s from the DELETE to the tenant's 404


async def deletion(store: Store, args) -> None:
    """Last phase on the same-data store (it is left without its tenant): one client sends
    GET /api/v1/users/me to the default tenant with the operator's token without pause,
    --delete-baseline s before the DELETE and until the deleted tenant answers 404."""
    d = store.deletion
    server = store.server
    tenant = store.ids[0]
    d.tenant, d.users = tenant, store.users + 1
    await server.start()
    phase = ["warm-up"]
    measurer = None
    try:
        http = Http(server.port)
        try:
            operator = (await call(http, "POST", "/api/v1/users/login", OPERATOR))["token"]
            admin = (await call(http, "POST", f"/t/{tenant}/api/v1/users/login",
                                TENANT_ADMIN))["token"]
            shown = await call(http, "GET", f"/api/v1/tenants/{tenant}", token=operator)
            if shown.get("status") != "active":
                raise RuntimeError(f"GET /api/v1/tenants/{tenant} before the DELETE: {shown}")
        finally:
            await http.close()
        me = "/api/v1/users/me"
        await series(server, None, me, args.warmup, 1, check_200, operator)
        d.before = Run("default users/me, 1 client, before the DELETE")
        d.during = Run("default users/me, 1 client, during the deletion")
        runs = {"before": d.before, "during": d.during}

        async def measure() -> None:
            conn = Http(server.port)
            try:
                while phase[0] in runs:
                    run = runs[phase[0]]
                    t = time.perf_counter()
                    try:
                        status, _ = await conn.request("GET", me, token=operator)
                    except TransportError as e:
                        run.fail(str(e))
                        await asyncio.sleep(0.01)
                        continue
                    if status == 200:
                        run.lat.append(time.perf_counter() - t)
                    else:
                        run.fail(f"HTTP {status}")
            finally:
                await conn.close()

        log(f"{server.label}: GET {me} (default tenant, operator), 1 client, "
            f"{args.delete_baseline:g} s before deleting {tenant}")
        t_before, c_before = time.perf_counter(), server.cpu()
        phase[0] = "before"
        measurer = asyncio.ensure_future(measure())
        await asyncio.sleep(args.delete_baseline)
        if measurer.done():
            measurer.result()          # raises what stopped it
        phase[0] = "during"
        t_del, c_del = time.perf_counter(), server.cpu()
        d.before.wall, d.before.server_cpu = t_del - t_before, c_del - c_before
        log(f"{server.label}: DELETE /api/v1/tenants/{tenant} ({d.users:,} users)")
        http = Http(server.port)
        probe = Http(server.port)
        try:
            answer = await call(http, "DELETE", f"/api/v1/tenants/{tenant}", token=operator,
                                expect=(202,))
            d.delete_ms = (time.perf_counter() - t_del) * 1000
            if answer.get("status") != "deleting":
                raise RuntimeError(f"DELETE /api/v1/tenants/{tenant}: 202 with status "
                                   f"{answer.get('status')!r}, not \"deleting\"")
            gone = asyncio.Event()

            async def prober() -> None:
                """GET /t/<id>/api/v1/users/me with the admin's token from the first request
                after the DELETE until the tenant is gone: every answer must be 404."""
                while not gone.is_set():
                    d.probes += 1
                    try:
                        status, _ = await probe.request("GET", f"/t/{tenant}/api/v1/users/me",
                                                        token=admin)
                        if status != 404:
                            count(d.probe_bad, f"HTTP {status}")
                    except TransportError as e:
                        count(d.probe_bad, str(e))
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(gone.wait(), DELETE_POLL)

            async def poller() -> None:
                """GET /api/v1/tenants/<id> until 404."""
                next_log = 10.0
                while True:
                    d.polls += 1
                    try:
                        status, payload = await http.request(
                            "GET", f"/api/v1/tenants/{tenant}", token=operator)
                    except TransportError as e:
                        count(d.poll_odd, str(e))
                        status, payload = 0, b""
                    elapsed = time.perf_counter() - t_del
                    if status == 404:
                        d.gone_s = elapsed
                        gone.set()
                        return
                    if status == 200:
                        state = json.loads(payload).get("status")
                        if state != "deleting":
                            count(d.poll_odd, f"HTTP 200 {state!r}")
                    elif status:
                        count(d.poll_odd, f"HTTP {status}")
                    if measurer.done():
                        measurer.result()
                    if elapsed > DELETE_TIMEOUT:
                        raise RuntimeError(f"{tenant} still there {DELETE_TIMEOUT:.0f} s after "
                                           f"its DELETE:\n{server.log_tail()}")
                    if elapsed >= next_log:
                        log(f"  deleting, {elapsed:.0f} s")
                        next_log += 10
                    await asyncio.sleep(DELETE_POLL)

            await run_all([prober(), poller()])
        finally:
            await http.close()
            await probe.close()
        phase[0] = "done"
        d.during.wall, d.during.server_cpu = d.gone_s, server.cpu() - c_del
        await measurer
        # Nothing of the old tenant is left: recreated under the same id it holds only its new
        # admin, and an old user's name is free again (a leftover claim would refuse it).
        http = Http(server.port)
        try:
            await call(http, "POST", "/api/v1/tenants", {"id": tenant, "admin": TENANT_ADMIN},
                       token=operator, expect=(201,))
            fresh = (await call(http, "POST", f"/t/{tenant}/api/v1/users/login", TENANT_ADMIN))["token"]
            listed = await call(http, "GET", f"/t/{tenant}/scim/v2/Users?count=1", token=fresh,
                                content_type=SCIM_JSON)
            d.left = int(listed["totalResults"]) - 1
            again = user_body(probe_user(store.users), tenant)
            status, _ = await http.request("POST", f"/t/{tenant}/scim/v2/Users",
                                           json.dumps(again).encode(), fresh, SCIM_JSON,
                                           accept=SCIM_JSON)
            d.reclaimed = status == 201
        finally:
            await http.close()
        log(f"  {tenant} gone {d.gone_s:.2f} s after the DELETE ({d.rate:,.0f} users/s; "
            f"DELETE answered in {d.delete_ms:.1f} ms); /t/{tenant}/api/v1/users/me: "
            f"{d.probes - sum(d.probe_bad.values())}/{d.probes} 404"
            + (f", not 404: {d.probe_bad}" if d.probe_bad else ""))
        for r in (d.before, d.during):
            log(f"  {r.summary()}, max {max_lat_ms(r):.1f} ms")
    finally:
        phase[0] = "done"
        if measurer is not None:
            measurer.cancel()
            await asyncio.gather(measurer, return_exceptions=True)
        server.stop()


# --------------------------------------------------------------------------- report

def fmt_n(n: int) -> str:
    return f"{n:,}"


def median_ms(xs: list[float]) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return statistics.median(xs) * 1000 if xs else float("nan")


def max_ms(xs: list[float]) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return max(xs) * 1000 if xs else float("nan")


def report(small: Store, same: Store, many: Store, args, m: dict, version: str,
           debug_build: bool, load_end: str) -> str:
    n, u = many.tenants, many.users
    stores = (small, same, many)
    L = ["## Tenants", ""]
    how = ("`POST /api/v1/tenants` with its first admin" if args.create == "api" else
           "**named in `TESSERA__SERVER__TENANTS` at every start and bootstrapped through its "
           "own `/users/bootstrap` (`--create config`, for a binary without "
           "`/api/v1/tenants`)**")
    L.append(
        f"`bench/tenants/run.sh` ({m['date']}): Tessera ({version}; store `surrealkv://`, "
        f"argon2 at 1 MiB × 1 iteration, since hashing is not measured). Three stores built in "
        f"the same run: {small.server.label}; {same.server.label}, the same number of users "
        f"as the large store; {many.server.label} (`t0001`…). Each tenant: {how}, "
        f"then its users through SCIM `/Bulk` requests of {fmt_n(args.bulk_size)} users, "
        f"{args.populate_clients} requests in flight ({args.populate_clients} tenants at a time, "
        f"or {args.populate_clients} clients on the one tenant); the `default` (operator) "
        f"tenant exists in all three. One server at a time, client asyncio with a minimal "
        f"HTTP/1.1 keep-alive client on the same machine. Machine: {m['nproc']} CPUs "
        f"({m['usable']} usable), {m['cpu']}, {m['mem']}, Linux {m['kernel']}, load average "
        f"{m['load']} at start, {load_end} at the end.")
    L.append("")
    L.append(
        f"The embedded store loads its index at start, so start-up and memory grow with the "
        f"amount of data; the stores are compared so as to separate the two causes. "
        f"**Tenant-count effect** = {many.server.label} ÷ {same.server.label}: the same "
        f"{fmt_n(n * u)} users, in {fmt_n(n)} tenants instead of one; target ≤ {TARGET} for "
        f"start-up and latencies (the number of tenants does not make Tessera slower). "
        f"**Data effect** = {same.server.label} ÷ {small.server.label}: {n:,}× the users in one "
        f"tenant (informative). Lower is better, except req/s.")
    if debug_build:
        L.append("")
        L.append("**Debug build: these numbers only show that the script works.**")
    L.append("")
    L.append(f"| measurement | {small.server.label} | {same.server.label} (same data) | "
             f"{many.server.label} | tenant-count effect | target | data effect |")
    L.append("|---|---|---|---|---|---|---|")

    def row(label: str, values: tuple, fmt, target: bool) -> None:
        a, b, c = values
        tenants_text, x = ratio(c, b)
        data_text, _ = ratio(b, a)
        mark = ""
        if target:
            mark = f"≤ {TARGET}" + ("" if x is None else (" ✓" if x <= TARGET else " ✗"))
        L.append(f"| {label} | {fmt(a)} | {fmt(b)} | {fmt(c)} | {tenants_text} | {mark} "
                 f"| {data_text} |")

    def each(attr: str, f=None) -> tuple:
        return tuple((f or (lambda v: v))(getattr(s, attr)) for s in stores)

    def get(r: Run | None, attr: str) -> float:
        return float("nan") if r is None else getattr(r, attr)

    def runs(attr: str, what: str) -> tuple:
        return tuple(get(getattr(s, attr), what) for s in stores)

    secs = lambda v: fmt_ms(v)  # noqa: E731   same precision rule
    mib = lambda v: fmt_ms(v)  # noqa: E731
    rate = lambda v: "—" if math.isnan(v) else f"{v:,.0f}"  # noqa: E731
    row("populate: tenants + admins + users, wall (s)", each("populate_s"), secs, False)
    row("… store on disk (MiB)", each("disk_mib"), mib, False)
    k = args.restarts
    row(f"start → first `/healthz` 200, median of {k} (ms)", each("health", median_ms), fmt_ms,
        True)
    row(f"… max of {k} (ms)", each("health", max_ms), fmt_ms, True)
    row(f"start → first 200 of `GET /t/<id>/api/v1/users/me`, median of {k} (ms)",
        each("first_tenant", median_ms), fmt_ms, True)
    nreq = fmt_n(args.requests * args.rounds)
    row(f"`GET /t/<id>/api/v1/users/me`, 1 client, {nreq} requests: p50 (ms)",
        runs("me", "p50"), fmt_ms, True)
    row("… p99 (ms)", runs("me", "p99"), fmt_ms, True)
    row(f"SCIM `GET /t/<id>/scim/v2/Users?filter=userName eq \"<the middle user>\"`, 1 client, "
        f"{nreq} requests: p50 (ms)", runs("lookup", "p50"), fmt_ms, True)
    row("… p99 (ms)", runs("lookup", "p99"), fmt_ms, True)
    c = args.clients
    row(f"`GET /t/<id>/api/v1/users/me`, {c} clients, "
        f"{fmt_n(args.concurrent_requests * args.rounds)} requests: req/s",
        runs("concurrent", "rate"), rate, False)
    row("… p50 (ms)", runs("concurrent", "p50"), fmt_ms, True)
    row("… p99 (ms)", runs("concurrent", "p99"), fmt_ms, True)
    row(f"server RSS idle, {args.settle:g} s after start (MiB)", each("rss_idle"), mib, False)
    row("server RSS after the latency runs (MiB)", each("rss_after"), mib, False)
    L.append("")
    L.extend(deletion_report(same, args))

    notes = []
    for s in stores:
        if s.failure:
            notes.append(f"**{s.server.label}: {s.failure}**")
    again = [f"{s.server.label}: " + ", ".join(f"{v:,}× {k_}" for k_, v in s.populate_retried.items())
             for s in stores if s.populate_retried]
    if again:
        notes.append("Sent again while populating (counted, not hidden): " + "; ".join(again) + ".")
    probes = "; ".join(f"{s.server.label}: tenant `{s.middle or '—'}`, SCIM filter on "
                       f"`{probe_name(s) if s.middle else '—'}`" for s in stores)
    notes.append(f"The tenant measured is the middle one of the list, with its admin's token (a "
                 f"token issued before the restart for the start-up probe, a fresh one for the "
                 f"latency runs), and the user looked up is the middle one of its tenant "
                 f"({probes}); {fmt_n(args.warmup)} warm-up requests before each series. "
                 f"Start-up is measured from the spawn of `tessera serve` on the populated "
                 f"directory, polling every 2 ms, alternating the three stores, {k} times each."
                 + (f" Latencies: {args.rounds} rounds alternating the three stores, each on a "
                    f"fresh start, pooled; RSS after the last round." if args.rounds > 1 else ""))
    starts = [f"{s.server.label}: " + ", ".join(f"{x * 1000:,.0f}" for x in s.health)
              for s in stores if s.health]
    if starts:
        notes.append("Each start → `/healthz` (ms): " + "; ".join(starts) + ".")
    cpu = [f"{s.server.label}: {s.concurrent.server_cpu / s.concurrent.wall:.2f}"
           for s in stores if s.concurrent and s.concurrent.wall]
    if cpu:
        notes.append(f"Server CPU cores busy during the {c}-client run (CPU s ÷ wall s): "
                     + "; ".join(cpu) + ".")
    errs = [f"{s.server.label} {r.label}: "
            + ", ".join(f"{v:,}× {k_}" for k_, v in r.errors.items())
            for s in stores for r in (s.me, s.lookup, s.concurrent) if r and r.errors]
    d = same.deletion
    if d:
        errs += [f"{r.label}: " + ", ".join(f"{v:,}× {k_}" for k_, v in r.errors.items())
                 for r in (d.before, d.during) if r and r.errors]
    if errs:
        notes.append("Errors (not counted in the latencies): " + "; ".join(errs) + ".")
    if d and d.poll_odd:
        notes.append(f"`GET /api/v1/tenants/{d.tenant}` while deleting, answers neither 200 "
                     f"`deleting` nor 404: "
                     + ", ".join(f"{v:,}× {k_}" for k_, v in d.poll_odd.items()) + ".")
    return end_section(L, notes, f"Run: `{' '.join(['bench/tenants/run.sh'] + rerun_args())}` "
                                 "(see `bench/tenants/README.md`).")


def deletion_report(same: Store, args) -> list[str]:
    """The lines on the deletion of the same-data store's tenant: a sentence and a table."""
    d = same.deletion
    if d is None or d.skipped:
        why = d.skipped if d else "not measured (the run failed before)"
        return [f"**Deleting a big tenant**: {why}.", ""]
    t, poll = d.tenant, f"{DELETE_POLL * 1000:.0f} ms"
    L = [f"**Deleting a big tenant does not stall the others.** Last, on the "
         f"{same.server.label} store (discarded afterwards): one client sends "
         f"`GET /api/v1/users/me` to the `default` tenant with the operator's token without "
         f"pause, {args.delete_baseline:g} s before `DELETE /api/v1/tenants/{t}` (202, "
         f"`\"status\": \"deleting\"`) and from it until `GET /api/v1/tenants/{t}` (every "
         f"{poll}) answers 404. The server removes the tenant's records in the background, 500 "
         f"per transaction; the time to the 404 includes the 3 s it waits on purpose (2 s for "
         f"every replica to stop serving the tenant, 1 s between its two sweeps). From the first "
         f"request after the DELETE's answer, `GET /t/{t}/api/v1/users/me` with the tenant "
         f"admin's token issued before it is sent every {poll} until the 404: every answer must "
         f"be 404. Target: p99 during ≤ {TARGET}× before, max during < 1 s.", ""]
    L.append(f"| deleting `{t}` ({d.users:,} users, its admin included) | before the DELETE | "
             f"during the deletion | during ÷ before | target |")
    L.append("|---|---|---|---|---|")
    b, w = d.before, d.during

    def line(label: str, before: str, during: str, ratio_text: str = "",
             target: str = "") -> None:
        L.append(f"| {label} | {before} | {during} | {ratio_text} | {target} |")

    def n_in(r: Run | None) -> str:
        return "—" if r is None else f"{len(r.lat):,} in {r.wall:.1f} s"

    def mark(ok: bool | None) -> str:
        return "" if ok is None else (" ✓" if ok else " ✗")

    def get(r: Run | None, attr: str) -> float:
        return float("nan") if r is None else getattr(r, attr)

    def cores(r: Run | None) -> float:
        return r.server_cpu / r.wall if r and r.wall else float("nan")

    line("`default` tenant, `GET /api/v1/users/me`, 1 client: requests", n_in(b), n_in(w))
    for label, before, during, target in (
            ("… p50 (ms)", get(b, "p50"), get(w, "p50"), None),
            ("… p99 (ms)", get(b, "p99"), get(w, "p99"), "p99"),
            ("… max (ms)", max_lat_ms(b), max_lat_ms(w), "max"),
            ("… server CPU cores busy (CPU s ÷ wall s)", cores(b), cores(w), None)):
        text, x = ratio(during, before)
        goal = ""
        if target == "p99":
            goal = f"≤ {TARGET}×" + mark(None if x is None else x <= TARGET)
        elif target == "max":
            goal = "< 1,000 ms" + mark(None if math.isnan(during) else during < 1000)
        line(label, fmt_ms(before), fmt_ms(during), text, goal)
    line(f"`DELETE /api/v1/tenants/{t}` → 202 `deleting` (ms)", "", fmt_ms(d.delete_ms))
    line(f"DELETE → first 404 of `GET /api/v1/tenants/{t}` (s)", "", fmt_ms(d.gone_s))
    line("… users deleted per second", "",
         "—" if math.isnan(d.rate) else f"{d.rate:,.0f}")
    bad = sum(d.probe_bad.values())
    what = f"{bad:,} of {d.probes:,}" + (
        " (" + ", ".join(f"{v:,}× {k_}" for k_, v in d.probe_bad.items()) + ")" if bad else "")
    line(f"`GET /t/{t}/api/v1/users/me` from the first request after the DELETE: answers "
         f"not 404", "", what, "", "0" + mark(None if not d.probes else bad == 0))
    line(f"`{t}` recreated under the same id afterwards: users besides its new admin", "",
         "—" if d.left < 0 else f"{d.left:,}", "", "0" + mark(None if d.left < 0 else d.left == 0))
    line("… an old user's name taken again (no claim left behind)", "",
         "yes" if d.reclaimed else "no", "", "yes" + mark(None if d.left < 0 else d.reclaimed))
    L.append("")
    return L


def to_json(s: Store) -> dict:
    def run(x: Run | None):
        if x is None:
            return None
        return {"label": x.label, "requests": len(x.lat), "wall_s": x.wall, "rate_per_s": x.rate,
                "p50_ms": x.p50, "p99_ms": x.p99, "errors": x.errors,
                "server_cpu_s": x.server_cpu}
    return {"label": s.server.label, "tenants": s.tenants, "users_per_tenant": s.users,
            "middle": s.middle, "scim_filter_user": probe_name(s) if s.middle else None,
            "populate_s": s.populate_s,
            "disk_mib": s.disk_mib, "populate_retried": s.populate_retried, "start_healthz_s": s.health,
            "start_first_tenant_request_s": s.first_tenant, "rss_idle_mib": s.rss_idle,
            "rss_after_mib": s.rss_after, "users_me": run(s.me), "scim_filter": run(s.lookup),
            "users_me_concurrent": run(s.concurrent), "deletion": deletion_json(s.deletion, run),
            "failure": s.failure}


def deletion_json(d: "Deletion | None", run) -> dict | None:
    if d is None:
        return None
    return {"tenant": d.tenant, "users": d.users, "skipped": d.skipped or None,
            "default_users_me_before": run(d.before), "default_users_me_during": run(d.during),
            "max_before_ms": max_lat_ms(d.before), "max_during_ms": max_lat_ms(d.during),
            "delete_answer_ms": d.delete_ms, "delete_to_404_s": d.gone_s,
            "users_deleted_per_s": d.rate, "tenant_polls": d.polls,
            "tenant_polls_odd": d.poll_odd, "deleted_tenant_requests": d.probes,
            "deleted_tenant_not_404": d.probe_bad}


# --------------------------------------------------------------------------- main

# Defaults of the sizes; --quick takes the second value (each still overridden by its flag).
SIZES = {"tenants": (1000, 20), "users": (100, 10), "restarts": (5, 2), "requests": (2000, 200),
         "warmup": (200, 20), "concurrent_requests": (4000, 400), "settle": (2.0, 0.5),
         "delete_baseline": (10.0, 2.0)}


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_args(ap, SIZES, "a small run")
    ap.add_argument("--tenants", type=int,
                    help="tenants of the many-tenant store (1000); the same-data store has 1 "
                         "tenant with --tenants × --users users")
    ap.add_argument("--users", type=int, help="users per tenant (100)")
    ap.add_argument("--restarts", type=int, help="measured starts per store (5)")
    ap.add_argument("--requests", type=int, help="requests per 1-client series (2000)")
    ap.add_argument("--warmup", type=int, help="warm-up requests before each series (200)")
    ap.add_argument("--clients", type=int, default=16, help="clients of the concurrent series (16)")
    ap.add_argument("--concurrent-requests", type=int,
                    help="requests of the concurrent series (4000)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="latency rounds, alternating the stores, each on a fresh start; the "
                         "latencies of all rounds are pooled (1)")
    ap.add_argument("--populate-clients", type=int, default=4,
                    help="/Bulk requests in flight while populating: tenants populated at a "
                         "time, or clients on the one tenant of the same-data store (4)")
    ap.add_argument("--bulk-size", type=int, default=500,
                    help="users per /Bulk request (500, at most 1000)")
    ap.add_argument("--settle", type=float,
                    help="seconds idle after the start before the idle RSS is read (2)")
    ap.add_argument("--delete-baseline", type=float,
                    help="seconds of GET /api/v1/users/me on the default tenant measured just "
                         "before the DELETE of the same-data store's tenant (10)")
    ap.add_argument("--create", choices=["api", "config"], default="api",
                    help="how a tenant is created: POST /api/v1/tenants with its first admin "
                         "(default), or `config`: named in TESSERA__SERVER__TENANTS at every "
                         "start, then its own /t/<id>/api/v1/users/bootstrap (for binaries "
                         "before the tenants API, to try the script; the report says so)")
    add_output_args(ap, "Tenants", "stores, logs")
    a = ap.parse_args()
    apply_sizes(ap, a, SIZES)
    if min(a.tenants, a.users, a.restarts, a.rounds, a.requests, a.clients, a.concurrent_requests,
           a.populate_clients, a.bulk_size) < 1 or a.warmup < 0 or a.settle < 0 \
            or a.delete_baseline <= 0:
        ap.error("sizes must be positive")
    if a.bulk_size > 1000:
        ap.error("--bulk-size: Tessera takes at most 1000 operations per /Bulk request")
    return a


def make_store(binary: Path, workdir: Path, tenants: int, users: int) -> Store:
    label = (f"{tenants:,} tenant{'s' if tenants > 1 else ''} × "
             f"{users:,} user{'s' if users > 1 else ''}")
    return Store(tenants, users, Tessera(binary, workdir / f"store-{tenants}x{users}", label,
                                         env=CHEAP_ARGON2))


async def amain(args, workdir: Path, m: dict, version: str) -> int:
    binary = args.binary
    small = make_store(binary, workdir, 1, args.users)
    same = make_store(binary, workdir, 1, args.tenants * args.users)   # same data as `many`
    many = make_store(binary, workdir, args.tenants, args.users)
    stores = (small, same, many)
    failed = False
    current = small
    try:
        for current in stores:
            current.server.datadir.mkdir()
            await populate(current, args)
        log(f"start-up: {args.restarts} starts per store, alternating")
        for _ in range(args.restarts):
            for current in stores:
                await restart(current, args)
        for round_ in range(args.rounds):
            for current in stores:
                await latency(current, args, round_)
        # Last on the same-data store, which is left without its tenant.
        current = same
        if args.create == "config":
            same.deletion = Deletion(skipped="not measured with `--create config` (a binary "
                                             "without the tenants API)")
        else:
            same.deletion = Deletion()
            await deletion(same, args)
    except Exception as e:   # report what was measured, and the failure
        failed = True
        current.failure = f"{type(e).__name__}: {e}".splitlines()[0][:300]
        log(f"failed:\n{traceback.format_exc()}")
        for s in stores:
            if s.server.starts:
                log(f"{s.server.label} log tail:\n{s.server.log_tail()}")
    load_end = " ".join(f"{x:.2f}" for x in os.getloadavg())
    section = report(small, same, many, args, m, version, "/debug/" in str(binary), load_end)
    return publish(args, section, "Tenants", failed, {
        "machine": m, "version": version, "args": args_json(args), "one": to_json(small),
        "same_data": to_json(same), "many": to_json(many)})


def main() -> int:
    args = parse_args()
    if not check_binary(args):
        return 2
    m = machine()
    version = tessera_version(args.binary)
    return in_workdir(args, "tessera-tenants-bench-", f"{version}, machine {m}",
                      lambda workdir: amain(args, workdir, m, version))

if __name__ == "__main__":
    sys.exit(main())
