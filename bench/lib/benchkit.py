"""What the benchmark scripts under bench/ share (standard library only, Python 3.9+).

A script imports it with
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
    from benchkit import ...

  Http          a minimal HTTP/1.1 keep-alive client on asyncio streams, one connection;
                call (one request whose answer must be the expected one), call_again, run_all
  children      Child (a server on a free loopback port, stopped by its PID, dying with the
                script), Tessera (`tessera serve` on a surrealkv:// directory, or on a SurrealDB
                server), SurrealServer (`surreal start` on a surrealkv:// directory),
                start_nginx, free_port, cpu_seconds, process_rss_mib, file_tail, stop_process,
                stop_all
  quiet machine Quiet (wait until no build runs, measure again when other processes were
                busy), Others, builds_running
  measurements  pct (nearest-rank percentile), Run (latencies, errors, wall and server CPU),
                series (GET a path n times), RssSampler, bulk_users (SCIM /Bulk seeding)
  report        machine, tessera_version, surreal_version, tool_version, fmt_ms, ratio,
                rerun_args, rerun_args_but_json, end_section, write_section (replaces a
                section of BENCHMARKS.md)
  main          default_binary, peer_target, default_surreal, add_run_args, add_quiet_args,
                add_output_args, apply_sizes, check_binary, in_workdir, publish, run_main, log
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import datetime as dt
import json
import math
import os
import platform
import re
import secrets
import shlex
import signal
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SCIM_JSON = "application/scim+json"
JSON = "application/json"
HTML = "text/html"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# argon2 at 1 MiB × 1 iteration: for the benchmarks that do not measure password hashing.
CHEAP_ARGON2 = {"TESSERA__AUTH__ARGON2__MEMORY_KIB": "1024",
                "TESSERA__AUTH__ARGON2__ITERATIONS": "1"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- HTTP client

class TransportError(Exception):
    pass


class Http:
    """One HTTP/1.1 keep-alive connection (reopened when the server closes it, as HTTP/1.0
    servers do)."""

    def __init__(self, port: int) -> None:
        self.host, self.port = "127.0.0.1", port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.reused = False
        self.reply_headers: dict = {}

    async def request(self, method: str, path: str, body: bytes | None = None,
                      token: str | None = None, content_type: str = JSON,
                      accept: str = JSON, headers: dict | None = None) -> tuple[int, bytes]:
        """One request; `headers`: more header lines (a cookie, an origin). The answer's
        headers are kept in `self.reply_headers` (lower-case bytes)."""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAccept: {accept}\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        if body is not None:
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        return await self.exchange(head.encode() + b"\r\n" + (body or b""))

    async def exchange(self, data: bytes) -> tuple[int, bytes]:
        """Sends one whole request (head and body); returns (status, body)."""
        for attempt in (0, 1):
            if self.writer is None:
                try:
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                except OSError as e:
                    raise TransportError(f"connect: {type(e).__name__}") from e
                self.reused = False
            got_bytes = [False]
            try:
                self.writer.write(data)
                status, payload, keep = await self._response(got_bytes)
            except (OSError, asyncio.IncompleteReadError, ValueError) as e:
                reused = self.reused
                await self.close()
                # A kept-alive connection the server closed meanwhile: send again, once.
                if attempt == 0 and reused and not got_bytes[0]:
                    continue
                raise TransportError(type(e).__name__) from e
            self.reused = True
            if not keep:
                await self.close()
            return status, payload
        raise AssertionError

    async def _response(self, got_bytes: list) -> tuple[int, bytes, bool]:
        line = await self.reader.readuntil(b"\r\n")
        got_bytes[0] = True
        version, status = line.split(b" ", 2)[:2]
        headers = {}
        while True:
            h = await self.reader.readuntil(b"\r\n")
            if h == b"\r\n":
                break
            k, _, v = h.partition(b":")
            headers[k.strip().lower()] = v.strip().lower()
        code = int(status)
        self.reply_headers = headers
        conn = headers.get(b"connection", b"")
        keep = (b"close" not in conn) if version == b"HTTP/1.1" else (b"keep-alive" in conn)
        if code in (204, 304) or 100 <= code < 200:
            return code, b"", keep
        if b"chunked" in headers.get(b"transfer-encoding", b""):
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    while await self.reader.readuntil(b"\r\n") != b"\r\n":
                        pass
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            return code, b"".join(parts), keep
        if b"content-length" in headers:
            return code, await self.reader.readexactly(int(headers[b"content-length"])), keep
        return code, await self.reader.read(), False

    async def close(self) -> None:
        w, self.reader, self.writer = self.writer, None, None
        if w is not None:
            w.close()
            with contextlib.suppress(Exception):
                await w.wait_closed()


# --------------------------------------------------------------------------- HTTP calls

# (path, status) -> a hint added to the message of an Unexpected answer of that kind.
HINTS: dict = {}


class Unexpected(RuntimeError):
    """An answer other than the one expected (its status in `status`)."""

    def __init__(self, method: str, path: str, status: int, payload: bytes) -> None:
        self.status = status
        text = payload[:200].decode(errors="replace")
        super().__init__(f"{method} {path}: HTTP {status} {text}{HINTS.get((path, status), '')}")


async def call(http: Http, method: str, path: str, obj=None, token: str | None = None,
               expect: tuple = (200,), content_type: str = JSON, headers: dict | None = None):
    """One request whose answer must be `expect`; returns the decoded JSON body."""
    body = None if obj is None else json.dumps(obj, separators=(",", ":")).encode()
    status, payload = await http.request(method, path, body, token, content_type,
                                         accept=content_type, headers=headers)
    if status not in expect:
        raise Unexpected(method, path, status, payload)
    return json.loads(payload) if payload else None


async def call_again(retried: dict, what: str, again: tuple, first, then=None, tries: int = 20):
    """`first()`, and while it fails with a status in `again`, `then()` (default `first`)
    after a short pause, counting each retry in `retried[what]`."""
    attempt = first
    for n in range(tries):
        try:
            return await attempt()
        except Unexpected as e:
            if e.status not in again or n == tries - 1:
                raise
            retried[f"{what} HTTP {e.status}"] = retried.get(f"{what} HTTP {e.status}", 0) + 1
            attempt = then or first
            await asyncio.sleep(0.05 * (n + 1))


async def run_all(coros) -> None:
    """Runs the coroutines concurrently; the first failure cancels the others and is raised."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in done:
            if t.exception() is not None:
                raise t.exception()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# --------------------------------------------------------------------------- server child

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User + system CPU time of a process (with `children`, also of its reaped children),
    from /proc; NaN when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15 if children else 13]) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return float("nan")


def process_rss_mib(pid: int) -> float:
    """VmRSS of a process in MiB, from /proc; NaN when it cannot be read."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def default_settings(section: str, keys: tuple[str, ...]) -> dict[str, int]:
    """The integer `keys` of `[section]` in config/default.toml: the defaults the server runs
    with. RuntimeError when the section or a key is missing."""
    text = (REPO / "config" / "default.toml").read_text()
    found = re.search(rf"^\[{re.escape(section)}\]\s*\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
    if not found:
        raise RuntimeError(f"config/default.toml has no [{section}] section")
    values = {}
    for key in keys:
        m = re.search(rf"^{key}\s*=\s*(\d+)", found.group(1), re.M)
        if not m:
            raise RuntimeError(f"config/default.toml: [{section}] has no {key}")
        values[key] = int(m.group(1))
    return values


def process_rss_split_mib(pid: int) -> tuple[float, float]:
    """(RssAnon, RssFile) of a process in MiB: what it allocated, and the pages of files it
    maps (its executable's code, mostly), which the kernel shares and may drop; NaNs when they
    cannot be read."""
    found = {}
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("RssAnon:", "RssFile:")):
                found[line.split(":")[0]] = int(line.split()[1]) / 1024
    return found.get("RssAnon", float("nan")), found.get("RssFile", float("nan"))


def file_tail(path: Path, n: int = 30) -> str:
    """The last `n` lines of a (log) file, "" when it cannot be read."""
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    return ""


def stop_process(p: subprocess.Popen | None) -> None:
    """Stops a child by its PID (SIGTERM, then SIGKILL after 10 s), unless it has exited."""
    if p is None or p.poll() is not None:
        return
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def die_with_parent() -> None:
    """In the child before exec: the kernel kills it if this script dies (even by SIGKILL)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


# Children alive right now, so that a script can stop them whatever happened (stop_all).
LIVE: set = set()


def stop_all() -> None:
    """Stops every child still alive, by its PID."""
    for child in list(LIVE):
        child.stop()


class Child:
    """A server child process on a free loopback port, stopped by its PID, killed by the kernel
    if the script dies."""

    def __init__(self, label: str, logfile: Path) -> None:
        self.label, self.logfile = label, logfile
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def spawn(self, argv: list[str], env: dict | None = None, cwd: Path | None = None,
              header: str = "") -> None:
        """Starts `argv`, its output appended to the log file (after `header`, if any)."""
        out = open(self.logfile, "ab")
        try:
            if header:
                out.write(header.encode())
                out.flush()
            self.proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=cwd,
                                         start_new_session=True, preexec_fn=die_with_parent)
        finally:
            out.close()
        LIVE.add(self)

    async def until_200(self, path: str, token: str | None = None, t0: float | None = None,
                        timeout: float = 120, interval: float = 0.005) -> float:
        """Polls GET `path` (a new connection each time, every `interval` s) until it answers
        200; returns the seconds since `t0` (perf_counter; default: now). 401 or 403 will not
        change by waiting: raised at once."""
        t0 = time.perf_counter() if t0 is None else t0
        last = "no answer"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.proc.returncode} at start:\n"
                                   f"{self.log_tail()}")
            http = Http(self.port)
            try:
                status, payload = await http.request("GET", path, token=token)
                if status == 200:
                    return time.perf_counter() - t0
                last = f"HTTP {status} {payload[:100].decode(errors='replace')}"
                if status in (401, 403):
                    raise RuntimeError(f"{self.label}: GET {path} at start: {last}")
            except TransportError as e:    # not listening yet
                last = str(e)
            finally:
                await http.close()
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"{self.label}: GET {path} not 200 after {timeout:.0f} s "
                                   f"({last}):\n{self.log_tail()}")
            await asyncio.sleep(interval)

    def pid(self) -> int:
        return self.proc.pid if self.proc else -1

    def cpu(self) -> float:
        """CPU seconds of the process and of its live children (nginx's workers), from /proc."""
        return float("nan") if self.proc is None else tree_cpu_s(self.proc.pid)

    def rss_mib(self) -> float:
        return float("nan") if self.proc is None else process_rss_mib(self.proc.pid)

    def log_tail(self, n: int = 30) -> str:
        return file_tail(self.logfile, n)

    def stop(self) -> None:
        """Stops the child by its PID (SIGTERM, then SIGKILL after 10 s)."""
        p, self.proc = self.proc, None
        LIVE.discard(self)
        stop_process(p)


class Tessera(Child):
    """`tessera serve` on one data directory (`surrealkv://<datadir>/tessera.db`, log level
    warn), on a fresh free port at each start. `endpoint` (with `db_username`, `db_password`):
    another database instead, e.g. a SurrealDB server's `ws://127.0.0.1:PORT` (the data
    directory is then only the server's working directory); a shared endpoint (not
    `surrealkv://`, not `mem://`) needs a master key: a random one is set for this object
    unless `env` holds TESSERA__AUTH__SECRET. `env`: settings for every start (e.g.
    CHEAP_ARGON2), `unset`: variables of this environment the server must not inherit;
    `extra_env` may be changed between starts. The log goes to `logfile` (default
    `<datadir>.log` beside the directory)."""

    def __init__(self, binary: Path, datadir: Path, label: str = "tessera",
                 env: dict | None = None, unset: tuple = (), logfile: Path | None = None,
                 endpoint: str | None = None, db_username: str = "",
                 db_password: str = "") -> None:
        super().__init__(label, logfile or datadir.parent / f"{datadir.name}.log")
        self.binary, self.datadir = binary, datadir
        database = {"TESSERA__DATABASE__ENDPOINT":
                    endpoint or f"surrealkv://{datadir / 'tessera.db'}"}
        if endpoint:
            database.update(TESSERA__DATABASE__USERNAME=db_username,
                            TESSERA__DATABASE__PASSWORD=db_password)
        self.fixed_env, self.unset = {**database, **(env or {})}, unset
        self.endpoint = self.fixed_env["TESSERA__DATABASE__ENDPOINT"]
        if not self.endpoint.startswith(("surrealkv://", "mem://")):
            self.fixed_env.setdefault("TESSERA__AUTH__SECRET", secrets.token_urlsafe(48))
        self.extra_env: dict = {}
        self.starts = 0

    def store(self) -> str:
        """The database endpoint's scheme: surrealkv, mem, ws, wss."""
        return self.endpoint.split("://", 1)[0]

    def env(self) -> dict:
        env = dict(os.environ,
                   TESSERA__SERVER__BIND=f"127.0.0.1:{self.port}",
                   TESSERA__SERVER__EXTERNAL_URL=f"http://127.0.0.1:{self.port}",
                   TESSERA__LOG__LEVEL="warn")
        env.update(self.fixed_env)
        env.update(self.extra_env)
        for k in self.unset:
            env.pop(k, None)
        return env

    async def start(self, probe: tuple[str, str] | None = None, timeout: float = 600,
                    interval: float = 0.002, from_spawn: bool = True) -> tuple[float, float]:
        """Starts the server; returns (s to the first /healthz 200, s to the first 200 of
        GET `probe[0]` with token `probe[1]`, NaN without a probe), counted from just before
        the spawn, or with `from_spawn` False from just after it."""
        if self.proc is not None:
            raise RuntimeError(f"{self.label}: already running")
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.starts += 1
        t0 = time.perf_counter()
        self.spawn([str(self.binary), "serve"], env=self.env(), cwd=self.datadir.parent,
                   header=f"\n--- start {self.starts} on port {self.port}\n")
        if not from_spawn:
            t0 = time.perf_counter()
        health = await self.until_200("/healthz", None, t0, timeout, interval)
        tenant = float("nan")
        if probe:
            tenant = await self.until_200(probe[0], probe[1], t0, timeout, interval)
        return health, tenant

    def cpu(self) -> float:
        """User + system CPU seconds of the server (it has no children), from /proc."""
        return float("nan") if self.proc is None else cpu_seconds(self.proc.pid, children=False)

    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class SurrealServer(Child):
    """A SurrealDB server (`<binary> start`: the `surreal` command line, e.g. the
    surrealdb-test-server of tests/peers/surrealdb-server) with root credentials `user` /
    `password`, log level warn, its store a `surrealkv://` directory `datadir` (None:
    `memory`), on a free loopback port, the working directory `datadir`'s parent. Tessera
    reaches it at `endpoint()` (ws://127.0.0.1:PORT) with `user` and `password`."""

    def __init__(self, binary: Path, datadir: Path | None, label: str = "surrealdb",
                 logfile: Path | None = None, user: str = "root",
                 password: str = "root") -> None:
        if logfile is None and datadir is None:
            raise ValueError("SurrealServer: a logfile is needed without a datadir")
        super().__init__(label, logfile or datadir.parent / f"{datadir.name}.log")
        self.binary, self.datadir = binary, datadir
        self.user, self.password = user, password

    def store(self) -> str:
        return "memory" if self.datadir is None else f"surrealkv://{self.datadir}"

    async def start(self, timeout: float = 120) -> float:
        """Starts the server; returns the seconds from the spawn to the first GET /health
        200 (it accepts connections then)."""
        if self.proc is not None:
            raise RuntimeError(f"{self.label}: already running")
        cwd = self.logfile.parent
        if self.datadir is not None:
            self.datadir.parent.mkdir(parents=True, exist_ok=True)
            cwd = self.datadir.parent
        self.port = free_port()
        t0 = time.perf_counter()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SURREAL_")}
        self.spawn([str(self.binary), "start", "--user", self.user, "--pass", self.password,
                    "--bind", f"127.0.0.1:{self.port}", "--log", "warn", "--no-banner",
                    self.store()], env=env, cwd=cwd,
                   header=f"\n--- {self.binary} start on port {self.port}, {self.store()}\n")
        return await self.until_200("/health", None, t0, timeout, 0.05)

    def endpoint(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def cpu(self) -> float:
        """User + system CPU seconds of the server (no children), from /proc."""
        return float("nan") if self.proc is None else cpu_seconds(self.proc.pid, children=False)


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/nginx-tmp/body;
    proxy_temp_path {dir}/nginx-tmp/proxy;
    fastcgi_temp_path {dir}/nginx-tmp/fastcgi;
    uwsgi_temp_path {dir}/nginx-tmp/uwsgi;
    scgi_temp_path {dir}/nginx-tmp/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    server {{
        listen 127.0.0.1:{port};
        location / {{
{location}
        }}
    }}
}}
"""


def nginx_binary() -> str:
    """nginx's path (Debian puts it in /usr/sbin, not always on PATH)."""
    for c in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if c and os.access(c, os.X_OK):
            return c
    raise RuntimeError("nginx not found (the benchmark's run.sh installs it: "
                       "apt-get install nginx)")


def nginx_fixed_body(body: str) -> str:
    """nginx's `location /` answering `return 200` with a fixed JSON body."""
    if "$" in body or "\n" in body:
        raise RuntimeError("the fixed body cannot hold `$` or a newline in nginx's `return`")
    escaped = body.replace("\\", "\\\\").replace("'", "\\'")
    return f"            default_type application/json;\n            return 200 '{escaped}';"


def nginx_static(root: Path) -> str:
    """nginx's `location /` serving the files of `root` as HTML."""
    return f"            root {root};\n            default_type text/html;"


def start_nginx(workdir: Path, location: str) -> Child:
    """nginx (`worker_processes auto`, keep-alive without a request limit) with a minimal
    configuration in `workdir` (pid file, logs and temp paths there) and `location` as its
    only `location /`, on a free loopback port."""
    n = Child("nginx", workdir / "nginx.log")
    n.port = free_port()
    (workdir / "nginx-tmp").mkdir(exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=workdir, port=n.port, location=location))
    n.spawn([nginx_binary(), "-p", str(workdir), "-e", str(workdir / "nginx-error.log"),
             "-c", str(conf)])
    return n


# --------------------------------------------------------------------------- quiet machine

QUIET_CORES = 0.25    # CPU other processes may use while the machine counts as quiet


def builds_running() -> list[str]:
    """The cargo/rustc processes running now (another build on the same cores)."""
    found = []
    for name in ("cargo", "rustc"):
        with contextlib.suppress(OSError):
            out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True)
            found += [f"{name} {pid}" for pid in out.stdout.split()]
    return found


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: all but idle and iowait)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = f
        return (user + nice + system + irq + softirq + steal) / CLK_TCK
    return float("nan")


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is `pid`, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and of its live children (nginx's workers), from /proc."""
    return cpu_seconds(pid, children=False) + sum(cpu_seconds(c, children=False)
                                                  for c in children_of(pid))


def ours_s() -> float:
    """CPU seconds of this script with its children, reaped (their time is then in ours) or
    live (load generators, the servers and nginx's workers)."""
    return cpu_seconds(os.getpid(), children=True) + sum(tree_cpu_s(c)
                                                         for c in children_of(os.getpid()))


class Others:
    """CPU used by other processes of the machine during a measurement, in cores."""

    def __init__(self) -> None:
        self.t0, self.busy0, self.ours0 = time.perf_counter(), machine_busy_s(), ours_s()

    def cores(self) -> float:
        wall = time.perf_counter() - self.t0
        return max(0.0, ((machine_busy_s() - self.busy0) - (ours_s() - self.ours0)) / wall)


class Quiet:
    """Measuring on a shared machine: before each measurement, wait (at most `wait_idle` s;
    60 s once a wait has timed out; 0: never) until no cargo/rustc process runs and the other
    processes use less than QUIET_CORES cores; measure again (at most `retries` times) when
    they used QUIET_CORES or more meanwhile. What happened is kept for the report."""

    def __init__(self, wait_idle: float, retries: int) -> None:
        self.wait_idle, self.retries = wait_idle, retries
        self.waited_s = 0.0
        self.busy: list = []          # phases measured on a machine that was not quiet
        self.timed_out = False
        self.others: dict = {}        # measurement -> cores used by other processes meanwhile
        self.repeated: dict = {}      # measurement -> times it was measured again

    async def wait(self, phase: str) -> None:
        """Waits until the machine is quiet over 1–5 s; when it is not so by the limit,
        measures anyway and says so in the report."""
        if self.wait_idle <= 0:
            return
        limit = min(60.0, self.wait_idle) if self.timed_out else self.wait_idle
        t0 = time.monotonic()
        said = False
        while True:
            others = Others()
            await asyncio.sleep(5 if said else 1)
            busy = builds_running()
            load = others.cores()
            if not busy and load < QUIET_CORES:
                break
            why = (", ".join(busy[:4]) + " running" if busy else
                   f"other processes using {load:.2f} cores")
            if time.monotonic() - t0 > limit:
                log(f"{phase}: still not quiet after {limit:g} s ({why}): measuring anyway")
                self.busy.append(f"{phase} ({why})")
                self.timed_out = True
                break
            if not said:
                log(f"{phase}: waiting for a quiet machine ({why})")
                said = True
        self.waited_s += time.monotonic() - t0

    async def phase(self, label: str, attempt):
        """Waits for a quiet machine, then `await attempt()`; measures again when other
        processes used QUIET_CORES cores or more meanwhile. The cores they used during the
        attempt kept are recorded in `others`."""
        for n in range(self.retries + 1):
            await self.wait(label)
            others = Others()
            result = await attempt()
            self.others[label] = others.cores()
            if self.others[label] < QUIET_CORES or n == self.retries:
                return result
            self.repeated[label] = self.repeated.get(label, 0) + 1
            log(f"{label}: other processes used {self.others[label]:.2f} cores meanwhile: again")

    def notes(self, ours: str) -> list[str]:
        """The report's notes on it; `ours`: what the CPU of this run is (left out of
        "other processes")."""
        notes = []
        if self.others:
            worst = max(self.others, key=self.others.get)
            mean = sum(self.others.values()) / len(self.others)
            notes.append(f"CPU used by other processes of the machine during the measurements "
                         f"(all cores busy, less {ours}): mean {mean:.2f} cores, at most "
                         f"{self.others[worst]:.2f} ({worst}).")
        if self.wait_idle > 0:
            notes.append(f"Before each measurement the script waited for a quiet machine (no "
                         f"cargo/rustc running, other processes under {QUIET_CORES:g} cores over "
                         f"1–5 s): {self.waited_s:.0f} s in all.")
        if self.repeated:
            notes.append("Measured again because other processes used "
                         f"{QUIET_CORES:g} cores or more meanwhile (the last attempt is shown): "
                         + ", ".join(f"{k} {v}×" for k, v in self.repeated.items()) + ".")
        if self.busy:
            notes.append("**Measured on a machine that was not quiet (after waiting): "
                         f"{'; '.join(self.busy)}.**")
        return notes


# --------------------------------------------------------------------------- measurements

def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))]


@dataclass
class Run:
    """One timed series of requests: latencies (s), failures, wall and server CPU time."""
    label: str
    lat: list[float] = field(default_factory=list)
    errors: dict = field(default_factory=dict)
    wall: float = 0.0
    server_cpu: float = 0.0

    def fail(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    @property
    def rate(self) -> float:
        return len(self.lat) / self.wall if self.wall else float("nan")

    @property
    def p50(self) -> float:
        return pct(self.lat, 50) * 1000

    @property
    def p99(self) -> float:
        return pct(self.lat, 99) * 1000

    def summary(self) -> str:
        err = f", errors {self.errors}" if self.errors else ""
        return (f"{self.label}: {len(self.lat)} in {self.wall:.2f} s = {self.rate:,.0f}/s, "
                f"p50 {self.p50:.2f} ms, p99 {self.p99:.2f} ms, "
                f"server CPU {self.server_cpu:.1f} s{err}")


async def series(child: Child, run: Run | None, path: str, n: int, clients: int = 1,
                 check=None, token: str | None = None, accept: str = JSON,
                 headers: dict | None = None) -> None:
    """GET `path` n times, `clients` connections each with one request in flight; `check`
    gets (status, body) and says what is wrong, or None (default: not 200 is wrong); a
    request's latency is from its send to the whole answer read. The wall time and the
    child's CPU time are added to `run`. run None: warm-up, not recorded, and any failure is
    raised."""
    check = check or check_200
    left = iter(range(n))
    conns = [Http(child.port) for _ in range(clients)]
    sink = run or Run("warm-up")

    async def worker(http: Http) -> None:
        for _ in left:
            t = time.perf_counter()
            try:
                status, payload = await http.request("GET", path, token=token, accept=accept,
                                                     headers=headers)
            except TransportError as e:
                sink.fail(str(e))
                continue
            dt_ = time.perf_counter() - t
            wrong = check(status, payload)
            if wrong:
                sink.fail(wrong)
            else:
                sink.lat.append(dt_)

    try:
        t0, c0 = time.perf_counter(), child.cpu()
        await run_all(worker(c) for c in conns)
        sink.wall += time.perf_counter() - t0
        sink.server_cpu += child.cpu() - c0
    finally:
        for c in conns:
            await c.close()
    if run is None and sink.errors:
        raise RuntimeError(f"warm-up of GET {path}: {sink.errors}")


def check_200(status: int, payload: bytes) -> str | None:
    """series' default check: 200, whatever the body."""
    return None if status == 200 else f"HTTP {status}"


class RssSampler:
    """Samples a process' VmRSS every 100 ms; keeps the maximum per named window."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.window = "start"
        self.peak: dict = {}
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            v = process_rss_mib(self.pid)
            if not math.isnan(v):
                self.peak[self.window] = max(self.peak.get(self.window, 0.0), v)
            await asyncio.sleep(0.1)

    def peak_of(self, *windows: str) -> float:
        vs = [self.peak[w] for w in windows if w in self.peak]
        return max(vs) if vs else float("nan")

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


# --------------------------------------------------------------------------- seeding

def scim_user(name: str, email: str | None = None) -> dict:
    """A SCIM user without a password (hashing is not what seeding measures)."""
    return {"schemas": [USER_SCHEMA], "userName": name,
            "emails": [{"value": email or name, "type": "work", "primary": True}],
            "active": True}


async def bulk_users(conns: list[Http], prefix: str, token: str, body_of, first: int,
                     last: int, bulk_size: int, progress=None, label: str = "") -> None:
    """Creates the users `body_of(i)` for i in first..last through `<prefix>/scim/v2/Bulk`
    requests of `bulk_size` operations, sent over the connections `conns`, one request in
    flight on each; every operation must answer 201. `progress(n)`: n more users."""
    chunks = iter(range(first, last + 1, bulk_size))

    async def sender(conn: Http) -> None:
        for start in chunks:
            chunk = range(start, min(start + bulk_size, last + 1))
            reply = await call(conn, "POST", f"{prefix}/scim/v2/Bulk", {
                "schemas": [BULK_REQUEST],
                "Operations": [{"method": "POST", "path": "/Users", "bulkId": f"u{i}",
                                "data": body_of(i)} for i in chunk]},
                token=token, content_type=SCIM_JSON)
            ops = reply.get("Operations", [])
            bad = [op.get("status") for op in ops if str(op.get("status")) != "201"]
            if bad or len(ops) != len(chunk):
                raise RuntimeError(f"{label}/Bulk of {len(chunk)} users: {len(ops)} answers, "
                                   f"statuses {sorted(set(map(str, bad)))[:5]}")
            if progress:
                progress(len(chunk))

    await run_all(sender(c) for c in conns)


# --------------------------------------------------------------------------- report

def machine() -> dict:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {"nproc": os.cpu_count(), "usable": len(os.sched_getaffinity(0)), "cpu": model,
            "mem": mem, "kernel": platform.release(),
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def tessera_version(binary: Path) -> str:
    parts = []
    with contextlib.suppress(Exception):
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=20)
        parts.append((out.stdout or out.stderr).strip().splitlines()[0])
    with contextlib.suppress(Exception):
        rev = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=20).stdout.strip()
        if rev:
            parts.append(f"commit {rev}")
    with contextlib.suppress(OSError):
        built = dt.datetime.fromtimestamp(binary.stat().st_mtime, dt.timezone.utc)
        parts.append(f"binary built {built:%Y-%m-%d %H:%M} UTC")
    return ", ".join(parts)


def surreal_version(binary: Path) -> str:
    """`<binary> version` (e.g. "SurrealDB 3.3.5 for linux on x86_64"), whether it is a
    development (debug) build, and when the binary was built."""
    parts = []
    with contextlib.suppress(Exception):
        out = subprocess.run([str(binary), "version"], capture_output=True, text=True,
                             timeout=20)
        text = out.stdout + out.stderr
        lines = [x.strip() for x in out.stdout.splitlines() if x.strip()]
        if lines:
            parts.append(f"SurrealDB {lines[-1]}")
        if "DEVELOPMENT BUILD" in text:
            parts.append("a development (debug) build")
    with contextlib.suppress(OSError):
        built = dt.datetime.fromtimestamp(binary.stat().st_mtime, dt.timezone.utc)
        parts.append(f"binary built {built:%Y-%m-%d %H:%M} UTC")
    return ", ".join(parts) or "SurrealDB (version unknown)"


def tool_version(argv: list[str]) -> str:
    """The first line a tool prints about its version, "?" when it cannot say."""
    with contextlib.suppress(Exception):
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        text = (out.stdout + out.stderr).strip().splitlines()
        if text:
            return text[0]
    return "?"


def fmt_ms(v: float) -> str:
    if v is None or math.isnan(v):
        return "—"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:,.0f}"


def ratio(a: float, b: float) -> tuple[str, float | None]:
    """a ÷ b as text ("—" when either is missing), and as a number (None then)."""
    if a is None or b is None or math.isnan(a) or math.isnan(b) or b == 0:
        return "—", None
    x = a / b
    return (f"{x:,.1f}×" if x >= 10 else f"{x:.2f}×"), x


def rerun_args() -> list[str]:
    """This run's arguments but --write, shell-quoted: for the section's `Run:` line."""
    return [shlex.quote(a) for a in sys.argv[1:] if a != "--write"]


def rerun_args_but_json() -> list[str]:
    """This run's arguments but --write and --json FILE (where the raw numbers went), quoted."""
    args, skip = [], False
    for a in rerun_args():
        if skip:
            skip = False
        elif a == "--json":
            skip = True
        elif not a.startswith("--json="):
            args.append(a)
    return args


def run_caveats(args: argparse.Namespace, quick_run: str = "a small run") -> list[str]:
    """The lines a report starts with when its figures are not for publishing: a debug build,
    or a --quick run."""
    lines: list[str] = []
    if "/debug/" in str(args.binary):
        lines += ["", "**Debug build: these numbers only show that the script works.**"]
    if args.quick:
        lines += ["", f"**`--quick`: {quick_run} to try the script, not the published numbers.**"]
    return lines


def end_section(lines: list[str], notes: list[str], run: str) -> str:
    """The section's text: `lines`, the notes as a list, a blank line, then the `run` line."""
    lines.extend(f"- {note}" for note in notes)
    lines.extend(["", run])
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str, heading: str) -> None:
    """Replaces the `## <heading>` section of a Markdown file (appended when missing), and
    says so on stderr."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^## {re.escape(heading)}[ \t]*\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
    log(f"wrote the ## {heading} section of {path}")


# --------------------------------------------------------------------------- main

def default_binary() -> Path:
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        return Path(target) / "release" / "tessera"
    return Path.home() / ".cache" / "tessera" / "target" / "release" / "tessera"


def peer_target() -> Path:
    """Where scripts/setup --peers builds the peers (the SurrealDB server):
    $TESSERA_PEER_TARGET_DIR, default ~/.cache/tessera/peer-target."""
    target = os.environ.get("TESSERA_PEER_TARGET_DIR")
    return Path(target) if target else Path.home() / ".cache" / "tessera" / "peer-target"


def default_surreal() -> Path | None:
    """The release SurrealDB server of tests/peers/surrealdb-server when it is built
    (<peer target>/release/surrealdb-test-server), else None."""
    path = peer_target() / "release" / "surrealdb-test-server"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def add_run_args(ap: argparse.ArgumentParser, sizes: dict, what: str) -> None:
    """--binary and --quick (`what`: its help's first words; `sizes`: name -> (full, quick)
    defaults, the quick ones listed in the help)."""
    ap.add_argument("--binary", type=Path, default=default_binary(),
                    help="Tessera binary (default: $CARGO_TARGET_DIR/release/tessera, "
                         "else ~/.cache/tessera/target/release/tessera)")
    ap.add_argument("--quick", action="store_true",
                    help=f"{what}, to try the script (not with --write): defaults become "
                         + ", ".join(f"--{k.replace('_', '-')} {q:g}"
                                     for k, (_, q) in sizes.items()))


def add_quiet_args(ap: argparse.ArgumentParser) -> None:
    """--wait-idle and --retries, for a Quiet."""
    ap.add_argument("--wait-idle", type=float, default=900,
                    help="before each measurement, wait up to this many seconds until no "
                         "cargo/rustc process runs (900; 0: do not wait)")
    ap.add_argument("--retries", type=int, default=2,
                    help="measure again, at most this many times, a measurement during which "
                         f"other processes used {QUIET_CORES:g} cores or more (2)")


def add_output_args(ap: argparse.ArgumentParser, heading: str, keep: str) -> None:
    """--write (the `## heading` section), --benchmarks-file, --json, --keep (`keep`: what
    the temporary directory holds)."""
    ap.add_argument("--write", action="store_true",
                    help=f"replace the ## {heading} section of BENCHMARKS.md")
    ap.add_argument("--benchmarks-file", type=Path, default=REPO / "BENCHMARKS.md")
    ap.add_argument("--json", type=Path, help="also write the raw results as JSON")
    ap.add_argument("--keep", action="store_true",
                    help=f"keep the temporary directory ({keep})")


def apply_sizes(ap: argparse.ArgumentParser, a: argparse.Namespace, sizes: dict) -> None:
    """Each size not given takes its full or --quick default; --write with --quick is an
    error."""
    for k, (full, quick) in sizes.items():
        if getattr(a, k) is None:
            setattr(a, k, quick if a.quick else full)
    if a.quick and a.write:
        ap.error("--write with --quick: a quick run does not replace the published numbers")


def check_binary(args: argparse.Namespace) -> bool:
    """Whether --binary exists (says so on stderr when not); makes it absolute."""
    if not args.binary.exists():
        print(f"Tessera binary not found: {args.binary} (build it with `cargo build --release`, "
              "or pass --binary)", file=sys.stderr)
        return False
    args.binary = args.binary.resolve()
    return True


def in_workdir(args: argparse.Namespace, prefix: str, describe: str, amain_of) -> int:
    """Runs `amain_of(workdir)` (a coroutine) in a new temporary directory under run_main;
    then stops the children still alive and removes the directory (unless --keep)."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    log(f"workdir {workdir}, {describe}")
    try:
        return run_main(amain_of(workdir))
    finally:
        stop_all()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def args_json(args: argparse.Namespace) -> dict:
    """The arguments of a run, for its --json file."""
    return {k: str(v) for k, v in vars(args).items()}


def publish(args: argparse.Namespace, section: str, heading: str, failed: bool,
            raw: dict) -> int:
    """Prints the section; with --json writes `raw`; with --write replaces the section of
    BENCHMARKS.md, unless the run failed. Returns the exit code (1: failed)."""
    print(section)
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2))
    if args.write:
        if failed:
            log("not writing BENCHMARKS.md: the run failed")
        else:
            write_section(args.benchmarks_file, section, heading)
    return 1 if failed else 0


def run_main(coro) -> int:
    """Runs the script's main coroutine; returns its exit code, 130 when interrupted.
    SIGTERM (e.g. a CI timeout) unwinds like Ctrl-C, so that the servers are stopped."""
    def on_term(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
