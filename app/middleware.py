"""One pure-ASGI middleware for every request: request id, body limits, NUL bytes, metrics, access log."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import is_database_unavailable
from app.errors import AppError, PayloadTooLarge, ServiceUnavailable, ValidationFailed, field_error
from app.observability import LATENCY, REQUESTS, UNMATCHED_ROUTE, request_id_var

access_log = logging.getLogger("minqing.access")
log = logging.getLogger("minqing.errors")
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


ErrorFormat = Callable[[AppError, str], tuple[int, bytes, str]]
"""How a part of the service writes the refusals made here (body too large, NUL in the URL, the
database away) when it does not speak problem+json: ``(error, path)`` → status, body, media type."""


def _problem_json(err: AppError, path: str) -> tuple[int, bytes, str]:
    return err.status, json.dumps(err.to_problem(path), ensure_ascii=False).encode(), "application/problem+json"


async def _send_problem(send: Send, err: AppError, request_id: str, path: str, render: ErrorFormat) -> int:
    status, body, media_type = render(err, path)
    headers = [
        (b"content-type", media_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ] + [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status


class RequestMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_upload_bytes: int,
        access_log_enabled: bool = True,
        error_formats: Mapping[str, ErrorFormat] | None = None,
    ) -> None:
        """``error_formats``: path prefix → how refusals are written there (problem+json elsewhere)."""
        self.app = app
        self.error_formats = dict(error_formats or {})
        self.max_body = max_body_bytes
        self.max_upload = max_upload_bytes
        self.log_enabled = access_log_enabled

    async def _refuse(self, send: Send, err: AppError, request_id: str, path: str) -> int:
        """Answer ``err`` in the format of the part of the service ``path`` is in; the status sent."""
        render = next((r for prefix, r in self.error_formats.items() if path.startswith(prefix)), _problem_json)
        return await _send_problem(send, err, request_id, path, render)

    def _limit_for(self, path: str) -> int:
        # Attachments and offline batch uploads (up to 500 diary entries) may exceed the JSON limit.
        return self.max_upload if path.endswith(("/attachments", "/batch")) else self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        rid_raw = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = rid_raw if _REQUEST_ID_OK.match(rid_raw) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        path: str = scope.get("path", "")
        status_holder = {"status": 500}
        limit = self._limit_for(path)

        try:
            raw_path = scope.get("raw_path") or path.encode()
            if b"%00" in scope.get("query_string", b"") or b"%00" in raw_path or "\x00" in path:
                status_holder["status"] = await self._refuse(
                    send,
                    ValidationFailed(
                        "NUL characters are not allowed in URLs.",
                        code="nul_character",
                        errors=[field_error("query", "must not contain %00")],
                    ),
                    request_id,
                    path,
                )
                return
            length = headers.get(b"content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                status_holder["status"] = await self._refuse(send, self._too_large(limit), request_id, path)
                return

            content_type = headers.get(b"content-type", b"")
            overflow = {"hit": False}
            if content_type.lower().startswith(b"multipart/"):
                # Uploads pass through as they arrive (the form parser spools files to disk), counted on
                # the way: a file is never held whole in memory. They carry no NUL check to buffer for.
                body_problem, replay = None, self._counting(receive, limit, overflow)
            else:
                body_problem, replay = await self._read_body(receive, limit, content_type)
            if body_problem is not None:
                status_holder["status"] = await self._refuse(send, body_problem, request_id, path)
                return

            sent = {"start": False, "end": False}

            async def send_wrapper(message: Message) -> None:
                if overflow["hit"] and not sent["start"]:
                    return  # the app saw the body cut off; the 413 below answers instead
                if message["type"] == "http.response.start":
                    status_holder["status"] = message["status"]
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
                    sent["start"] = True
                elif message["type"] == "http.response.body" and not message.get("more_body", False):
                    sent["end"] = True
                await send(message)

            try:
                await self.app(scope, replay, send_wrapper)
                if overflow["hit"] and not sent["start"]:
                    status_holder["status"] = await self._refuse(send, self._too_large(limit), request_id, path)
            except Exception as exc:
                if not is_database_unavailable(exc):
                    raise
                # Raised where no exception handler answers it: while the response streams, in a
                # dependency's teardown, in a middleware. An outage is never a 500.
                if not sent["start"]:
                    log.warning("database unavailable: %s", type(exc).__name__)
                    err = ServiceUnavailable("The database is unavailable; retry shortly.", code="database_unavailable")
                    status_holder["status"] = await self._refuse(send, err, request_id, path)
                elif not sent["end"]:
                    # The status is sent: the response is left unfinished, so the server closes the
                    # connection and the client sees a cut-off transfer, never a complete-looking body.
                    log.warning("database unavailable while the response was sent: %s; closing", type(exc).__name__)
                else:
                    log.warning("database unavailable after the response was sent: %s", type(exc).__name__)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED_ROUTE
            method = scope.get("method", "")
            REQUESTS.labels(method, template, str(status_holder["status"])).inc()
            LATENCY.labels(method, template).observe(elapsed)
            if self.log_enabled:
                access_log.info(
                    "request",
                    extra={
                        "method": method,
                        "path": path,
                        "route": template,
                        "status": status_holder["status"],
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(token)

    @staticmethod
    def _counting(receive: Receive, limit: int, overflow: dict[str, bool]) -> Receive:
        """Pass the body on as it arrives; past ``limit`` the app sees the client gone (and ``overflow`` is set)."""
        received = 0

        async def counted() -> Message:
            nonlocal received
            if overflow["hit"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    overflow["hit"] = True
                    return {"type": "http.disconnect"}
            return message

        return counted

    async def _read_body(self, receive: Receive, limit: int, content_type: bytes) -> tuple[AppError | None, Receive]:
        """Buffer the (bounded) body so limits and NUL checks answer before any parsing starts."""
        chunks: list[bytes] = []
        received = 0
        more = True
        disconnect: Message | None = None
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnect = message
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                return self._too_large(limit), receive
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if b"\x00" in body and b"multipart" not in content_type:
            return self._nul_error(), receive
        if (b"json" in content_type and b"\\u0000" in body) or (
            b"x-www-form-urlencoded" in content_type and b"%00" in body
        ):
            return self._nul_error(), receive
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            if disconnect is not None:
                return disconnect
            return await receive()

        return None, replay

    @staticmethod
    def _nul_error() -> ValidationFailed:
        return ValidationFailed(
            "NUL characters are not allowed in text.",
            code="nul_character",
            errors=[field_error("body", "must not contain NUL (\\u0000)")],
        )

    @staticmethod
    def _too_large(limit: int) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"The request body exceeds {limit} bytes.",
            code="payload_too_large",
            errors=[field_error("body", "too large", max_bytes=limit)],
            max_bytes=limit,
        )


def client_host(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"
