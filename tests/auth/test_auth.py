from __future__ import annotations

import asyncio
import datetime as dt

import jwt

from tests import world
from tests.conftest import JWT_SECRET, auth, deactivate, row_held
from tests.elsewhere import elsewhere


async def _login(client, username: str, password: str, ip: str | None = None):
    headers = {"X-Forwarded-For": ip} if ip else {}
    return await client.post("/api/v1/auth/token", data={"username": username, "password": password}, headers=headers)


async def test_login_returns_a_token_that_works(client):
    r = await _login(client, "grid_worker", world.PASSWORD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "grid_worker"


async def test_wrong_password_is_401_problem(client):
    r = await _login(client, "grid_worker", "nope-nope")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid_credentials"


async def test_unknown_user_looks_like_wrong_password(client):
    r = await _login(client, "nobody-here", "whatever1")
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_credentials"


async def test_login_is_throttled_per_username_even_with_the_right_password(client):
    for _ in range(5):
        assert (await _login(client, "grid_worker_g2", "wrong-password")).status_code == 401
    r = await _login(client, "grid_worker_g2", world.PASSWORD)
    assert r.status_code == 429
    assert r.json()["code"] == "login_throttled"
    assert int(r.headers["Retry-After"]) > 0
    # another account is not affected by this username's failures (same test client address though)
    other = await _login(client, "grid_worker_g3", world.PASSWORD)
    assert other.status_code == 429  # the client address has also failed 5 times


async def test_expired_and_forged_tokens_are_rejected(client):
    spec = world.USER["admin"]
    past = int((dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).timestamp())
    expired = jwt.encode(
        {"sub": str(spec.id), "role": "admin", "iss": "minqing", "iat": past, "exp": past + 60},
        JWT_SECRET,
        algorithm="HS256",
    )
    forged = jwt.encode(
        {"sub": str(spec.id), "role": "admin", "iss": "minqing", "iat": past, "exp": past + 99999},
        "another-secret-of-sufficient-length-123",
        algorithm="HS256",
    )
    for token in (expired, forged, "garbage"):
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
        assert r.json()["code"] == "invalid_token"


def test_a_token_seen_before_still_expires_on_time(monkeypatch):
    """Verified tokens are remembered, but never past their ``exp``."""
    from app.auth import security
    from app.kit import clock

    spec = world.USER["admin"]
    token, _ = security.issue_token(user_id=spec.id, role="admin", secret=JWT_SECRET, ttl_seconds=60, issuer="minqing")
    assert security.decode_token(token, secret=JWT_SECRET, issuer="minqing") == spec.id
    assert security.decode_token(token, secret=JWT_SECRET, issuer="minqing") == spec.id  # from memory
    assert security.decode_token(token, secret="another-secret-of-sufficient-length-123", issuer="minqing") is None
    later = clock.now() + dt.timedelta(seconds=61)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert security.decode_token(token, secret=JWT_SECRET, issuer="minqing") is None


async def test_deactivation_stops_tokens_and_keys_at_once(client):
    key = await client.post(
        "/api/v1/api-keys",
        json={"name": "热线", "user_id": str(world.USER["integration"].id)},
        headers=auth("admin"),
    )
    assert key.status_code == 201, key.text
    plaintext = key.json()["key"]
    assert (await client.get("/api/v1/me", headers={"X-API-Key": plaintext})).status_code == 200
    assert (await client.get("/api/v1/me", headers=auth("grid_worker"))).status_code == 200

    for user_key in ("grid_worker", "integration"):
        await deactivate(client, user_key)

    r = await client.get("/api/v1/me", headers=auth("grid_worker"))
    assert r.status_code == 401 and r.json()["code"] == "account_deactivated"
    r = await client.get("/api/v1/me", headers={"X-API-Key": plaintext})
    assert r.status_code == 401 and r.json()["code"] == "api_key_revoked"


async def test_api_key_is_shown_once_scoped_and_revocable(client):
    r = await client.post(
        "/api/v1/api-keys",
        json={"name": "信访系统", "user_id": str(world.USER["integration"].id), "area_id": str(world.AREA["C"].id)},
        headers=auth("admin"),
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["key"].startswith("mq_") and created["signing_secret"].startswith("whsec_")
    listed = await client.get("/api/v1/api-keys", headers=auth("admin"))
    assert all("key" not in k for k in listed.json())
    key_headers = {"Authorization": f"Bearer {created['key']}"}
    # the key sees its own subtree only: community C, not community C2
    assert (await client.get(f"/api/v1/areas/{world.AREA['G1'].id}", headers=key_headers)).status_code == 200
    assert (await client.get(f"/api/v1/areas/{world.AREA['G3'].id}", headers=key_headers)).status_code == 404
    # a tampered key with a valid prefix is rejected
    tampered = created["key"][:-2] + ("AA" if not created["key"].endswith("AA") else "BB")
    assert (await client.get("/api/v1/me", headers={"X-API-Key": tampered})).status_code == 401
    revoke = await client.delete(f"/api/v1/api-keys/{created['id']}", headers=auth("admin"))
    assert revoke.status_code == 200 and revoke.json()["revoked_at"]
    assert (await client.get("/api/v1/me", headers=key_headers)).status_code == 401


async def test_api_key_cannot_reach_beyond_its_owner(client):
    r = await client.post(
        "/api/v1/api-keys",
        json={"name": "x", "user_id": str(world.USER["grid_worker"].id), "area_id": str(world.AREA["S"].id)},
        headers=auth("admin"),
    )
    assert r.status_code == 422
    assert r.json()["code"] == "key_scope_too_wide"


async def test_admin_creates_users_only_inside_own_area(client):
    body = {
        "username": "new_worker",
        "display_name": "新网格员",
        "password": "a-strong-password",
        "role": "grid_worker",
        "home_area_id": str(world.AREA["G2"].id),
    }
    r = await client.post("/api/v1/users", json=body, headers=auth("admin"))
    assert r.status_code == 201, r.text
    assert r.headers["Location"].endswith(r.json()["id"])
    assert "password" not in r.json() and "password_hash" not in r.json()
    again = await client.post("/api/v1/users", json=body, headers=auth("admin"))
    assert again.status_code == 409 and again.json()["code"] == "username_taken"
    outside = await client.post(
        "/api/v1/users",
        json={**body, "username": "far_away", "home_area_id": str(world.AREA["X"].id)},
        headers=auth("admin"),
    )
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["field"] == "home_area_id"
    dept = await client.post(
        "/api/v1/users", json={**body, "username": "dept_no_unit", "role": "department"}, headers=auth("admin")
    )
    assert dept.status_code == 422 and dept.json()["code"] == "unit_required"


async def test_units_listed_are_those_working_in_the_callers_area(client):
    """Units of the caller's subtree and of its ancestors (a district's departments serve all of
    it) — for a department user too: another district's units stay unseen."""
    far = await elsewhere(client)  # a unit in district X, and a property company at community C2
    r = await client.post(
        "/api/v1/units",
        json={"code": "D_URBAN", "name": "测试区城管局", "kind": "department", "area_id": str(world.AREA["D"].id)},
        headers=auth("admin"),
    )
    assert r.status_code == 201, r.text

    async def codes(user: str) -> set[str]:
        r = await client.get("/api/v1/units", headers=auth(user))
        assert r.status_code == 200, r.text
        return {u["code"] for u in r.json()}

    by_id = {u["id"]: u["code"] for u in (await client.get("/api/v1/units", headers=auth("admin"))).json()}
    neighbour = by_id[far.neighbour_unit]
    x_unit = {u["code"] for u in (await client.get("/api/v1/units", headers=auth("other_admin"))).json()}
    assert len(x_unit) == 1 and far.unit not in by_id
    assert await codes("department") == {"U01", "U02", "D_URBAN", neighbour}
    assert await codes("grid_worker_g3") == {"U01", "U02", "D_URBAN", neighbour}
    assert await codes("community_admin") == {"U01", "U02", "D_URBAN"}  # not the neighbour community's
    assert await codes("admin") == {"U01", "U02", "D_URBAN", neighbour}
    assert await codes("other_admin") == x_unit


async def test_user_update_requires_if_match(client):
    uid = world.USER["grid_worker_g2"].id
    r = await client.patch(f"/api/v1/users/{uid}", json={"display_name": "改名"}, headers=auth("admin"))
    assert r.status_code == 428
    r = await client.patch(
        f"/api/v1/users/{uid}", json={"display_name": "改名"}, headers={**auth("admin"), "If-Match": '"99"'}
    )
    assert r.status_code == 412 and r.json()["current_version"] == 1


async def test_users_list_is_scoped(client):
    r = await client.get("/api/v1/users", headers=auth("community_admin"))
    names = {u["username"] for u in r.json()["items"]}
    assert {"grid_worker", "grid_worker_g2", "community_admin", "mediator"} <= names
    assert "grid_worker_g3" not in names and "street_admin" not in names
    page = await client.get("/api/v1/users?limit=2", headers=auth("admin"))
    assert len(page.json()["items"]) == 2 and page.json()["next_cursor"]
    seen = [u["username"] for u in page.json()["items"]]
    cursor = page.json()["next_cursor"]
    while cursor:
        nxt = await client.get(f"/api/v1/users?limit=2&cursor={cursor}", headers=auth("admin"))
        seen += [u["username"] for u in nxt.json()["items"]]
        cursor = nxt.json()["next_cursor"]
    assert len(seen) == len(set(seen)) == sum(1 for u in world.USERS if u.area != "X")


async def test_concurrent_user_updates_from_one_version_accept_exactly_one(client, db_url):
    url = f"/api/v1/users/{world.USER['grid_worker'].id}"
    etag = (await client.get(url, headers=auth("admin"))).headers["etag"]

    async def rename(n: int):
        return await client.patch(url, json={"display_name": f"并发{n}"}, headers={**auth("admin"), "If-Match": etag})

    async with row_held(db_url, "users", world.USER["grid_worker"].id):
        pending = [asyncio.create_task(rename(n)) for n in range(8)]
        await asyncio.sleep(0.5)
    answers = await asyncio.gather(*pending)
    assert sorted(r.status_code for r in answers) == [200] + [412] * 7


async def test_concurrent_callers_read_together_each_get_their_own_account(client, monkeypatch):
    """The accounts of concurrent requests are read in one statement, and each request is still
    its own caller: its own name and role, a deactivated account refused among them."""
    from app.auth import deps

    batches = []
    read = deps._read_callers

    async def counted(pool, user_ids):  # type: ignore[no-untyped-def]
        batches.append(list(user_ids))
        return await read(pool, user_ids)

    await deactivate(client, "viewer")
    monkeypatch.setattr(deps, "_read_callers", counted)
    users = ["admin", "grid_worker", "community_admin", "viewer"] * 5
    answers = await asyncio.gather(*(client.get("/api/v1/me", headers=auth(u)) for u in users))
    for user, r in zip(users, answers, strict=True):
        if user == "viewer":
            assert r.status_code == 401 and r.json()["code"] == "account_deactivated"
        else:
            assert r.status_code == 200, r.text
            assert r.json()["username"] == world.USER[user].username
    assert sum(len(b) for b in batches) == len(users)
    assert len(batches) < len(users)
