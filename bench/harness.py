"""Start servers on loopback, drive them with wrk, and collect figures. Everything here is bounded:
servers are stopped at the end, wrk runs for a fixed duration, only 127.0.0.1 is targeted."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "report.lua"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit(
            "wrk is not installed. On Debian/Ubuntu: `apt-get install wrk` (it is the load generator: "
            "written in C, it is not the bottleneck on 2 cores the way a Python client would be)."
        )
    return wrk


@dataclass
class Result:
    scenario: str
    target: str
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int
    statuses: dict[str, int] | None = None  # responses per status code, when counted
    app_cpu_ms: float | None = None  # CPU time of the server's workers per request (user + system)
    db_cpu_ms: float | None = None  # CPU time of the PostgreSQL server's processes per request

    def as_dict(self) -> dict:
        return asdict(self)


def run_wrk(
    url_base: str,
    targets: list[tuple[str, ...]],
    *,
    scenario: str,
    target: str,
    connections: int,
    duration: int,
    method: str = "GET",
    gen: str = "",
    idempotent: bool = False,
    with_area: bool = False,
    count_statuses: bool = False,
    forwarded: bool = False,
    threads: int = 2,
) -> Result:
    """Drive ``url_base`` for ``duration`` seconds. ``targets`` are rows ``(path, token, if_none_match,
    *args)`` taken round-robin (see ``wrk/report.lua``); ``gen`` makes a body per request."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", dir=ROOT / "var", delete=False) as f:
        f.write("\n".join("\t".join(str(x) for x in row) for row in targets) + "\n")
        targets_file = f.name
    env = {
        **os.environ,
        "BENCH_TARGETS": targets_file,
        "BENCH_METHOD": method,
        "BENCH_GEN": gen,
        "BENCH_IDEMPOTENT": "1" if idempotent else "0",
        "BENCH_WITH_AREA": "1" if with_area else "0",
        "BENCH_STATUSES": "1" if count_statuses else "0",
        "BENCH_FORWARDED": "1" if forwarded else "0",
    }
    cmd = [
        require_wrk(),
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        url_base + targets[0][0],
    ]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=duration + 60, check=True).stdout
    finally:
        os.unlink(targets_file)
    line = next(line for line in out.splitlines() if line.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = data["duration_us"] / 1e6
    return Result(
        scenario=scenario,
        target=target,
        rps=data["requests"] / seconds if seconds else 0.0,
        p50_ms=data["p50_ms"],
        p95_ms=data["p95_ms"],
        p99_ms=data["p99_ms"],
        max_ms=data["max_ms"],
        requests=data["requests"],
        errors=data["errors"],
        statuses=data.get("statuses") if count_statuses else None,
    )


RUNNING: dict[str, subprocess.Popen] = {}
"""The servers started by :func:`server`, by base URL."""


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children, in seconds."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def postmaster_pid() -> int | None:
    """The bench's own PostgreSQL server (``var/bench-pg``), when it runs it."""
    try:
        return int((ROOT / "var" / "bench-pg" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def cpu_per_request(base: str) -> Iterator[Callable[[Result], Result]]:
    """Measure the CPU the server at ``base`` and the PostgreSQL server spend while the block runs;
    yields a function that writes both, per request, into a :class:`Result`."""
    proc = RUNNING.get(base)
    db = postmaster_pid() if not os.environ.get("BENCH_DATABASE_URL") else None
    app0 = cpu_seconds(proc.pid) if proc else None
    db0 = cpu_seconds(db) if db else None

    def fill(res: Result) -> Result:
        if res.requests:
            if proc and app0 is not None:
                res.app_cpu_ms = round((cpu_seconds(proc.pid) - app0) * 1000 / res.requests, 2)
            if db and db0 is not None:
                res.db_cpu_ms = round((cpu_seconds(db) - db0) * 1000 / res.requests, 2)
        return res

    yield fill


@contextmanager
def server(cmd: list[str], *, env: dict[str, str], port: int, ready_path: str, name: str) -> Iterator[subprocess.Popen]:
    """Start a server process group, wait until ``ready_path`` answers 200, stop it afterwards."""
    log = open(ROOT / "var" / f"bench-{name}.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
    RUNNING[f"http://127.0.0.1:{port}"] = proc
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited early; see var/bench-{name}.log")
            try:
                if httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready after 60 s; see var/bench-{name}.log")
            time.sleep(0.3)
        yield proc
    finally:
        RUNNING.pop(f"http://127.0.0.1:{port}", None)
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()


def worker_rss_mb(proc: subprocess.Popen) -> list[float]:
    """RSS of each uvicorn worker, in MB: the supervisor's children started by multiprocessing's
    ``spawn_main`` (not the resource tracker, not the supervisor itself)."""
    try:
        kids = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        return []
    sizes = []
    for child in kids:
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                sizes.append(round(child.memory_info().rss / 1e6, 1))
        except psutil.Error:
            continue
    return sizes


@contextmanager
def profiled(proc: subprocess.Popen | None, name: str, seconds: int) -> Iterator[None]:
    """With ``BENCH_PROFILE`` set to a folder, sample every uvicorn worker of ``proc`` with py-spy
    for ``seconds`` while the block runs: one collapsed-stack file per worker (``<name>.<pid>.txt``,
    for ``python -m bench.profile``) and one flame graph (``.svg``). Without it, nothing happens."""
    folder = os.environ.get("BENCH_PROFILE")
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not folder or proc is None:
        yield
        return
    if not Path(spy).exists():
        raise SystemExit("BENCH_PROFILE needs py-spy: pip install py-spy")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    slug = "-".join("".join(c if c.isascii() and c.isalnum() else " " for c in name).split())[:40]
    spies = []
    for pid in worker_pids(proc):
        args = ["record", "-p", str(pid), "-d", str(seconds), "-r", "200", "-f", "raw", "--nonblocking"]
        target = str(out / f"{slug}.{pid}.txt")
        spies.append(subprocess.Popen([spy, *args, "-o", target], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        yield
    finally:
        for spy_proc in spies:
            try:
                spy_proc.wait(timeout=seconds + 30)
            except subprocess.TimeoutExpired:
                spy_proc.kill()


def worker_pids(proc: subprocess.Popen) -> list[int]:
    """The uvicorn workers of a server started by :func:`server`."""
    try:
        kids = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        return []
    pids = []
    for child in kids:
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                pids.append(child.pid)
        except psutil.Error:
            continue
    return pids


def python() -> str:
    return sys.executable
