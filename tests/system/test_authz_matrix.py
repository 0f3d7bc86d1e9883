"""Walk every route of the OpenAPI schema as every role and check the answer it must get.

- without credentials: 401 on every private route (public ones never answer 401);
- with a role the route does not admit: 403 with a problem+json ``code``;
- with an admitted role: never 401/403, never a 5xx (random ids → 404, empty bodies → 422 …);
- an id in a body from another jurisdiction: 422 ``unknown_<thing>`` on that field, nothing stored.
"""

from __future__ import annotations

import importlib
import re
import uuid
from typing import Any

import asyncpg
import pytest
from pydantic import BaseModel

from app.auth.roles import Role
from app.kit.ids import new_id
from tests.conftest import auth, deactivate
from tests.elsewhere import Elsewhere, elsewhere
from tests.issues.helpers import act, create, issue_body
from tests.system.authz_table import (
    BODY_REFERENCES,
    CLIENT_IDS,
    OPEN_BODIES,
    PUBLIC,
    ROUTES,
    SIGNATURE_CODES,
    SIGNED,
)
from tests.volunteers import elsewhere as volunteers_elsewhere
from tests.world import AREA, PASSWORD, UNIT_ID, USER

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


# --- ids in request bodies --------------------------------------------------------------------


def _uuid_fields(schema: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    """Top-level fields of a JSON schema holding a UUID or a list of them (``$ref`` followed)."""

    def deref(s: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in s:
            s = defs[s["$ref"].split("/")[-1]]
        return s

    def is_uuid(s: dict[str, Any]) -> bool:
        s = deref(s)
        if s.get("type") == "array":
            return is_uuid(s.get("items", {}))
        return s.get("format") == "uuid" or any(is_uuid(a) for a in s.get("anyOf", []))

    schema = deref(schema)
    found = {name for name, prop in schema.get("properties", {}).items() if is_uuid(prop)}
    for alt in schema.get("anyOf", []) + schema.get("oneOf", []):
        found |= _uuid_fields(alt, defs)
    return found


def _open_body_fields(target: str) -> set[str]:
    module, name = target.split(":")
    models = getattr(importlib.import_module(module), name)
    found: set[str] = set()
    for model in models.values() if isinstance(models, dict) else [models]:
        assert issubclass(model, BaseModel)
        schema = model.model_json_schema()
        found |= _uuid_fields(schema, schema.get("$defs", {}))
    return found


async def test_every_id_in_a_body_is_in_the_reference_table(client):
    schema = (await client.get("/openapi.json")).json()
    defs = schema["components"]["schemas"]
    seen: dict[str, set[str]] = {}
    for method, path, op in await _routes(client):
        key = f"{method} {path}"
        fields: set[str] = set()
        for content in op.get("requestBody", {}).get("content", {}).values():
            fields |= _uuid_fields(content.get("schema", {}), defs)
        if key in OPEN_BODIES:
            fields |= _open_body_fields(OPEN_BODIES[key])
        if fields - CLIENT_IDS:
            seen[key] = fields - CLIENT_IDS
    assert seen == {key: set(fields) for key, fields in BODY_REFERENCES.items()}


# Counters every request moves, whatever its answer (per-caller request budgets).
BOOKKEEPING = frozenset({"rate_limits"})


async def _fingerprint(db_url: str) -> dict[str, str]:
    """A digest of every table's rows: equal before and after means nothing was stored. A partitioned
    table's digest covers the rows of all its partitions (they are not digested twice); one statement."""
    conn = await asyncpg.connect(db_url)
    try:
        tables = [
            r[0]
            for r in await conn.fetch(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            )
        ]
        tables = [t for t in tables if t not in BOOKKEEPING]
        digests = ", ".join(
            f"(SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) FROM \"{t}\" r)" for t in tables
        )
        row = await conn.fetchrow(f"SELECT {digests}")
        return dict(zip(tables, row, strict=True))
    finally:
        await conn.close()


async def _post(client, url: str, body: Any, user: str) -> dict[str, Any]:
    r = await client.post(url, json=body, headers=auth(user))
    assert r.status_code == 201, r.text
    return r.json()


async def _in_scope(client) -> dict[str, str]:
    """Objects of district D the cases act on (paths) or name (the valid rest of a body)."""
    accepted = await create(client)
    await act(client, accepted, "accept", "community_admin")
    building = await _post(client, "/api/v1/buildings", {"name": "1号楼", "area_id": str(AREA["G1"].id)}, "grid_worker")
    household = await _post(
        client, "/api/v1/households", {"building_id": building["id"], "address": "101"}, "grid_worker"
    )
    resident = await _post(
        client, "/api/v1/residents", {"household_id": household["id"], "name": "周某"}, "grid_worker"
    )
    diary = {"visited_at": "2026-11-23T09:30:00+08:00", "kind": "situation", "content": "走访"}
    entry = await _post(client, "/api/v1/diary-entries", diary, "grid_worker")
    dispute = {
        "title": "邻里纠纷",
        "description": "漏水",
        "type": "neighbour",
        "risk_level": "yellow",
        "parties": [{"name": "张三", "role": "applicant"}],
    }
    mine = {
        "accepted": accepted["id"],
        "reported": (await create(client))["id"],
        "building": building["id"],
        "household": household["id"],
        "resident": resident["id"],
        "entry": entry["id"],
        "dispute": (await _post(client, "/api/v1/disputes", dispute, "grid_worker"))["id"],
    }
    draft = await _post(
        client,
        "/api/v1/commitment-lists",
        {"year": 2027, "items": [{"category": "service", "title": "实事"}]},
        "community_admin",
    )
    mine |= {"commitment_list": draft["id"], "commitment_list_item": draft["items"][0]["id"]}
    return mine | await volunteers_elsewhere.in_scope(client, mine)


def _far_id(far: Elsewhere, thing: str, more: dict[str, str]) -> str:
    return (
        more.get(thing)
        or {
            "area": far.grid,
            "unit": far.unit,
            "user": far.department_user,
            "issue": far.issue,
            "attachment": far.attachment,
            "building": far.building,
            "household": far.household,
            "resident": far.resident,
            "api_key": far.api_key,
            "commitment_item": far.commitment_item,
            "proposal": far.proposal,
        }[thing]
    )


def _case(key: str, field: str, mine: dict[str, str], far_id: str) -> tuple[str, str, str, Any]:
    """``(user, method, url, body)``: a request that would succeed but for ``field`` naming ``far_id``."""
    v1, g1 = "/api/v1", str(AREA["G1"].id)
    diary = {"visited_at": "2026-11-23T09:30:00+08:00", "kind": "situation", "content": "走访", field: far_id}
    dispute = {
        "title": "邻里纠纷",
        "description": "漏水",
        "type": "neighbour",
        "risk_level": "yellow",
        "parties": [{"name": "张三", "role": "applicant"}],
    }
    user = {
        "username": "ref_case",
        "display_name": "部门",
        "password": PASSWORD,
        "role": "department",
        "home_area_id": g1,
        "unit_id": str(UNIT_ID),
    }
    action = {
        "into_issue_id": ("merge", mine["reported"], "community_admin", {}),
        "assignee_unit_id": ("dispatch", mine["accepted"], "community_admin", {}),
        "assignee_user_id": ("dispatch", mine["accepted"], "community_admin", {}),
        "photo_ids": ("resolve", mine["accepted"], "grid_worker", {"outcome": "solved"}),
    }
    cases: dict[str, tuple[str, str, str, dict[str, Any] | list[Any]]] = {
        "POST /api/v1/users": ("admin", "POST", f"{v1}/users", user),
        "PATCH /api/v1/users/{user_id}": ("admin", "PATCH", f"{v1}/users/{USER['grid_worker_g2'].id}", {}),
        "POST /api/v1/units": (
            "admin",
            "POST",
            f"{v1}/units",
            {"code": "REF", "name": "单位", "kind": "other", "area_id": g1},
        ),
        "POST /api/v1/api-keys": (
            "admin",
            "POST",
            f"{v1}/api-keys",
            {"name": "k", "user_id": str(USER["grid_worker"].id), "area_id": g1},
        ),
        "POST /api/v1/areas": (
            "admin",
            "POST",
            f"{v1}/areas",
            {"code": "REF", "name": "网格", "level": "grid", "parent_id": str(AREA["C"].id)},
        ),
        "POST /api/v1/issues": ("grid_worker", "POST", f"{v1}/issues", issue_body(location=None, area_id=g1)),
        "POST /api/v1/diary-entries": ("grid_worker", "POST", f"{v1}/diary-entries", diary),
        "PATCH /api/v1/diary-entries/{entry_id}": ("grid_worker", "PATCH", f"{v1}/diary-entries/{mine['entry']}", {}),
        "POST /api/v1/diary-entries/batch": (
            "grid_worker",
            "POST",
            f"{v1}/diary-entries/batch",
            [{**diary, "id": str(new_id())}],
        ),
        "POST /api/v1/buildings": ("grid_worker", "POST", f"{v1}/buildings", {"name": "2号楼", "area_id": g1}),
        "POST /api/v1/households": (
            "grid_worker",
            "POST",
            f"{v1}/households",
            {"building_id": mine["building"], "address": "102"},
        ),
        "POST /api/v1/residents": ("grid_worker", "POST", f"{v1}/residents", {"name": "钱某"}),
        "PATCH /api/v1/residents/{resident_id}": ("grid_worker", "PATCH", f"{v1}/residents/{mine['resident']}", {}),
        "POST /api/v1/disputes": ("grid_worker", "POST", f"{v1}/disputes", dispute),
        "POST /api/v1/disputes/{dispute_id}/sessions": (
            "mediator",
            "POST",
            f"{v1}/disputes/{mine['dispute']}/sessions",
            {"held_at": "2026-11-24T10:00:00+08:00", "place": "调解室"},
        ),
        "POST /api/v1/webhooks": (
            "admin",
            "POST",
            f"{v1}/webhooks",
            {"url": "http://127.0.0.1:9/hook", "event_types": ["issue.created"]},
        ),
        "POST /api/v1/commitment-lists": ("community_admin", "POST", f"{v1}/commitment-lists", {"year": 2026}),
        "POST /api/v1/commitment-activities": (
            "grid_worker",
            "POST",
            f"{v1}/commitment-activities",
            {"held_at": "2026-11-24T10:00:00+08:00", "place": "社区广场"},
        ),
        "POST /api/v1/commitment-lists/{list_id}/items": (
            "community_admin",
            "POST",
            f"{v1}/commitment-lists/{mine['commitment_list']}/items",
            {"category": "service", "title": "又一件实事"},
        ),
        "PATCH /api/v1/commitment-lists/{list_id}/items/{item_id}": (
            "community_admin",
            "PATCH",
            f"{v1}/commitment-lists/{mine['commitment_list']}/items/{mine['commitment_list_item']}",
            {},
        ),
        "POST /api/v1/commitment-activities/batch": (
            "grid_worker",
            "POST",
            f"{v1}/commitment-activities/batch",
            [{"id": str(new_id()), "held_at": "2026-11-24T10:00:00+08:00", "place": "社区广场"}],
        ),
        "POST /api/v1/proposals": ("grid_worker", "POST", f"{v1}/proposals", {"title": "充电桩", "content": "增设"}),
        "POST /api/v1/consultations": (
            "community_admin",
            "POST",
            f"{v1}/consultations",
            {
                "title": "民主协商会",
                "held_at": "2026-11-24T10:00:00+08:00",
                "place": "社区会议室",
                "convener": "社区书记",
                "invited": 9,
                "agenda": [{"title": "议题"}],
            },
        ),
    }
    cases |= volunteers_elsewhere.cases(mine)
    if key.startswith("POST /api/v1/issues/{issue_id}/actions/"):
        name, issue_id, actor, rest = action[field]
        assert key.endswith("/" + name), (key, field)
        value = [far_id] if field.endswith("_ids") else far_id
        return actor, "POST", f"{v1}/issues/{issue_id}/actions/{name}", {**rest, field: value}
    who, method, url, body = cases[key]
    if isinstance(body, dict):
        body = {**body, field: [far_id] if field.endswith("_ids") else far_id}
    elif isinstance(body, list) and isinstance(body[0], dict):  # a batch: its one item names the far id
        body = [{**body[0], field: [far_id] if field.endswith("_ids") else far_id}]
    return who, method, url, body


async def test_ids_in_bodies_from_another_jurisdiction_are_unknown(client, settings, db_url, tmp_path):
    """Every id field of every body, sent an object of another district: 422 ``unknown_<thing>``
    naming the field (the batch: that item's verdict), and not one row of any table changes."""
    settings.attachments_dir = tmp_path
    far = await elsewhere(client, tmp_path)
    far_more = await volunteers_elsewhere.far_objects(client, far)
    mine = await _in_scope(client)
    for key, fields in BODY_REFERENCES.items():
        for field, thing in fields.items():
            user, method, url, body = _case(key, field, mine, _far_id(far, thing, far_more))
            before = await _fingerprint(db_url)
            headers = {**auth(user), "If-Match": '"1"'} if method == "PATCH" else auth(user)  # objects at version 1
            r = await client.request(method, url, json=body, headers=headers)
            what = f"{key} {field} as {user}: {r.status_code} {r.text[:300]}"
            if key.endswith("/batch"):
                assert r.status_code == 200, what
                r_json = r.json()["results"][0]
                assert r_json["status"] == "invalid", what
            else:
                assert r.status_code == 422, what
                r_json = r.json()
            assert r_json["code"] == f"unknown_{thing}", what
            assert field in [e["field"] for e in r_json["errors"]], what
            after = await _fingerprint(db_url)
            assert after == before, f"{key} {field}: changed {[t for t in after if after[t] != before[t]]}"
