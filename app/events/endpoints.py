"""GET /api/v1/events/stream — live changes in the caller's scope as Server-Sent Events (实时推送)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from app.auth.deps import api_key_scheme, bearer_scheme, credentials_of, principal_for
from app.config import SettingsDep
from app.db import SessionDep
from app.events import service
from app.events.hub import BATCH, Event, Hub, Subscriber, hub_of, parse_event_id
from app.kit.routing import Router
from app.scope import Principal, invalid_token
from app.stats.service import STATS_READERS

router = Router(prefix="/api/v1/events", tags=["stats"])


async def stream_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
    access_token: Annotated[
        str | None,
        Query(description="the bearer token, for EventSource clients that cannot send headers"),
    ] = None,
) -> Principal:
    if bearer is None and request.headers.get("authorization"):
        raise invalid_token()  # a header that is not a bearer token is refused, not ignored
    if bearer is None and access_token:
        bearer = HTTPAuthorizationCredentials(scheme="Bearer", credentials=access_token)
    creds = credentials_of(settings, bearer, api_key)
    return await principal_for(request, session, creds, STATS_READERS)


def _frame(event: Event) -> str:
    return f"id: {event.id}\nevent: {event.name}\ndata: {json.dumps(event.data(), ensure_ascii=False)}\n\n"


@router.get(
    "/stream",
    operation_id="events_stream",
    summary="Live changes (实时推送) as Server-Sent Events",
    description=(
        "Server-Sent Events for every change of an issue (`event: issue`), a 民情日记 entry "
        "(`event: diary`) or a dispute (`event: dispute`) in the caller's area subtree. `data` is "
        "`{type, id, area_id, op, changed_at}` — ids only, no personal data; fetch what you need.\n\n"
        "- `id:` is `<txid>-<seq>`, increasing along the stream (changes are sent in commit-safe "
        "order: a change is sent once no older transaction can still commit before it). Reconnect "
        "with `Last-Event-ID` (EventSource does this by itself) to resume without losses; if more "
        f"than {BATCH} changes were missed, an `event: reset` asks the client to reload everything. "
        "A `Last-Event-ID` that is not such an id is 422 `invalid_cursor`.\n"
        "- A comment line (`: heartbeat`) every ~15 s keeps proxies from closing the connection.\n"
        "- Authentication: `Authorization: Bearer …`, or `?access_token=…` because EventSource "
        "cannot send headers (the access log never records query strings).\n"
        "- Each server process holds a bounded number of streams: beyond it, 503 "
        "`too_many_streams` with `Retry-After`."
    ),
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "the event stream"},
        401: {"description": "No or invalid credentials"},
        403: {"description": "Role may not read stats (`role_not_allowed`)"},
        422: {"description": "`Last-Event-ID` is not an event id of this stream (`invalid_cursor`)"},
        503: {"description": "Too many streams on this server (`too_many_streams`), with Retry-After"},
    },
)
async def events_stream(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(stream_principal)],
    last_event_id: Annotated[str | None, Header(description="resume after this event id")] = None,
) -> StreamingResponse:
    resume = parse_event_id(last_event_id)
    hub = hub_of(request.app)
    sub = hub.subscribe(principal)  # before the replay, so nothing falls between the two
    try:
        replay, reset = await service.replay(session, principal, resume) if resume is not None else ([], False)
    except BaseException:
        hub.unsubscribe(sub)
        raise
    heartbeat = settings.sse_heartbeat_seconds
    return StreamingResponse(
        _stream(hub, sub, replay, reset, resume, heartbeat),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(
    hub: Hub, sub: Subscriber, replay: list[Event], reset: bool, last: tuple[int, int] | None, heartbeat: float
) -> AsyncIterator[str]:
    try:
        yield "retry: 3000\n: connected\n\n"
        for event in replay:
            yield _frame(event)
            last = event.key
        if reset:
            yield "event: reset\ndata: {}\n\n"
        while True:
            try:
                event = await asyncio.wait_for(sub.queue.get(), heartbeat)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if event is None:  # shutting down, or too slow: the client reconnects
                return
            if last is not None and event.key <= last:
                continue
            last = event.key
            yield _frame(event)
    finally:
        hub.unsubscribe(sub)
