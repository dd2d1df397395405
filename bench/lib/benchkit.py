"""What the benchmark scripts under bench/ share (standard library only, Python 3.9+).

A script imports it with
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
    from benchkit import ...

  Http          a minimal HTTP/1.1 keep-alive client on asyncio streams, one connection
  server child  free_port, cpu_seconds, process_rss_mib, file_tail, stop_process
  measurements  pct (nearest-rank percentile), Run (latencies, errors, wall and server CPU)
  report        machine, tessera_version, fmt_ms, ratio, rerun_args, end_section,
                write_section (replaces a section of BENCHMARKS.md)
  main          default_binary, run_main, log
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import os
import platform
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SCIM_JSON = "application/scim+json"
JSON = "application/json"
CLK_TCK = os.sysconf("SC_CLK_TCK")


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

    async def request(self, method: str, path: str, body: bytes | None = None,
                      token: str | None = None, content_type: str = JSON,
                      accept: str = JSON) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAccept: {accept}\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
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
