"""The ``minqing`` command: serve, migrate, seed the demo, manage users and areas, run the embedded DB."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.config import Settings, get_settings

app = typer.Typer(help="民情 Minqing: residents' requests through the community grid.", no_args_is_help=True)
db_app = typer.Typer(help="The embedded PostgreSQL server used when DATABASE_URL is not set.")
app.add_typer(db_app, name="db")
stats_app = typer.Typer(help="The stats aggregates (三率) kept by triggers.")
app.add_typer(stats_app, name="stats")
storage_app = typer.Typer(help="Where attachments' bytes live (MINQING_STORAGE_URL).")
app.add_typer(storage_app, name="storage")
console = Console(stderr=True)


@app.callback()
def _every_command() -> None:
    """民情 Minqing: residents' requests through the community grid."""
    # Any command may import the metrics (the client library fails at import without the directory).
    _metrics_dir(default=None, fresh=False)


def _direct_url(settings: Settings) -> str:
    """Where migrations (a session-level advisory lock) and maintenance go: MINQING_DATABASE_DIRECT_URL
    when the service reaches PostgreSQL through a pooler, else the database URL."""
    return settings.database_direct_url or _database_url(settings)


def _database_url(settings: Settings, *, start_embedded: bool = True) -> str:
    """DATABASE_URL, or the embedded server's URL (started if needed, stopped when this process exits)."""
    if settings.database_url:
        return settings.database_url
    if not start_embedded:
        raise typer.BadParameter("DATABASE_URL is not set")
    from app import dbserver

    _, url = dbserver.start(settings.pg_data_dir, cleanup="stop")
    console.print(f"[green]embedded PostgreSQL[/] running in {settings.pg_data_dir} ({url})")
    return url


def _migrate(url: str, *, downgrade_to: str | None = None, allow_data_loss: bool = False) -> None:
    """Upgrade to head (or downgrade to ``downgrade_to``); refused when data would be lost (exit 3)."""
    from alembic import command

    from app.migration_guard import DataLossRefused
    from app.migrations_state import alembic_config

    cfg = alembic_config(url)
    cfg.attributes["allow_data_loss"] = allow_data_loss
    try:
        if downgrade_to is None:
            command.upgrade(cfg, "head")
        else:
            command.downgrade(cfg, downgrade_to)
    except DataLossRefused as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(3) from exc
    for loss in cfg.attributes.get("data_lost") or []:
        console.print(f"[yellow]data dropped as allowed: {loss}[/]")


def _ensure_jwt_secret(settings: Settings) -> None:
    if settings.jwt_secret.get_secret_value():
        return
    if settings.env == "prod":
        console.print("[red]MINQING_JWT_SECRET must be set in production[/]")
        raise typer.Exit(2)
    path = Path("var/jwt_secret")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    os.environ["MINQING_JWT_SECRET"] = path.read_text().strip()


def _ensure_data_keys(settings: Settings) -> None:
    """Development keys for encrypted personal data, persisted so data stays readable across runs."""
    import base64

    for env, attr in (("MINQING_DATA_KEY", "data_key"), ("MINQING_BLIND_INDEX_KEY", "blind_index_key")):
        if getattr(settings, attr).get_secret_value():
            continue
        if settings.env == "prod":
            console.print(f"[red]{env} must be set in production[/]")
            raise typer.Exit(2)
        path = Path("var") / attr
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
            path.chmod(0o600)
        os.environ[env] = path.read_text().strip()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, envvar="MINQING_WORKERS", help="uvicorn worker processes")] = 1,
    demo: Annotated[bool, typer.Option("--demo", help="load the demo data into an empty database")] = False,
    migrate: Annotated[bool, typer.Option("--migrate/--no-migrate", help="apply migrations first")] = True,
) -> None:
    """Run the API (migrations first; with --demo, demo data into an empty database)."""
    import uvicorn

    settings = get_settings()
    url = _database_url(settings)
    os.environ["DATABASE_URL"] = url
    _ensure_jwt_secret(settings)
    _ensure_data_keys(settings)
    get_settings.cache_clear()
    if migrate:
        _migrate(settings.database_direct_url or url)
    if demo:
        from app.demo.load import DEMO_LOGINS, seed_demo

        created = asyncio.run(seed_demo(url))
        console.print("[green]demo data loaded[/]" if created else "demo data already present")
        _print_logins(DEMO_LOGINS)
    _metrics_dir(default=Path("var/prometheus") if workers > 1 else None, fresh=True)
    # This process is uvicorn's supervisor with --workers N: the workers log through the app's
    # handler, and so must it, or a worker that died and the one started instead go unreported.
    from app.observability import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    console.print(f"serving on http://{host}:{port}  (OpenAPI: http://{host}:{port}/docs)")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )


def _metrics_dir(*, default: Path | None, fresh: bool) -> None:
    """Make sure ``PROMETHEUS_MULTIPROC_DIR`` exists before anything imports the metrics.

    Each process creates what it needs: the image sets the variable for every command, and the
    client library fails at import when the directory is missing. ``default`` is used when the
    variable is unset (several API workers share their counters there); ``fresh`` (the API at start)
    removes the files of a previous run, which would otherwise be counted again."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not configured:
        if default is None:
            return
        configured = str(default.resolve())
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = configured
    path = Path(configured)
    if fresh and path.is_dir():
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
    path.mkdir(parents=True, exist_ok=True)


def _print_logins(logins: list[tuple[str, str, str, str]]) -> None:
    table = Table(title="Demo logins (演示账号)")
    for col in ("username", "password", "role", "area"):
        table.add_column(col)
    for row in logins:
        table.add_row(*row)
    Console().print(table)


@app.command("worker")
def worker_cmd(
    check: Annotated[
        bool, typer.Option("--check", help="exit 0 if a running worker's heartbeat is fresh, 1 otherwise (healthcheck)")
    ] = False,
) -> None:
    """Deliver webhooks (回调投递) and SLA notices, compact the stats and purge expired rows, until
    SIGTERM or Ctrl-C; run one or more per deployment (with MINQING_RUN_WORKER_IN_PROCESS=false)."""
    from app.observability import configure_logging

    settings = get_settings()
    if check:
        from app.worker import check_heartbeat

        problem = check_heartbeat(settings.worker_heartbeat_file, settings.worker_heartbeat_max_age_seconds)
        if problem:
            console.print(f"[red]unhealthy:[/] {problem}")
            raise typer.Exit(1)
        console.print("healthy")
        return
    os.environ["DATABASE_URL"] = _database_url(settings)
    get_settings.cache_clear()
    configure_logging(settings.log_level, settings.log_json)  # deliveries and failures reach the log
    asyncio.run(_run_worker(get_settings()))
    console.print("worker stopped")


async def _run_worker(settings: Settings) -> None:
    import signal

    from app.db import create_engine, session_factory
    from app.integrations.webhooks import worker
    from app.worker import heartbeat, housekeeping

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    engine = create_engine(settings)
    sessions = session_factory(engine)
    console.print("[green]worker running[/]: webhooks, SLA notices, housekeeping (SIGTERM or Ctrl-C to stop)")
    try:
        await asyncio.gather(
            worker.serve(sessions, settings, stop),
            housekeeping(sessions, settings, stop),
            heartbeat(sessions, settings.worker_heartbeat_file, stop),
        )
    finally:
        stop.set()
        await engine.dispose()


@app.command("migrate")
def migrate_cmd(
    downgrade: Annotated[
        str | None, typer.Option("--downgrade", metavar="REV", help="downgrade to REV (e.g. base) instead")
    ] = None,
    allow_data_loss: Annotated[
        bool,
        typer.Option(
            "--allow-data-loss", help="apply revisions that drop tables or columns holding data (back up first)"
        ),
    ] = False,
) -> None:
    """Apply database migrations (alembic upgrade head), or downgrade with --downgrade REV.

    A revision that drops or narrows tables or columns holding data (every downgrade does) is
    refused unless --allow-data-loss is given.
    """
    settings = get_settings()
    _migrate(_direct_url(settings), downgrade_to=downgrade, allow_data_loss=allow_data_loss)
    console.print("[green]migrations applied[/]")


@app.command("seed-demo")
def seed_demo_cmd() -> None:
    """Load the demo data (周至县 and 如意庄社区, drawn from real community reports) into an empty database."""
    from app.demo.load import DEMO_LOGINS, seed_demo

    settings = get_settings()
    url = _database_url(settings)
    _ensure_data_keys(settings)
    get_settings.cache_clear()
    _migrate(url)
    created = asyncio.run(seed_demo(url))
    console.print("[green]demo data loaded[/]" if created else "demo data already present; nothing changed")
    _print_logins(DEMO_LOGINS)


@app.command("create-user")
def create_user_cmd(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option(help="grid_worker, community_admin, street_admin, admin, …")],
    area_code: Annotated[str, typer.Option(help="code of the user's home area")],
    display_name: Annotated[str | None, typer.Option()] = None,
    password: Annotated[str | None, typer.Option(help="prompted when omitted")] = None,
) -> None:
    """Create a staff account (the first admin of a deployment is made this way)."""
    from app.auth.roles import Role

    try:
        role_enum = Role(role)
    except ValueError:
        raise typer.BadParameter(f"role must be one of {', '.join(r.value for r in Role)}") from None
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise typer.BadParameter("password must have at least 8 characters")
    url = _database_url(get_settings())
    asyncio.run(_create_user(url, username, role_enum, area_code, display_name or username, password))
    console.print(f"[green]user {username} created[/]")


async def _create_user(url: str, username: str, role: Any, area_code: str, display_name: str, password: str) -> None:
    from app.auth.models import User
    from app.auth.security import hash_password
    from app.db import create_engine, session_factory
    from app.grids import repository as areas

    engine = create_engine(get_settings(), url=url, pool_size=1, max_overflow=0)
    try:
        async with session_factory(engine)() as session, session.begin():
            found = await areas.by_codes(session, [area_code])
            if area_code not in found:
                raise typer.BadParameter(f"no area with code {area_code}")
            session.add(
                User(
                    username=username,
                    display_name=display_name,
                    password_hash=hash_password(password),
                    role=role.value,
                    home_area_id=found[area_code].id,
                )
            )
    finally:
        await engine.dispose()


@app.command("purge-changes")
def purge_changes_cmd() -> None:
    """Drop change-feed rows older than ``change_retention_days`` (run daily; older cursors get 410)."""
    settings = get_settings()
    removed = asyncio.run(_purge_changes(_database_url(settings), settings))
    console.print(f"[green]{removed} change(s) purged[/]")


async def _purge_changes(url: str, settings: Settings) -> int:
    import datetime as dt

    from app.db import create_engine, session_factory
    from app.kit import clock
    from app.sync.changes import purge_older_than

    engine = create_engine(settings, url=url, pool_size=1, max_overflow=0)
    try:
        async with session_factory(engine)() as session, session.begin():
            cutoff = clock.now() - dt.timedelta(days=settings.change_retention_days)
            return await purge_older_than(session, cutoff)
    finally:
        await engine.dispose()


@app.command("import-areas")
def import_areas_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="GeoJSON FeatureCollection")],
) -> None:
    """Import or update areas from a GeoJSON FeatureCollection (properties: code, name, level, parent_code)."""
    from app.errors import AppError
    from app.grids.service import parse_feature_collection

    try:
        features = parse_feature_collection(json.loads(file.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        console.print(f"[red]{file} is not JSON: {exc}[/]")
        raise typer.Exit(1) from exc
    except AppError as exc:
        _print_problem(exc)
        raise typer.Exit(1) from exc
    url = _database_url(get_settings())
    _migrate(url)
    try:
        stats = asyncio.run(_import(url, features))
    except AppError as exc:
        _print_problem(exc)
        raise typer.Exit(1) from exc
    console.print(f"[green]{stats.created} created, {stats.updated} updated[/]")


def _print_problem(exc: Any) -> None:
    console.print(f"[red]{exc.detail}[/]")
    for e in exc.errors[:20]:
        console.print(f"  {e.get('field')}: {e.get('message')}")


async def _import(url: str, features: list[dict[str, Any]]) -> Any:
    from app.db import create_engine, session_factory
    from app.grids.service import import_features

    engine = create_engine(get_settings(), url=url, pool_size=1, max_overflow=0)
    try:
        with Progress(
            TextColumn("importing areas"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("areas", total=len(features))
            async with session_factory(engine)() as session, session.begin():
                return await import_features(
                    session,
                    features,
                    tolerance=get_settings().area_containment_tolerance,
                    scope_path=None,
                    on_each=lambda: progress.advance(task),
                )
    finally:
        await engine.dispose()


@app.command("purge")
def purge_cmd() -> None:
    """Delete every row past its retention now (the worker does it every hour by itself): idempotency
    keys, rate-limit and sign-in counters, the change feed, processed outbox rows, finished deliveries."""
    settings = get_settings()
    counts = asyncio.run(_purge(_database_url(settings), settings))
    console.print("purged " + ", ".join(f"{n} from {table}" for table, n in counts.items()))


async def _purge(url: str, settings: Settings) -> dict[str, int]:
    from app.db import create_engine, session_factory
    from app.worker import purge_expired

    engine = create_engine(settings, url=url, pool_size=1, max_overflow=0)
    try:
        return await purge_expired(session_factory(engine), settings)
    finally:
        await engine.dispose()


@app.command("maintain")
def maintain_cmd() -> None:
    """Make the partitions of the coming days and months and drop those past retention now (the
    worker does it every hour by itself); see the README's housekeeping table."""
    settings = get_settings()
    outcomes = asyncio.run(_maintain(_direct_url(settings), settings))
    for table, outcome in outcomes.items():
        line = f"{table}: {len(outcome.created)} created, {len(outcome.dropped)} dropped"
        if outcome.kept:
            line += f", {len(outcome.kept)} past retention kept (still needed)"
        console.print(line)


async def _maintain(url: str, settings: Settings) -> dict[str, Any]:
    from app.db import create_engine, session_factory
    from app.kit.partitions import TABLES
    from app.worker import maintain_partitions

    engine = create_engine(settings, url=url, pool_size=1, max_overflow=0)
    try:
        with Progress(
            TextColumn("partitions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("tables", total=len(TABLES))
            outcomes = await maintain_partitions(
                session_factory(engine), settings, on_each=lambda table, outcome: progress.advance(task)
            )
    finally:
        await engine.dispose()
    missing = [spec.table for spec in TABLES if spec.table not in outcomes]
    if missing:
        console.print(f"[red]not maintained (see the log): {', '.join(missing)}[/]")
        raise typer.Exit(1)
    return dict(outcomes)


@stats_app.command("rebuild")
def stats_rebuild_cmd() -> None:
    """Recompute every stats aggregate from the raw tables (after a bulk load, or a time-zone change).

    Writers wait while it runs; the aggregates are rebuilt for the configured time zone."""
    settings = get_settings()
    asyncio.run(_stats(_direct_url(settings), "rebuild"))
    console.print(f"stats aggregates rebuilt ({settings.timezone})")


@stats_app.command("compact")
def stats_compact_cmd() -> None:
    """Fold the aggregates' delta rows now (the service does it every minute by itself)."""
    folded = asyncio.run(_stats(_direct_url(get_settings()), "compact"))
    console.print(f"folded {folded} delta rows")


async def _stats(url: str, what: str) -> int:
    """Plain asyncpg without the request timeouts: a rebuild of millions of issues takes minutes."""
    import asyncpg

    from app.db import to_async_url
    from app.stats import repository

    conn = await asyncpg.connect(to_async_url(url).replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        if what == "rebuild":
            await repository.rebuild_unbounded(conn, get_settings().timezone)
            return 0
        return await repository.compact_unbounded(conn)
    finally:
        await conn.close()


@storage_app.command("migrate")
def storage_migrate_cmd(
    source: Annotated[
        str | None, typer.Option("--from", help="where the files are now (default: the local attachments_dir)")
    ] = None,
    target: Annotated[str | None, typer.Option("--to", help="where they go (default: MINQING_STORAGE_URL)")] = None,
    delete_source: Annotated[bool, typer.Option(help="delete each file from the source once it is verified")] = False,
    jobs: Annotated[int, typer.Option(min=1, max=32, help="files copied at a time")] = 4,
) -> None:
    """Copy every attachment the database knows from one storage to another (file:// or s3://).

    Each copy is checked against the size and SHA-256 recorded at upload. Idempotent and resumable: files
    already in the target at their recorded size are skipped, so an interrupted run is simply run again.
    Exits 1 if any file is missing from the source or arrives corrupt (listed)."""
    from app.kit.storage import default_url, open_storage

    settings = get_settings()
    source_url = source or Path(settings.attachments_dir).resolve().as_uri()
    target_url = target or default_url(settings)
    if source_url.rstrip("/") == target_url.rstrip("/"):
        console.print(f"[red]source and target are the same storage ({source_url}); name them with --from/--to[/]")
        raise typer.Exit(2)
    try:
        stores = open_storage(settings, source_url), open_storage(settings, target_url)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    from app.errors import AppError

    try:
        report = asyncio.run(_storage_migrate(_database_url(settings), settings, *stores, delete_source, jobs))
    except Exception as exc:
        while isinstance(exc, BaseExceptionGroup) and exc.exceptions:  # from the copies running side by side
            exc = exc.exceptions[0]  # type: ignore[assignment]
        if not isinstance(exc, AppError):
            raise
        console.print(f"[red]{exc.detail} Nothing is lost: run the command again.[/]")
        raise typer.Exit(1) from exc
    console.print(
        f"[green]{report.copied} copied, {report.already_there} already there[/]"
        + (f", {report.deleted_from_source} deleted from the source" if delete_source else "")
    )
    for key in report.missing:
        console.print(f"[red]missing from the source: {key}[/]")
    for key in report.corrupt:
        console.print(f"[red]size or SHA-256 differs from the upload's, not copied: {key}[/]")
    if report.failed:
        raise typer.Exit(1)


async def _storage_migrate(
    url: str, settings: Settings, source: Any, target: Any, delete_source: bool, jobs: int
) -> Any:
    from app import stored_files
    from app.db import create_engine
    from app.kit.storage import Entry, MigrationReport, migrate_one

    report = MigrationReport()
    engine = create_engine(settings, url=url, pool_size=1, max_overflow=0)
    try:
        total = await stored_files.count(engine)
        with Progress(
            TextColumn("moving attachments"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("files", total=total)
            slots = asyncio.Semaphore(jobs)

            async def one(entry: Entry) -> None:
                async with slots:
                    await migrate_one(source, target, entry, report, delete_source=delete_source)
                    progress.advance(task)

            async for page in stored_files.pages(engine):
                async with asyncio.TaskGroup() as group:
                    for entry in page:
                        group.create_task(one(entry))
    finally:
        await engine.dispose()
    return report


@db_app.command("start")
def db_start() -> None:
    """Start the embedded server in the background and print its URL (it keeps running)."""
    from app import dbserver

    settings = get_settings()
    _, url = dbserver.start(settings.pg_data_dir, cleanup=None)
    print(url)


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded server."""
    from app import dbserver

    stopped = dbserver.stop(get_settings().pg_data_dir)
    console.print("stopped" if stopped else "not running")


@db_app.command("url")
def db_url() -> None:
    """Print the URL of the embedded server (starting it if needed; it keeps running)."""
    from app import dbserver

    _, url = dbserver.start(get_settings().pg_data_dir, cleanup=None)
    print(url)


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
