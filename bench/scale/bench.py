#!/usr/bin/env python3
"""Scale benchmark (issue #12 item 2): does Tessera stay as fast and as small with a million
users as with a thousand?

One Tessera (release build, embedded `surrealkv://` store in a temporary directory, argon2 at
1 MiB × 1 iteration since hashing is not measured) on a free loopback port; the client is
asyncio with a minimal HTTP/1.1 keep-alive client on the same machine.

  idle      VmRSS 2 s after start, before any request but /healthz         goal ≤ 30 MB
  admin     POST /api/v1/users/bootstrap, POST /api/v1/users/login -> token
  phases    the directory grows to each size in turn (--sizes; default 1k, 10k, 100k, 1M up
            to --users): POST /v0/users {"user":{"email":"…"}} (201) from --clients concurrent
            clients, one keep-alive connection each -> users/s, p50/p99, server and client
            CPU cores busy              goal ≥ 2,000/s; the last within 1.5× of the first
            With --seed-bulk, a phase adding more than --measure users first seeds all but
            the last --measure of them through SCIM /scim/v2/Bulk (--bulk-size operations per
            request, --seed-clients in flight); its creation rate is then that of the last
            --measure users, created by POST /v0/users (both rates are reported).
  lookups   after each phase, one client, one request at a time: --lookups random existing
            users by id (GET /v0/users/{uuid}), then --lookups others by email
            (GET /v0/users/{email}) -> p50/p99     goal p50 < 1 ms; largest ≤ 1.5× the first
  RSS       VmRSS after each phase and its peak during it; at the --list-at size (100k):
            before and after listing every user       goal ≤ 150 MB with 100k users
  listing   at the --list-at size: GET /api/v1/users and GET /v0/users once each, whole ->
            time to the answer's first byte, total time, bytes, users listed, VmRSS before,
            peak during, after                                 goal ≤ 2 s for 100k users

The ids looked up are those the creation answers gave (`data.id`; a SCIM `/Bulk` operation's
`location`), the emails those sent. Every answer is checked (status; the id and email of the
user asked for; the whole list). Before each measurement the script waits for a quiet machine
(--wait-idle); a lookup series or a listing is measured again when other processes were busy
meanwhile (--retries), a creation phase cannot be (it grows the directory) and says so.

Output: a Markdown section on stdout (progress on stderr); with --write it replaces the
`## Scale` section of BENCHMARKS.md (appended when missing). --quick: a tiny run to try the
script (sizes 200 and 1,000, 200 lookups, no wait for a quiet machine unless --wait-idle is
given: well under a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from benchkit import (run_caveats, BULK_REQUEST, CHEAP_ARGON2, SCIM_JSON, Http, Others, Quiet, Unexpected,  # noqa: E402
                      RssSampler, Run, Tessera, TransportError, add_output_args,
                      add_quiet_args, add_run_args, apply_sizes, args_json, call, check_binary,
                      end_section, file_tail, fmt_ms, in_workdir, log, machine, pct, publish,
                      default_settings, process_rss_split_mib, rerun_args_but_json, scim_user, tessera_version)

ADMIN = {"username": "admin@scale.test", "password": "admin-password-1"}
DOMAIN = "scale.test"
# Goals of issue #12 item 2.
GOAL_RATE = 2000.0          # users/s created at 16 clients, in every phase
GOAL_FLAT = 1.5             # first phase's rate ÷ last phase's; largest p50 ÷ first p50
GOAL_P50_MS = 1.0           # lookup p50 at one client
GOAL_IDLE_MB = 30.0         # RSS idle (MB = 10^6 bytes)
GOAL_LIST_MB = 150.0        # RSS with 100k users, before and after listing them
GOAL_LIST_S = 2.0           # listing 100k users
GOAL_LIST_USERS = 100_000   # the size the RSS and listing goals are set at
LADDER = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (200, 1_000)
MIB_PER_MB = 1e6 / 2**20
WARMUP = 20                 # lookups of warm-up before each series, not recorded


class Server(Tessera):
    """Tessera whose CPU time is read in nanoseconds (the scheduler's run time of each of its
    threads, /proc/<pid>/task/*/schedstat): a lookup takes well under the 10 ms tick of
    /proc/<pid>/stat."""

    def cpu(self) -> float:
        if self.proc is None:
            return math.nan
        total = 0
        for stat in Path(f"/proc/{self.proc.pid}/task").glob("*/schedstat"):
            try:
                total += int(stat.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return total / 1e9


def email_of(i: int) -> str:
    return f"user{i:07d}@{DOMAIN}"


class Directory:
    """The users this run created: index i (1…) -> its id (16 bytes each, so that a million
    ids take 16 MB of the client's memory); its email is email_of(i)."""

    def __init__(self, capacity: int) -> None:
        self.ids = bytearray(16 * (capacity + 1))
        self.count = 0          # ids known
        self.top = 0            # highest index attempted

    def put(self, i: int, ident: str) -> None:
        self.ids[16 * i:16 * i + 16] = uuid.UUID(ident).bytes
        self.count += 1

    def id_of(self, i: int) -> str | None:
        raw = bytes(self.ids[16 * i:16 * i + 16])
        return None if raw == bytes(16) else str(uuid.UUID(bytes=raw))

    def sample(self, rng: random.Random, n: int) -> list[int]:
        """n random indices of users whose id is known (with repeats when there are fewer)."""
        if self.count == 0:
            raise RuntimeError("no user was created: nothing to look up")
        picked = []
        while len(picked) < n:
            i = rng.randint(1, self.top)
            if self.id_of(i) is not None:
                picked.append(i)
        return picked


# --------------------------------------------------------------------------- results

@dataclass
class Listing:
    """One whole list, read as it streams."""
    path: str
    status: int = 0
    first_byte_s: float = math.nan    # request sent -> the answer's first byte
    first_body_s: float = math.nan    # … -> the first byte of its body
    total_s: float = math.nan         # … -> the last byte
    bytes: int = 0
    users: int = 0                    # records in the list
    chunked: bool = False
    rss_before: float = math.nan
    rss_peak: float = math.nan
    rss_after: float = math.nan
    server_cpu: float = math.nan
    wrong: str = ""


@dataclass
class Lookups(Run):
    """A lookup series, and how many of its answers Tessera's user-record cache gave
    (`tessera_cache_lookups_total`, read from `/metrics` around the series; None when
    unreadable): at a small directory most draws repeat a user read before."""
    from_cache: int | None = None


@dataclass
class Phase:
    """The directory grown from `before` to `size` users, and what was measured there."""
    size: int
    before: int
    bulk_users: int = 0
    bulk_s: float = math.nan
    bulk_server_cpu: float = math.nan
    post: Run | None = None
    client_cpu: float = math.nan
    others: float = math.nan          # cores other processes used during the creation
    stopped: str = ""                 # why the phase ended early, if it did
    rss_after: float = math.nan
    rss_peak: float = math.nan
    by_id: Lookups | None = None
    by_email: Lookups | None = None
    listings: list = field(default_factory=list)

    @property
    def reached(self) -> int:
        return self.before + self.bulk_users + (self.post.items if self.post else 0)

    @property
    def bulk_rate(self) -> float:
        return self.bulk_users / self.bulk_s if self.bulk_users and self.bulk_s else math.nan


class Creation(Run):
    """A creation series: `items` users created (201), latencies of every request."""

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.items = 0

    @property
    def rate(self) -> float:
        return self.items / self.wall if self.wall else math.nan


@dataclass
class Results:
    quiet: Quiet
    start_s: float = math.nan
    rss_idle: float = math.nan
    #: (RssAnon, RssFile) idle, MiB.
    rss_idle_split: tuple = (math.nan, math.nan)
    phases: list = field(default_factory=list)
    list_phase: int = 0               # the size the lists were read at
    store_mib: float = math.nan
    failure: str = ""

    def errors(self) -> list[str]:
        found = []
        for ph in self.phases:
            for r in (ph.post, ph.by_id, ph.by_email):
                if r is not None and r.errors:
                    found.append(f"{r.label}: " + ", ".join(f"{v:,}× {k}"
                                                           for k, v in r.errors.items()))
            for ls in ph.listings:
                if ls.wrong:
                    found.append(f"GET {ls.path} at {ph.size:,} users: {ls.wrong}")
        return found


# --------------------------------------------------------------------------- creation

#: /Bulk requests answered 503 while seeding, and the seconds they took: (count, seconds).
SEED_STALLS = [0, 0.0]


async def bulk_with_retries(conn: Http, token: str, body: dict, size: int) -> list:
    """One /Bulk request of `size` creations, sent again while it answers 503 (the server asks
    for a retry); a creation that a timed-out attempt committed after all answers 409 on the
    retry and counts as created, without its id. Returns the operations' answers."""
    for attempt in range(10):
        started = time.perf_counter()
        try:
            reply = await call(conn, "POST", "/scim/v2/Bulk", body, token=token, content_type=SCIM_JSON)
        except Unexpected as error:
            if error.status != 503:
                raise
            SEED_STALLS[0] += 1
            SEED_STALLS[1] += time.perf_counter() - started
            log(f"    /Bulk answered 503 after {time.perf_counter() - started:.1f} s; again")
            await asyncio.sleep(1)
            continue
        ops = reply.get("Operations", [])
        ok = ("201", "409") if attempt else ("201",)
        bad = [str(op.get("status")) for op in ops if str(op.get("status")) not in ok]
        if bad or len(ops) != size:
            raise RuntimeError(f"/Bulk of {size} users: {len(ops)} answers, statuses {sorted(set(bad))[:5]}")
        return ops
    raise RuntimeError(f"/Bulk of {size} users: 503 ten times")


async def bulk_seed(port: int, token: str, d: Directory, first: int, last: int, args,
                    deadline: float) -> int:
    """Creates users first..last through SCIM /Bulk (--bulk-size per request, --seed-clients
    in flight), keeping each one's id (the tail of its operation's `location`); stops at
    `deadline`. Returns the users created."""
    chunks = iter(range(first, last + 1, args.bulk_size))
    made = [0]
    step = max(args.bulk_size, (last - first + 1) // 10)

    async def sender(conn: Http) -> None:
        for start in chunks:
            if time.perf_counter() > deadline:
                return
            chunk = range(start, min(start + args.bulk_size, last + 1))
            d.top = max(d.top, chunk[-1])
            body = {"schemas": [BULK_REQUEST],
                    "Operations": [{"method": "POST", "path": "/Users", "bulkId": f"u{i}",
                                    "data": scim_user(email_of(i))} for i in chunk]}
            ops = await bulk_with_retries(conn, token, body, len(chunk))
            for op in ops:
                if str(op.get("status")) == "201":
                    d.put(int(op["bulkId"][1:]), op["location"].rstrip("/").rsplit("/", 1)[1])
            before, made[0] = made[0], made[0] + len(chunk)
            if made[0] // step > before // step:
                log(f"    /Bulk: {made[0]:,}/{last - first + 1:,}")

    conns = [Http(port) for _ in range(args.seed_clients)]
    try:
        await asyncio.gather(*(sender(c) for c in conns))
    finally:
        for c in conns:
            await c.close()
    return made[0]


async def post_users(t: Tessera, token: str, d: Directory, first: int, last: int, clients: int,
                     run: Creation, deadline: float) -> None:
    """POST /v0/users for users first..last, `clients` connections with one request in flight
    each; a user's latency is from its send to the whole answer read."""
    left = iter(range(first, last + 1))
    head = (f"Host: 127.0.0.1:{t.port}\r\nAccept: application/json\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n")
    step = max(10_000, (last - first + 1) // 10)
    t_start = time.perf_counter()

    async def worker(http: Http) -> None:
        for i in left:
            if time.perf_counter() > deadline:
                return
            d.top = max(d.top, i)
            body = b'{"user":{"email":"%s"}}' % email_of(i).encode()
            request = (f"POST /v0/users HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n"
                       .encode() + body)
            t0 = time.perf_counter()
            try:
                status, payload = await http.exchange(request)
            except TransportError as e:
                run.fail(str(e))
                continue
            run.lat.append(time.perf_counter() - t0)
            if status != 201:
                run.fail(f"HTTP {status}")
                continue
            try:
                d.put(i, json.loads(payload)["data"]["id"])
                run.items += 1
                if run.items % step == 0:
                    log(f"    POST /v0/users: {run.items:,}/{last - first + 1:,}, "
                        f"{run.items / (time.perf_counter() - t_start):,.0f}/s so far")
            except (ValueError, KeyError, TypeError):
                run.fail("201 without data.id")

    conns = [Http(t.port) for _ in range(clients)]
    try:
        t0, s0 = time.perf_counter(), t.cpu()
        await asyncio.gather(*(worker(c) for c in conns))
        run.wall += time.perf_counter() - t0
        run.server_cpu += t.cpu() - s0
    finally:
        for c in conns:
            await c.close()


async def grow(t: Tessera, token: str, d: Directory, ph: Phase, args, quiet: Quiet) -> None:
    """The directory from ph.before to ph.size users (see the module's docstring): the next
    unused indices, so that a failed creation is never sent again as another's."""
    new = ph.size - ph.before
    start, end = d.top + 1, d.top + new
    bulk_n = new - args.measure if args.seed_bulk and new > args.measure else 0
    deadline = time.perf_counter() + args.phase_budget
    if bulk_n:
        await quiet.wait(f"seeding to {ph.before + bulk_n:,}")
        log(f"  seeding {bulk_n:,} users through /Bulk ({args.bulk_size} per request, "
            f"{args.seed_clients} in flight)")
        t0, s0 = time.perf_counter(), t.cpu()
        ph.bulk_users = await bulk_seed(t.port, token, d, start, start + bulk_n - 1, args,
                                        deadline)
        ph.bulk_s = time.perf_counter() - t0
        ph.bulk_server_cpu = t.cpu() - s0
        log(f"  /Bulk: {ph.bulk_users:,} users in {ph.bulk_s:.1f} s = {ph.bulk_rate:,.0f}/s")
        if ph.bulk_users < bulk_n:
            ph.stopped = f"--phase-budget ({args.phase_budget:g} s) ran out while seeding"
    label = f"creation to {ph.size:,}"
    ph.post = Creation(f"POST /v0/users to {ph.size:,}")
    if ph.stopped:
        return
    await quiet.wait(label)
    others = Others()
    c0 = time.process_time()
    await post_users(t, token, d, d.top + 1, end, args.clients, ph.post, deadline)
    ph.client_cpu = time.process_time() - c0
    ph.others = quiet.others[label] = others.cores()
    if d.top < end:
        ph.stopped = (f"--phase-budget ({args.phase_budget:g} s) ran out at "
                      f"{ph.reached:,} users")
    log(f"  {ph.post.summary()}, {ph.post.items:,} created, server "
        f"{cores(ph.post.server_cpu, ph.post.wall):.2f} cores")


# --------------------------------------------------------------------------- lookups

async def lookups(t: Tessera, token: str, d: Directory, ph: Phase, args, quiet: Quiet,
                  rng: random.Random) -> None:
    """--lookups by id, then --lookups other users by email, one request at a time."""
    for kind in ("id", "email"):
        label = f"lookup by {kind} at {ph.size:,}"

        async def attempt(kind=kind, label=label) -> Run:
            # Other users at each attempt: a user looked up again may be answered from a cache.
            picked = d.sample(rng, args.lookups)
            warm = d.sample(rng, min(WARMUP, args.lookups))
            run = Lookups(label)
            http = Http(t.port)
            try:
                await lookup_series(t, http, token, d, kind, warm, Lookups("warm-up"))
                await lookup_series(t, http, token, d, kind, picked, run)
            finally:
                await http.close()
            return run

        run = await quiet.phase(label, attempt)
        setattr(ph, f"by_{kind}", run)
        cached = "?" if run.from_cache is None else f"{run.from_cache:,}"
        log(f"  {run.summary()}, {cached} from the user-record cache")


USER_CACHE_HITS = 'tessera_cache_lookups_total{cache="user",outcome="hit"} '


async def user_cache_hits(http: Http, head: str) -> int | None:
    """Tessera's count of lookups its user-record cache answered, from `/metrics` (the bench's
    admin may read it), or None when it cannot be read."""
    try:
        status, body = await http.exchange(f"GET /metrics HTTP/1.1\r\n{head}".encode())
    except TransportError:
        return None
    if status != 200:
        return None
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith(USER_CACHE_HITS):
            return int(float(line[len(USER_CACHE_HITS):]))
    return 0  # the series appears at the first lookup


async def lookup_series(t: Tessera, http: Http, token: str, d: Directory, kind: str,
                        picked: list[int], run: Lookups) -> None:
    head = (f"Host: 127.0.0.1:{t.port}\r\nAccept: application/json\r\n"
            f"Authorization: Bearer {token}\r\n\r\n")
    hits = await user_cache_hits(http, head)
    t0, s0 = time.perf_counter(), t.cpu()
    for i in picked:
        ident, email = d.id_of(i), email_of(i)
        request = f"GET /v0/users/{ident if kind == 'id' else email} HTTP/1.1\r\n{head}".encode()
        t1 = time.perf_counter()
        try:
            status, payload = await http.exchange(request)
        except TransportError as e:
            run.fail(str(e))
            continue
        took = time.perf_counter() - t1
        if status != 200:
            run.fail(f"HTTP {status}")
            continue
        try:
            user = json.loads(payload)["data"]
            right = user["id"] == ident and user["email"] == email
        except (ValueError, KeyError, TypeError):
            right = False
        if not right:
            run.fail("another user, or no user, in the answer")
            continue
        run.lat.append(took)
    run.wall += time.perf_counter() - t0
    run.server_cpu += t.cpu() - s0
    after = await user_cache_hits(http, head)
    if hits is not None and after is not None:
        run.from_cache = after - hits


# --------------------------------------------------------------------------- listing

async def read_list(t: Tessera, path: str, token: str, expect_users: int) -> Listing:
    """GET `path` once on a new connection, the body read as it arrives: times to the first
    byte of the answer and of its body, and to the last; then the list is checked whole."""
    ls = Listing(path)
    reader, writer = await asyncio.open_connection("127.0.0.1", t.port)
    parts: list[bytes] = []
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{t.port}\r\n"
                     f"Accept: application/json\r\nAuthorization: Bearer {token}\r\n"
                     f"Connection: close\r\n\r\n".encode())
        t0, s0 = time.perf_counter(), t.cpu()
        first = await reader.read(1)
        ls.first_byte_s = time.perf_counter() - t0
        line = first + await reader.readuntil(b"\r\n")
        ls.status = int(line.split()[1])
        headers = {}
        while (h := await reader.readuntil(b"\r\n")) != b"\r\n":
            k, _, v = h.partition(b":")
            headers[k.strip().lower()] = v.strip().lower()
        ls.chunked = b"chunked" in headers.get(b"transfer-encoding", b"")

        def got(data: bytes) -> None:
            if data and math.isnan(ls.first_body_s):
                ls.first_body_s = time.perf_counter() - t0
            parts.append(data)

        if ls.chunked:
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    break
                got(await reader.readexactly(size))
                await reader.readexactly(2)
        elif b"content-length" in headers:
            left = int(headers[b"content-length"])
            while left > 0:
                data = await reader.read(min(left, 1 << 20))
                if not data:
                    raise asyncio.IncompleteReadError(b"", left)
                left -= len(data)
                got(data)
        else:
            while data := await reader.read(1 << 20):
                got(data)
        ls.total_s = time.perf_counter() - t0
        ls.server_cpu = t.cpu() - s0
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
    body = b"".join(parts)
    ls.bytes = len(body)
    if ls.status != 200:
        ls.wrong = f"HTTP {ls.status} {body[:100].decode(errors='replace')}"
        return ls
    try:
        doc = json.loads(body)
        users = doc["data"] if isinstance(doc, dict) else doc
        ls.users = len(users)
    except (ValueError, KeyError, TypeError) as e:
        ls.wrong = f"not a whole JSON list ({type(e).__name__})"
        return ls
    if ls.users != expect_users:
        ls.wrong = f"{ls.users:,} users listed, {expect_users:,} expected"
    return ls


async def listings(t: Tessera, token: str, ph: Phase, users: int, rss: RssSampler,
                   quiet: Quiet) -> None:
    """Every user, once through each list endpoint, with the RSS around it."""
    for path in ("/api/v1/users", "/v0/users"):
        label = f"GET {path} at {ph.size:,}"

        async def attempt(path=path, label=label) -> Listing:
            before = t.rss_mib()
            rss.window = label
            try:
                ls = await read_list(t, path, token, users)
            finally:
                rss.window = "listed"
            ls.rss_before, ls.rss_after = before, t.rss_mib()
            ls.rss_peak = nanmax(before, rss.peak_of(label), ls.rss_after)
            rss.peak.pop(label, None)
            return ls

        ls = await quiet.phase(label, attempt)
        ph.listings.append(ls)
        log(f"  {label}: {ls.users:,} users, {ls.bytes / 2**20:,.1f} MiB, first byte "
            f"{ls.first_byte_s * 1000:,.1f} ms, total {ls.total_s:.2f} s; RSS "
            f"{ls.rss_before:.0f} -> peak {ls.rss_peak:.0f} -> {ls.rss_after:.0f} MiB"
            + (f"; {ls.wrong}" if ls.wrong else ""))


# --------------------------------------------------------------------------- run

def nanmax(*values: float) -> float:
    known = [v for v in values if not math.isnan(v)]
    return max(known) if known else math.nan


def cores(cpu_s: float, wall_s: float) -> float:
    return cpu_s / wall_s if wall_s else math.nan


def dir_mib(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total / 2**20


async def run(args, workdir: Path, res: Results) -> None:
    t = Server(args.binary, workdir / "store", "tessera", env=CHEAP_ARGON2,
                logfile=workdir / "tessera.log")
    res.start_s, _ = await t.start()
    rss = RssSampler(t.pid())
    rss.start()
    rng = random.Random(args.seed)
    d = Directory(args.users)
    try:
        await asyncio.sleep(2)
        res.rss_idle = t.rss_mib()
        res.rss_idle_split = process_rss_split_mib(t.pid())
        log(f"idle RSS {res.rss_idle:.1f} MiB (2 s after start; /healthz 200 after "
            f"{res.start_s * 1000:.0f} ms)")
        http = Http(t.port)
        try:
            await call(http, "POST", "/api/v1/users/bootstrap", ADMIN, expect=(201,))
            token = (await call(http, "POST", "/api/v1/users/login", ADMIN))["token"]
        finally:
            await http.close()
        res.list_phase = max([s for s in args.phase_sizes if s <= args.list_at]
                             or args.phase_sizes[:1])
        before = 0
        for size in args.phase_sizes:
            ph = Phase(size, before)
            res.phases.append(ph)
            log(f"phase {len(res.phases)}: {before:,} -> {size:,} users")
            rss.window = f"phase {size}"
            await grow(t, token, d, ph, args, res.quiet)
            ph.rss_after = t.rss_mib()
            await lookups(t, token, d, ph, args, res.quiet, rng)
            ph.rss_peak = nanmax(rss.peak_of(f"phase {size}"), ph.rss_after, t.rss_mib())
            log(f"  RSS {ph.rss_after:.0f} MiB after the creation, peak {ph.rss_peak:.0f} MiB "
                f"during the phase")
            if size == res.list_phase and not ph.stopped:
                # Every user this run made, and the admin.
                await listings(t, token, ph, d.count + 1, rss, res.quiet)
            before = d.count
            if ph.stopped:
                log(f"  {ph.stopped}: the directory grows no further")
                break
        res.store_mib = dir_mib(workdir / "store")
    finally:
        await rss.stop()
        t.stop()


# --------------------------------------------------------------------------- report

def mark(ok: bool | None) -> str:
    return "" if ok is None else (" ✓" if ok else " ✗")


def fmt_n(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000:,}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000:,}k"
    return f"{n:,}"


def mb(mib: float) -> str:
    return "—" if mib is None or math.isnan(mib) else f"{mib:,.1f}"


def within_mb(mib: float, goal_mb: float) -> bool | None:
    return None if math.isnan(mib) else mib / MIB_PER_MB <= goal_mb


def p_ms(run: Run | None, q: float) -> float:
    return math.nan if run is None or not run.lat else pct(run.lat, q) * 1000


def growth(a: float, b: float) -> float:
    return a / b if b and not (math.isnan(a) or math.isnan(b)) else math.nan


def store_memory() -> str:
    """The embedded store's memory bounds this run's Tessera was given: `[database]
    memtable_mib` and `block_cache_mib` of config/default.toml, or their `TESSERA__DATABASE__…`
    overrides."""
    keys = ("memtable_mib", "block_cache_mib")
    values: dict = {}
    with contextlib.suppress(OSError, RuntimeError):
        values = default_settings("database", keys)
    for key in keys:
        values[key] = os.environ.get(f"TESSERA__DATABASE__{key.upper()}", values.get(key, "?"))
    return (f"the embedded SurrealKV keeps at most a {values['memtable_mib']} MiB memtable and a "
            f"{values['block_cache_mib']} MiB block cache (`[database] memtable_mib`, "
            f"`block_cache_mib`)")


def report(res: Results, args, m: dict, version: str, load_end: str) -> str:
    phases = [ph for ph in res.phases if ph.post is not None]
    L = ["## Scale", ""]
    L.append(
        f"`bench/scale/run.sh` ({m['date']}): Tessera ({version}; store `surrealkv://`, one "
        f"fresh store, argon2 at 1 MiB × 1 iteration since hashing is not measured), its "
        f"directory grown in phases to {fmt_n(args.phase_sizes[-1])} users; client asyncio "
        f"with a minimal HTTP/1.1 keep-alive client on the same machine, one connection per "
        f"client. Machine: {m['nproc']} CPUs ({m['usable']} usable), {m['cpu']}, {m['mem']}, "
        f"Linux {m['kernel']}, load average {m['load']} at start, {load_end} at the end. "
        f"Goals: issue #12 item 2.")
    L += run_caveats(args, "a tiny run")
    L.append("")

    # Creation.
    L.append(f"**Creation**: `POST /v0/users` with `{{\"user\":{{\"email\":\"…\"}}}}` (201), "
             f"{args.clients} clients each with one request in flight; the rate is the users "
             f"created ÷ the wall time of the series.")
    L.append("")
    L.append("| phase: users before → after | created by `POST /v0/users` | users/s | "
             "p50 / p99 (ms) | server CPU cores | client CPU cores | other processes' CPU "
             "cores | seeded before it through SCIM `/Bulk` | goal |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for ph in phases:
        r = ph.post
        seeded = (f"{ph.bulk_users:,} at {ph.bulk_rate:,.0f}/s "
                  f"({cores(ph.bulk_server_cpu, ph.bulk_s):.2f} cores)" if ph.bulk_users
                  else "—")
        stop = f" (**{ph.stopped}**)" if ph.stopped else ""
        L.append(f"| {ph.before:,} → {ph.reached:,}{stop} | {r.items:,} | **{fmt_rate(r.rate)}** | "
                 f"{fmt_ms(r.p50)} / {fmt_ms(r.p99)} | {cores(r.server_cpu, r.wall):.2f} | "
                 f"{cores(ph.client_cpu, r.wall):.2f} | {ph.others:.2f} | {seeded} | "
                 f"≥ {GOAL_RATE:,.0f}/s{mark(r.rate >= GOAL_RATE if r.items else None)} |")
    if len(phases) >= 2:
        first, last = phases[0].post, phases[-1].post
        g = growth(first.rate, last.rate)
        L.append(f"| first phase's rate ÷ last phase's ({fmt_n(phases[0].size)} ÷ "
                 f"{fmt_n(phases[-1].reached)}) | | {g:.2f}× | | | | | | "
                 f"≤ {GOAL_FLAT:g}×{mark(None if math.isnan(g) else g <= GOAL_FLAT)} |")
    L.append("")

    # Lookups.
    L.append(f"**Lookups** after each phase: one client, one request at a time, "
             f"{args.lookups:,} random existing users by id (`GET /v0/users/{{uuid}}`), then "
             f"{args.lookups:,} others by email (`GET /v0/users/{{email}}`), after {WARMUP} of "
             f"warm-up; each timed from its send to the whole answer read.")
    L.append("")
    L.append("| users | by id: p50 / p99 (ms) | by id: answered by the user-record cache | "
             "by email: p50 / p99 (ms) | server CPU per lookup by id / by email (ms) | "
             "goal: p50 < 1 ms |")
    L.append("|---|---|---|---|---|---|")
    for ph in phases:
        a, b = ph.by_id, ph.by_email
        if a is None or b is None:
            continue
        ok = None if not (a.lat and b.lat) else max(a.p50, b.p50) < GOAL_P50_MS
        cached = "—" if a.from_cache is None else f"{a.from_cache:,} of {len(a.lat):,}"
        L.append(f"| {ph.reached:,} | {fmt_ms(a.p50)} / {fmt_ms(a.p99)} | {cached} | "
                 f"{fmt_ms(b.p50)} / {fmt_ms(b.p99)} | "
                 f"{fmt_ms(per_ms(a))} / {fmt_ms(per_ms(b))} | {mark(ok).strip() or '—'} |")
    looked = [ph for ph in phases if ph.by_id and ph.by_email]
    if len(looked) >= 2:
        lo, hi = looked[0], looked[-1]
        gi, ge = growth(hi.by_id.p50, lo.by_id.p50), growth(hi.by_email.p50, lo.by_email.p50)
        ok = None if math.isnan(gi) or math.isnan(ge) else max(gi, ge) <= GOAL_FLAT
        L.append(f"| p50 at {fmt_n(hi.reached)} ÷ p50 at {fmt_n(lo.reached)} | {gi:.2f}× | | "
                 f"{ge:.2f}× | | ≤ {GOAL_FLAT:g}×{mark(ok)} |")
    L.append("")

    # Memory.
    L.append(f"**Memory**: Tessera's `VmRSS` (MiB; the goals are in MB, 1 MB = "
             f"{MIB_PER_MB:.3f} MiB). The goal of {GOAL_LIST_MB:g} MB applies with "
             f"{fmt_n(GOAL_LIST_USERS)} users or more and is marked only there.")
    L.append("")
    L.append("| when | users | VmRSS (MiB) | peak meanwhile (MiB) | goal |")
    L.append("|---|---|---|---|---|")
    L.append(f"| idle, 2 s after start | 0 | **{mb(res.rss_idle)}** | | "
             f"≤ {GOAL_IDLE_MB:g} MB{mark(within_mb(res.rss_idle, GOAL_IDLE_MB))} |")

    def big(n: int) -> bool:
        return n >= GOAL_LIST_USERS

    for ph in phases:
        ok = within_mb(ph.rss_after, GOAL_LIST_MB) if big(ph.reached) else None
        L.append(f"| after creating them (phase {ph.before:,} → {ph.reached:,}), before its "
                 f"lookups | {ph.reached:,} | {mb(ph.rss_after)} | {mb(ph.rss_peak)} "
                 f"(the phase) | {goal_list_mb(ok)} |")
        for ls in ph.listings:
            n = ls.users or ph.reached
            ok_b = within_mb(ls.rss_before, GOAL_LIST_MB) if big(n) else None
            ok_a = within_mb(ls.rss_after, GOAL_LIST_MB) if big(n) else None
            L.append(f"| before listing them: `GET {ls.path}` | {n:,} | **{mb(ls.rss_before)}** "
                     f"| | {goal_list_mb(ok_b)} |")
            L.append(f"| after listing them: `GET {ls.path}` | {n:,} | **{mb(ls.rss_after)}** "
                     f"| {mb(ls.rss_peak)} (the listing) | {goal_list_mb(ok_a)} |")
    L.append("")

    # Listing.
    listed = [(ph, ls) for ph in phases for ls in ph.listings]
    if listed:
        L.append(f"**Listing** every user once, at {fmt_n(res.list_phase)} users (`--list-at`), "
                 "one request on a new connection, the body read as it arrives and then "
                 "checked whole (every user listed). The goal applies with "
                 f"{fmt_n(GOAL_LIST_USERS)} users or more and is marked only there.")
        L.append("")
        L.append("| endpoint | users listed | body (MiB) | first byte (ms) | first byte of the "
                 "list (ms) | total (s) | server CPU (s) | RSS peak − before (MiB) | goal |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for ph, ls in listed:
            ok = None if ls.wrong or ls.users < GOAL_LIST_USERS else ls.total_s <= GOAL_LIST_S
            what = f" (**{ls.wrong}**)" if ls.wrong else ""
            L.append(f"| `GET {ls.path}`{what} | {ls.users:,} | {ls.bytes / 2**20:,.1f} | "
                     f"{fmt_ms(ls.first_byte_s * 1000)} | {fmt_ms(ls.first_body_s * 1000)} | "
                     f"**{secs(ls.total_s)}** | {secs(ls.server_cpu)} | "
                     f"{mb(ls.rss_peak - ls.rss_before)} | ≤ {GOAL_LIST_S:g} s for "
                     f"{fmt_n(GOAL_LIST_USERS)}{mark(ok)} |")
        L.append("")

    # Notes.
    notes = []
    if res.failure:
        notes.append(f"**The run failed: {res.failure}**")
    errs = res.errors()
    if errs:
        notes.append("**Errors** (not counted as created or measured): " + "; ".join(errs) + ".")
    seeded = [ph for ph in phases if ph.bulk_users]
    if seeded:
        notes.append(
            "`--seed-bulk`: " + ", ".join(
                f"the phase to {fmt_n(ph.reached)} seeded {ph.bulk_users:,} users through SCIM "
                f"`/Bulk` ({args.bulk_size:,} per request, {args.seed_clients} in flight: "
                f"{ph.bulk_rate:,.0f} users/s)" for ph in seeded)
            + f"; its creation rate (the one held to the goal) is that of the last "
              f"{args.measure:,} users, created by `POST /v0/users` on the grown directory.")
        if SEED_STALLS[0]:
            notes.append(f"**Seeding stalled**: {SEED_STALLS[0]} `/Bulk` requests answered 503 "
                         f"(the domain's 30 s deadline passed), {SEED_STALLS[1]:.0f} s in all; each was "
                         "sent again, and creations a timed-out request had committed after all "
                         "answered 409 and were counted as created.")
    else:
        notes.append("Every user was created by `POST /v0/users` (no `--seed-bulk`): each "
                     "phase's rate is that of all its users.")
    notes.append(f"Users are counted as this run created them (`user0000001@{DOMAIN}`…); the "
                 f"directory also holds the admin (bootstrap), listed with them. Lookups pick "
                 f"users at random (seed {args.seed}) among all those created so far, drawn anew for "
                 f"each series (by id, by email, each attempt); each answer must be 200 with the id and the "
                 f"email asked for. The ids are those the creation answers gave.")
    if not math.isnan(res.rss_idle):
        anon, file = res.rss_idle_split
        notes.append(f"Idle RSS: **{res.rss_idle:.1f} MiB** "
                     f"({res.rss_idle / MIB_PER_MB:.1f} MB) against the goal of "
                     f"{GOAL_IDLE_MB:g} MB: {anon:.1f} MiB allocated (`RssAnon`) and {file:.1f} MiB "
                     f"of mapped file pages (`RssFile`: the executable's code, shared and "
                     f"reclaimable). With data, {store_memory()}.")
    for ph, ls in listed:
        notes.append(f"`GET {ls.path}` at {ls.users:,} users: RSS {mb(ls.rss_before)} MiB "
                     f"before, peak {mb(ls.rss_peak)} MiB (sampled every 100 ms), "
                     f"{mb(ls.rss_after)} MiB after, for a body of "
                     f"{ls.bytes / 2**20:,.1f} MiB"
                     + (" sent chunked" if ls.chunked else " with a Content-Length")
                     + "; its first byte left after "
                     f"{fmt_ms(ls.first_byte_s * 1000)} ms of {secs(ls.total_s)} s.")
    if res.phases:
        notes.append(f"Start → first `/healthz` 200: {res.start_s * 1000:,.0f} ms on the empty "
                     f"store; the store took {res.store_mib:,.0f} MiB on disk at the end.")
    notes += res.quiet.notes("this script and Tessera")
    notes.append("A creation phase is measured once (it grows the directory), whatever other "
                 "processes did meanwhile: their CPU cores (all cores busy, less this script and "
                 "Tessera) are beside it.")
    if len(args.phase_sizes) > len(phases) and not res.failure:
        notes.append("Phases not run (a phase before them stopped): "
                     + ", ".join(fmt_n(s) for s in args.phase_sizes[len(phases):]) + ".")
    rerun = " ".join(["bench/scale/run.sh"] + rerun_args_but_json())
    return end_section(L, notes, f"Run: `{rerun}` (see `bench/scale/README.md`).")


def secs(v: float) -> str:
    return "—" if math.isnan(v) else f"{v:.3f}" if v < 1 else f"{v:,.2f}"


def fmt_rate(v: float) -> str:
    return "—" if math.isnan(v) else f"{v:,.0f}"


def goal_list_mb(ok: bool | None) -> str:
    return f"≤ {GOAL_LIST_MB:g} MB" + (mark(ok) if ok is not None
                                       else f" at {fmt_n(GOAL_LIST_USERS)}")


def per_ms(r: Run) -> float:
    return r.server_cpu / len(r.lat) * 1000 if r.lat else math.nan


def run_json(r: Run | None) -> dict | None:
    if r is None:
        return None
    return {"label": r.label, "n": len(r.lat), "items": getattr(r, "items", len(r.lat)),
            "wall_s": r.wall, "rate_per_s": r.rate, "p50_ms": r.p50, "p99_ms": r.p99,
            "server_cpu_s": r.server_cpu, "errors": r.errors,
            "from_cache": getattr(r, "from_cache", None)}


def to_json(res: Results) -> dict:
    return {
        "start_s": res.start_s, "rss_idle_mib": res.rss_idle, "list_at": res.list_phase,
        "store_mib": res.store_mib, "failure": res.failure,
        "phases": [{
            "size": ph.size, "before": ph.before, "reached": ph.reached, "stopped": ph.stopped,
            "bulk_users": ph.bulk_users, "bulk_s": ph.bulk_s, "bulk_rate": ph.bulk_rate,
            "bulk_server_cpu_s": ph.bulk_server_cpu, "post": run_json(ph.post),
            "client_cpu_s": ph.client_cpu, "other_processes_cores": ph.others,
            "rss_after_mib": ph.rss_after, "rss_peak_mib": ph.rss_peak,
            "lookup_by_id": run_json(ph.by_id), "lookup_by_email": run_json(ph.by_email),
            "listings": [vars(ls) for ls in ph.listings]} for ph in res.phases],
        "other_processes_cores": res.quiet.others, "repeated": res.quiet.repeated}


# --------------------------------------------------------------------------- main

# Defaults; --quick takes the second value (each still overridden by its flag).
SIZES = {"users": (1_000_000, 1_000), "lookups": (2_000, 200), "list_at": (100_000, 1_000),
         "phase_budget": (3_600, 60)}


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_args(ap, SIZES, "a tiny run (sizes 200 and 1,000)")
    ap.add_argument("--users", type=int,
                    help="the directory's final size (1000000): the phases are 1k, 10k, 100k, "
                         "1M up to it, and it")
    ap.add_argument("--sizes", help="the phases' sizes instead, comma-separated, e.g. "
                                    "1000,10000 (--quick: 200,1000)")
    ap.add_argument("--clients", type=int, default=16,
                    help="concurrent clients creating users, one connection each (16)")
    ap.add_argument("--lookups", type=int, help="lookups by id, and by email, per size (2000)")
    ap.add_argument("--seed-bulk", action="store_true",
                    help="seed all but the last --measure users of a phase through SCIM /Bulk; "
                         "the phase's creation rate is then that of those last users")
    ap.add_argument("--measure", type=int, default=20_000,
                    help="with --seed-bulk: users created by POST /v0/users at the end of each "
                         "phase (20000)")
    ap.add_argument("--bulk-size", type=int, default=1000,
                    help="users per /Bulk request (1000, at most 1000)")
    ap.add_argument("--seed-clients", type=int, default=4,
                    help="/Bulk requests in flight while seeding (4)")
    ap.add_argument("--list-at", type=int,
                    help="list every user at the largest phase size not above this (100000)")
    ap.add_argument("--phase-budget", type=float,
                    help="seconds a phase may take to create its users; past them it stops, "
                         "and the directory grows no further (3600)")
    ap.add_argument("--seed", type=int, help="random seed of the lookups (random)")
    add_quiet_args(ap)
    ap.set_defaults(wait_idle=None)
    add_output_args(ap, "Scale", "store, log")
    a = ap.parse_args()
    apply_sizes(ap, a, SIZES)
    if a.wait_idle is None:     # --quick must stay well under a minute, even on a busy machine
        a.wait_idle = 0 if a.quick else 900
    if a.sizes:
        try:
            sizes = sorted({int(x.replace("_", "")) for x in a.sizes.split(",") if x.strip()})
        except ValueError:
            ap.error("--sizes: comma-separated numbers")
        if "--users" not in " ".join(sys.argv):
            a.users = sizes[-1] if sizes else a.users
    else:
        sizes = list(QUICK_SIZES if a.quick else LADDER)
    a.phase_sizes = [s for s in sizes if s <= a.users]
    if a.users not in a.phase_sizes:
        a.phase_sizes.append(a.users)
    if min(a.phase_sizes + [a.clients, a.lookups, a.measure, a.bulk_size,
                            a.seed_clients]) < 1 or a.phase_budget <= 0 or a.retries < 0:
        ap.error("sizes must be positive")
    if a.bulk_size > 1000:
        ap.error("--bulk-size: Tessera takes at most 1000 operations per /Bulk request")
    if a.seed is None:
        a.seed = random.randrange(1, 10**9)
    return a


async def amain(args, workdir: Path, m: dict, version: str) -> int:
    res = Results(quiet=Quiet(args.wait_idle, args.retries))
    try:
        await run(args, workdir, res)
    except Exception as e:   # report what was measured, and the failure
        res.failure = f"{type(e).__name__}: {e}".splitlines()[0][:300]
        log(f"failed:\n{traceback.format_exc()}")
        log(f"tessera log tail:\n{file_tail(workdir / 'tessera.log')}")
    failed = bool(res.failure or res.errors())
    load_end = " ".join(f"{x:.2f}" for x in os.getloadavg())
    section = report(res, args, m, version, load_end)
    return publish(args, section, "Scale", failed, {
        "machine": m, "version": version, "args": args_json(args), "results": to_json(res)})


def main() -> int:
    args = parse_args()
    if not check_binary(args):
        return 2
    m = machine()
    version = tessera_version(args.binary)
    log(f"phases {', '.join(f'{s:,}' for s in args.phase_sizes)}; {args.clients} clients; "
        f"{args.lookups:,} lookups per size"
        + (f"; --seed-bulk, the last {args.measure:,} of each phase by POST" if args.seed_bulk
           else ""))
    return in_workdir(args, "tessera-scale-bench-", f"{version}, machine {m}",
                      lambda workdir: amain(args, workdir, m, version))


if __name__ == "__main__":
    sys.exit(main())
