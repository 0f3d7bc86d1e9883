"""Walk every route of the OpenAPI schema as every role and check the answer it must get.

- without credentials: 401 on every private route (public ones never answer 401);
- with a role the route does not admit: 403 with a problem+json ``code``;
- with an admitted role: never 401/403, never a 5xx (random ids → 404, empty bodies → 422 …).
"""

from __future__ import annotations

import re
import uuid

import pytest

from app.auth.roles import Role
from tests.conftest import auth, deactivate
from tests.system.authz_table import PUBLIC, ROUTES, SIGNATURE_CODES, SIGNED

ROLE_USER = {
    Role.ADMIN: "admin",
    Role.STREET_ADMIN: "street_admin",
    Role.COMMUNITY_ADMIN: "community_admin",
    Role.GRID_WORKER: "grid_worker",
    Role.MEDIATOR: "mediator",
    Role.VIEWER: "viewer",
    Role.DEPARTMENT: "department",
    Role.INTEGRATION: "integration",
}
METHODS = {"get", "post", "put", "patch", "delete"}
# Streams, browser pages and slow exports are exercised in their own tests.
SKIP_CALL = {"GET /api/v1/events/stream"}


async def _routes(client) -> list[tuple[str, str, dict]]:
    schema = (await client.get("/openapi.json")).json()
    out = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                out.append((method.upper(), path, op))
    return out


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: str(uuid.uuid4()) if "id" in m.group(0) else "x", path)


async def _call(client, method: str, path: str, headers: dict[str, str]):
    url = _fill(path)
    if method in {"POST", "PUT", "PATCH"}:
        return await client.request(method, url, json={}, headers={**headers, "If-Match": '"1"'})
    return await client.request(method, url, headers=headers)


async def test_every_route_is_in_the_matrix(client):
    missing = [f"{m} {p}" for m, p, _ in await _routes(client) if f"{m} {p}" not in ROUTES]
    assert not missing, f"routes missing from tests/system/authz_table.py: {missing}"
    stale = set(ROUTES) - {f"{m} {p}" for m, p, _ in await _routes(client)}
    assert not stale, f"authz_table lists routes that no longer exist: {stale}"


async def test_private_routes_require_credentials(client):
    for method, path, _ in await _routes(client):
        key = f"{method} {path}"
        if ROUTES.get(key) == PUBLIC or key in SKIP_CALL:
            continue
        r = await _call(client, method, path, {})
        assert r.status_code == 401, f"{key} without credentials → {r.status_code}"
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_deactivated_account_is_refused_on_every_private_route(client):
    """Every private route authenticates the account itself (not only the token's signature)."""
    await deactivate(client, "viewer")
    for method, path, _ in await _routes(client):
        key = f"{method} {path}"
        if ROUTES.get(key) == PUBLIC or key in SKIP_CALL:
            continue
        r = await _call(client, method, path, auth("viewer"))
        if key in SIGNED and r.status_code == 401 and r.json()["code"] in SIGNATURE_CODES:
            continue  # refused before any account is looked at
        assert r.status_code == 401, f"{key} as a deactivated viewer → {r.status_code}"
        assert r.json()["code"] == "account_deactivated", f"{key} → {r.text[:200]}"


@pytest.mark.parametrize("role", list(ROLE_USER), ids=lambda r: r.value)
async def test_roles_get_what_the_matrix_says(client, role):
    headers = auth(ROLE_USER[role])
    for method, path, _ in await _routes(client):
        key = f"{method} {path}"
        allowed = ROUTES.get(key)
        if key in SKIP_CALL or allowed is None:
            continue
        r = await _call(client, method, path, headers)
        assert r.status_code < 500, f"{key} as {role} → {r.status_code}: {r.text[:300]}"
        if allowed == PUBLIC:
            continue
        if role in allowed and key in SIGNED and r.status_code == 401:
            assert r.json()["code"] in SIGNATURE_CODES, f"{key} as {role} → {r.text[:300]}"
        elif role in allowed:
            assert r.status_code not in (401, 403), f"{key} as {role} → {r.status_code}: {r.text[:300]}"
        else:
            assert r.status_code == 403, f"{key} as {role} should be 403, got {r.status_code}: {r.text[:200]}"
            assert r.json()["code"]


async def test_operations_are_documented(client):
    for method, path, op in await _routes(client):
        key = f"{method} {path}"
        assert op.get("summary"), f"{key} has no summary"
        assert re.fullmatch(r"[a-z0-9_]+", op.get("operationId", "")), f"{key} operationId {op.get('operationId')}"


async def test_private_operations_declare_how_to_authenticate(client):
    schema = (await client.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["HTTPBearer"]["description"],
    }
    assert schemes["APIKeyHeader"]["in"] == "header" and schemes["APIKeyHeader"]["name"] == "X-API-Key"
    for method, path, op in await _routes(client):
        key = f"{method} {path}"
        if ROUTES.get(key) == PUBLIC:
            assert op.get("security") == [] or key == "GET /api/v1/events/stream", key
        else:
            assert op.get("security") == [{"HTTPBearer": []}, {"APIKeyHeader": []}], key


async def test_a_deactivated_account_is_refused_before_its_parameters_are_checked(client):
    """Reads that authenticate inside their statement still answer 401 before a 422."""
    await deactivate(client, "grid_worker")
    for path in ("/api/v1/issues?kind=bogus&limit=0", "/api/v1/stats/timeseries?bucket=year"):
        r = await client.get(path, headers=auth("grid_worker"))
        assert r.status_code == 401 and r.json()["code"] == "account_deactivated", (path, r.text[:200])
    r = await client.get("/api/v1/issues?kind=bogus", headers=auth("grid_worker_g2"))
    assert r.status_code == 422  # an active account gets the validation error
