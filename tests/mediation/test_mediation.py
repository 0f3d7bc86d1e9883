import sqlalchemy as sa

from tests.conftest import auth
from tests.world import AREA, USER

GW = auth("grid_worker")
MED = auth("mediator")


def dispute(**kw):
    body = {
        "title": "楼上漏水引发邻里纠纷",
        "description": "502住户漏水至402,双方多次争吵",
        "type": "neighbour",
        "risk_level": "yellow",
        "risk_reason": "双方情绪激动",
        "parties": [
            {"name": "张三丰", "role": "applicant", "phone": "13812341234"},
            {"name": "李四", "role": "respondent", "phone": "139 0000 5678"},
        ],
    }
    body.update(kw)
    return body


async def _create(client, headers=GW, **kw):
    r = await client.post("/api/v1/disputes", json=dispute(**kw), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_from_screening_to_a_stable_follow_up(client):
    d = await _create(client)
    assert d["status"] == "registered" and d["area_id"] == str(AREA["G1"].id)
    assert d["parties"][0]["phone"] == "138****1234"
    assert d["parties"][1]["phone"] == "139****5678"
    assert d["allowed_actions"] == ["session", "outcome"]
    url = f"/api/v1/disputes/{d['id']}"

    r = await client.post(f"{url}/follow-ups", json={"visited_on": "2026-11-30", "stable": True}, headers=GW)
    assert r.status_code == 409 and r.json()["allowed_actions"] == ["session", "outcome"]
    assert (await client.post(f"{url}/sessions", json={}, headers=GW)).status_code == 403

    session = {"held_at": "2026-11-24T10:00:00+08:00", "place": "社区调解室", "attendees": ["张三丰", "李四"]}
    r = await client.post(f"{url}/sessions", json=session, headers=MED)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "mediating"
    assert r.json()["mediator_id"] == str(USER["mediator"].id)
    assert len(r.json()["sessions"]) == 1

    r = await client.post(f"{url}/outcome", json={"outcome": "agreement"}, headers=MED)
    assert r.status_code == 422
    r = await client.post(
        f"{url}/outcome", json={"outcome": "agreement", "agreement_text": "502住户负责维修"}, headers=MED
    )
    assert r.json()["status"] == "agreement"

    r = await client.post(f"{url}/follow-ups", json={"visited_on": "2026-12-10", "stable": True}, headers=GW)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "stable" and body["risk_level"] == "yellow"
    assert len(body["follow_ups"]) == 1
    assert r.headers["etag"] == f'"{body["version"]}"'


async def test_not_stable_follow_up_reopens_mediation_with_higher_risk(client, app):
    d = await _create(client, risk_level="orange")
    url = f"/api/v1/disputes/{d['id']}"
    await client.post(f"{url}/outcome", json={"outcome": "referred", "referred_to": "judicial"}, headers=MED)
    r = await client.post(f"{url}/follow-ups", json={"visited_on": "2026-12-01", "stable": False}, headers=GW)
    assert r.json()["status"] == "mediating" and r.json()["risk_level"] == "red"
    await client.post(f"{url}/outcome", json={"outcome": "failed"}, headers=MED)
    r = await client.post(f"{url}/follow-ups", json={"visited_on": "2026-12-05", "stable": False}, headers=GW)
    assert r.json()["risk_level"] == "red"  # red is the top
    # the raise (and only the raise) went to the outbox for integrations, without personal data
    async with app.state.sessionmaker() as session:
        rows = (
            (
                await session.execute(
                    sa.text(
                        "SELECT payload FROM outbox WHERE event_type = 'dispute.risk_raised' AND aggregate_id = :id"
                    ),
                    {"id": d["id"]},
                )
            )
            .scalars()
            .all()
        )
    assert [(p["previous_risk_level"], p["risk_level"]) for p in rows] == [("orange", "red")]
    assert "parties" not in rows[0] and "title" not in rows[0]


async def test_stale_if_match_on_actions(client):
    d = await _create(client)
    r = await client.post(
        f"/api/v1/disputes/{d['id']}/outcome", json={"outcome": "failed"}, headers={**MED, "If-Match": '"9"'}
    )
    assert r.status_code == 412


async def test_mediator_must_cover_the_area(client):
    r = await client.post("/api/v1/disputes", json=dispute(mediator_id=str(USER["grid_worker"].id)), headers=GW)
    assert r.status_code == 422 and r.json()["code"] == "invalid_mediator"
    r = await client.post(
        "/api/v1/disputes",
        json=dispute(mediator_id=str(USER["mediator"].id), area_id=str(AREA["G3"].id)),
        headers=auth("street_admin"),
    )
    assert r.status_code == 422  # the mediator works in C, not in C2
    d = await _create(client, mediator_id=str(USER["mediator"].id))
    mine = (await client.get("/api/v1/disputes?mine=true", headers=MED)).json()["items"]
    assert [x["id"] for x in mine] == [d["id"]]


async def test_a_mediator_of_another_district_is_an_unknown_user(client):
    """The mediator named in a body is looked up among the staff of the dispute's area (its branch):
    another district's administrator is 422 unknown_user, for a new dispute and for a session."""
    far = str(USER["other_admin"].id)
    r = await client.post("/api/v1/disputes", json=dispute(mediator_id=far), headers=GW)
    assert r.status_code == 422 and r.json()["code"] == "unknown_user", r.text
    assert [e["field"] for e in r.json()["errors"]] == ["mediator_id"]
    assert (await client.get("/api/v1/disputes", headers=GW)).json()["items"] == []
    d = await _create(client)
    session = {"held_at": "2026-11-24T10:00:00+08:00", "place": "社区调解室", "mediator_id": far}
    r = await client.post(f"/api/v1/disputes/{d['id']}/sessions", json=session, headers=MED)
    assert r.status_code == 422 and r.json()["code"] == "unknown_user", r.text
    got = (await client.get(f"/api/v1/disputes/{d['id']}", headers=MED)).json()
    assert (got["version"], got["sessions"], got["mediator_id"]) == (d["version"], [], None)


async def test_scope_and_roles(client):
    d = await _create(client)
    url = f"/api/v1/disputes/{d['id']}"
    assert (await client.get(url, headers=auth("grid_worker_g2"))).status_code == 404
    assert (await client.get(url, headers=MED)).status_code == 200
    assert (await client.get(url, headers=auth("viewer"))).status_code == 403
    assert (await client.get("/api/v1/disputes", headers=auth("department"))).status_code == 403
    assert (await client.get("/api/v1/disputes", headers=auth("grid_worker_g3"))).json()["items"] == []


async def test_party_reveal_is_audited(client):
    d = await _create(client)
    party = d["parties"][0]
    url = f"/api/v1/disputes/{d['id']}/parties/{party['id']}/reveal"
    assert (await client.post(url, json={}, headers=MED)).status_code == 422
    r = await client.post(url, json={"reason": "电话通知调解时间"}, headers=MED)
    assert r.status_code == 200
    assert r.json()["phone"] == "13812341234" and r.json()["name"] == "张三丰"
    audit = (await client.get(f"/api/v1/audit?object_id={party['id']}", headers=auth("community_admin"))).json()
    assert len(audit["items"]) == 1
    row = audit["items"][0]
    assert row["action"] == "dispute_party.reveal" and row["actor_username"] == "mediator"
    assert row["reason"] == "电话通知调解时间" and row["request_id"]
    other = f"/api/v1/disputes/{d['id']}/parties/{party['id']}/reveal"
    assert (await client.post(other, json={"reason": "看看而已"}, headers=auth("grid_worker_g2"))).status_code == 404


async def test_dispute_refusals_are_documented(client):
    """A refused role (403) and, on a path with an id, an unknown or out-of-scope one (404) are documented."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    operations = [
        (path, op)
        for path, item in paths.items()
        if path.startswith(tuple("/api/v1/disputes".split(",")))
        for op in item.values()
    ]
    assert operations
    for path, op in operations:
        for status in "403,404".split(","):
            if status != "404" or "{" in path:
                assert op["responses"][status]["content"]["application/problem+json"], (path, status)


def test_outcome_rules_are_in_the_schema():
    import jsonschema_rs

    from app.mediation.schemas import OutcomeIn

    validator = jsonschema_rs.Draft202012Validator(OutcomeIn.model_json_schema())
    assert validator.is_valid({"outcome": "failed"})
    assert validator.is_valid({"outcome": "agreement", "agreement_text": "双方和解"})
    assert not validator.is_valid({"outcome": "agreement", "agreement_text": "  "})
    assert not validator.is_valid({"outcome": "agreement"})
    assert not validator.is_valid({"outcome": "referred", "referred_to": None})
