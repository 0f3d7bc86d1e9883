"""A problem's ``type`` is a page the service serves: what the code means, in HTML or JSON."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx

from app.system.problems import CATALOGUE
from tests.conftest import auth

APP = Path(__file__).resolve().parents[2] / "app"


async def test_the_type_of_a_real_error_resolves_to_its_page(client):
    r = await client.get("/api/v1/issues?cursor=garbage", headers=auth("grid_worker"))
    problem = r.json()
    assert problem["code"] == "invalid_cursor" and problem["type"] == "/problems/invalid_cursor"
    page = await client.get(httpx.URL(str(client.base_url)).join(problem["type"]))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("application/json")
    assert page.json() == {
        "code": "invalid_cursor",
        "status": 422,
        "title": CATALOGUE["invalid_cursor"].title,
        "meaning": CATALOGUE["invalid_cursor"].meaning,
    }


async def test_a_browser_gets_html_and_unknown_codes_are_404(client):
    page = await client.get("/problems/invalid_transition", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<code>invalid_transition</code>" in page.text and "HTTP 409" in page.text
    assert page.headers["vary"] == "Accept"
    missing = await client.get("/problems/no_such_code", headers={"Accept": "text/html"})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "problem_not_found"
    assert missing.json()["type"] == "/problems/problem_not_found"
    assert (await client.get("/problems/problem_not_found")).status_code == 200


async def test_an_unknown_code_is_never_echoed_into_html(client):
    r = await client.get("/problems/%3Cscript%3E", headers={"Accept": "text/html"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def _codes_raised_in_app() -> set[str]:
    """Every literal ``code="…"`` given to an error, and every error class's own ``code``."""
    codes: set[str] = set()
    for source in APP.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if not (name.endswith(("Error", "Failed", "Required")) or name in _ERROR_CLASSES):
                    continue
                for kw in node.keywords:
                    if kw.arg == "code" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                        codes.add(kw.value.value)
            if isinstance(node, ast.Call):
                # ids in a body resolved in scope: 422 ``unknown_<thing>``
                for kw in node.keywords:
                    if kw.arg == "thing" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                        codes.add(f"unknown_{kw.value.value}")
            elif isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if (
                        isinstance(stmt, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "code" for t in stmt.targets)
                        and isinstance(stmt.value, ast.Constant)
                    ):
                        codes.add(stmt.value.value)
                    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Tuple):
                        targets = stmt.targets[0]
                        if isinstance(targets, ast.Tuple):
                            for target, value in zip(targets.elts, stmt.value.elts, strict=False):
                                if isinstance(target, ast.Name) and target.id == "code":
                                    codes.add(value.value)  # type: ignore[attr-defined]
    return codes


_ERROR_CLASSES = {
    "AppError", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "Gone", "PayloadTooLarge",
    "UnsupportedMediaType", "RateLimited", "ServiceUnavailable", "PreconditionFailed", "InvalidTransition",
    "ActionNotPermitted", "CannotEscalate",
}  # fmt: skip


def test_every_code_the_service_raises_has_a_page():
    raised = _codes_raised_in_app()
    assert {"invalid_transition", "version_mismatch", "validation_failed", "issue_not_found"} <= raised
    missing = sorted(raised - set(CATALOGUE))
    assert not missing, f"add these codes to app/system/problems.py: {missing}"
