"""GET /dashboard: the self-contained wall-screen page (no CDN: everything is served from here)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi.responses import HTMLResponse

from app.kit.routing import Router

router = Router(tags=["dashboard"])
PAGE = Path(__file__).with_name("dashboard.html")


@lru_cache
def _page() -> str:
    return PAGE.read_text(encoding="utf-8")


@router.get("/dashboard", include_in_schema=False)
async def dashboard() -> HTMLResponse:
    """The 大屏 page; it signs in through the API and reads only the caller's scope."""
    return HTMLResponse(
        _page(),
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
            "script-src 'self' 'unsafe-inline'; img-src 'self' data:",
        },
    )
