"""Application factory: ``create_app(settings)`` wires routers, errors, middleware and the database."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from app.auth.deps import credentials, document_credentials
from app.commitments.public import KeptTags
from app.config import Settings, get_settings
from app.db import ReadPool, create_engine, read_session_factory, session_factory
from app.errors import COMMON_PROBLEMS, PRIVATE_PROBLEMS, install_problem_schema, problem_responses
from app.events.hub import install as install_event_hub
from app.http_errors import install_error_handlers
from app.integrations.open311 import endpoints as open311
from app.integrations.open311 import format as open311_format
from app.kit import openapi as openapi_document
from app.kit.runtime import tune_gc
from app.middleware import RequestMiddleware
from app.observability import configure_logging, watch_pool
from app.replicas import LSN_HEADER, ReadYourWrites, Replicas, note_commit
from app.routers import PRIVATE_ROUTERS, PUBLIC_ROUTERS, SELF_DOCUMENTED_ROUTERS
from app.system.endpoints import calendar_warnings
from app.worker import install as install_housekeeping

DESCRIPTION = """
民情 Minqing tracks residents' requests (诉求 / 工单) through the community grid (网格):
from a grid worker's visit or a 12345 hotline ticket to the resident's rating.

Conventions: JSON in snake_case, RFC 3339 timestamps, UUIDv7 ids, keyset pagination
(`limit`, `cursor` → `next_cursor`), `ETag`/`If-Match` on single resources, `Idempotency-Key` on
creating POSTs, and RFC 9457 `application/problem+json` errors with a stable `code`. Cursors
(`next_cursor`, the sync feed's cursor) are opaque and signed: each only works unaltered, on the list
it came from and for the caller it was issued to — anything else is 422 `invalid_cursor`.

With read replicas, lists, stats, exports, the sync feed and Open311's reads may be served a few
seconds behind the latest writes. A write's response carries `X-Minqing-Lsn` (and a short-lived
`minqing_lsn` cookie): send the header back, or keep the cookie, and your reads see your writes.
"""


async def _warn_about_the_calendar(app: FastAPI) -> None:
    for warning in calendar_warnings(app.state.settings):
        logging.getLogger("minqing.calendar").error(warning)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if settings.env != "test":
        configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        watch_pool(engine)
        app.state.engine = engine
        app.state.sessionmaker = session_factory(engine)
        app.state.read_sessionmaker = read_session_factory(engine, autocommit=settings.db_pooler != "pgbouncer")
        app.state.read_pool = ReadPool(engine, settings)
        await app.state.read_pool.start()
        app.state.replicas = Replicas.open(settings, engine, app.state.read_pool)
        await app.state.replicas.start()
        if app.state.replicas.enabled:
            app.state.after_commit = note_commit
        try:
            for hook in app.state.startup_hooks:
                await hook(app)
            tune_gc()  # after start-up: what it built lives as long as the worker
            yield
        finally:
            for hook in reversed(app.state.shutdown_hooks):
                await hook(app)
            await app.state.replicas.close()
            await app.state.read_pool.close()
            await engine.dispose()

    # /docs (Swagger UI) and /redoc load their scripts and styles from this service, not from a CDN:
    # they work on an intranet and on a machine without internet.
    app = FastAPIOffline(
        title="Minqing 民情",
        version="1.0.0",
        description=DESCRIPTION,
        license_info={"name": "Apache-2.0", "identifier": "Apache-2.0"},
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url="/redoc",
        static_url="/docs-assets",
    )
    app.state.settings = settings
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []
    if settings.run_worker_in_process:
        from app.integrations.webhooks import worker

        worker.install(app)
    install_error_handlers(app)
    install_event_hub(app, settings)
    app.state.public_tags = KeptTags()  # the public notices' ETags, forgotten on every change
    app.state.events_hub.watch(app.state.public_tags)
    install_housekeeping(app, settings)
    app.state.startup_hooks.append(_warn_about_the_calendar)
    install_problem_schema(app)
    open311.install_openapi(app)
    # The private routers come first: a request is offered to each router in turn, and the busiest
    # routes (issues, stats) are private. No two routers' paths overlap, so the order changes nothing else.
    for router in PRIVATE_ROUTERS:
        # Private by default: every route below requires valid credentials (checked without the
        # database); each route then authenticates the account — by its role dependency, or in the
        # same statement as its read — and the matrix test checks that a deactivated account is
        # refused on every one.
        app.include_router(router, dependencies=[Depends(credentials)], responses=problem_responses(*PRIVATE_PROBLEMS))
    for router in PUBLIC_ROUTERS:
        app.include_router(router, responses=problem_responses(*COMMON_PROBLEMS))
    for router in SELF_DOCUMENTED_ROUTERS:
        app.include_router(router)
    document_credentials(app, PRIVATE_ROUTERS)
    openapi_document.install(app)  # last: finishes what the hooks above produced
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key", LSN_HEADER],
            expose_headers=["ETag", "Location", "Retry-After", "X-Request-ID", LSN_HEADER],
        )
    if settings.database_replica_urls:
        app.add_middleware(ReadYourWrites, sticky_seconds=settings.database_replica_sticky_seconds)
    if settings.db_pooler == "pgbouncer" and not settings.database_direct_url:
        logging.getLogger("minqing.db").warning(
            "MINQING_DB_POOLER=pgbouncer without MINQING_DATABASE_DIRECT_URL: LISTEN goes through the pooler, "
            "which does not keep it; live events and webhooks then wait for their next poll"
        )
    app.add_middleware(
        RequestMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        access_log_enabled=settings.access_log,
        error_formats={"/open311/": open311_format.refusal},
    )
    return app
