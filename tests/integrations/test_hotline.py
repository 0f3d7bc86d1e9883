"""12345 hotline tickets in: signatures, idempotency, mapping, routing, updates, status back."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

from app.kit.signing import generate_secret, signature_headers
from tests import world
from tests.conftest import auth
from tests.integrations.inbound import TICKETS, count, deliver, encode, execute, make_key, stored, ticket
from tests.issues.helpers import act

CATEGORY_MAP = "/api/v1/integrations/hotline/category-map"


async def _map(client, items):
    r = await client.put(CATEGORY_MAP, json={"items": items}, headers=auth("admin"))
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_ticket_sent_three_times_is_one_issue(client, db_url):
    key = await make_key(client)
    await _map(client, [{"external_code": "0301", "external_name": "路灯", "category": "lighting"}])
    body = ticket()
    first = await deliver(client, key, body, msg_id="msg_1")
    retried = await deliver(client, key, body, msg_id="msg_1")  # the same delivery again
    resent = await deliver(client, key, body, msg_id="msg_2")  # the platform sends the ticket anew
    assert [first.status_code, retried.status_code, resent.status_code] == [201, 200, 200], first.text
    assert first.json() == retried.json() == resent.json()
    out = first.json()
    assert out["ticket_number"] == "RX-0001" and out["status"] == "reported" and out["status_label"] == "待受理"
    assert out["category"] == "lighting" and out["warnings"] == []
    assert out["area_id"] == str(world.AREA["G1"].id) and out["routed_by"] == "location"
    assert first.headers["location"].endswith("/tickets/RX-0001")
    assert await stored(db_url) == (1, 1, 2)
    issue = (await client.get(f"/api/v1/issues/{out['issue_id']}", headers=auth("community_admin"))).json()
    assert issue["channel"] == "hotline" and issue["external_ref"] == "RX-0001"
    assert issue["reporter"] == {"name": "周**", "phone": "138****1234"}


async def test_concurrent_deliveries_of_one_ticket_make_one_issue(client, db_url):
    key = await make_key(client)
    body = ticket("RX-RACE")
    responses = await asyncio.gather(*(deliver(client, key, body, msg_id=f"race_{i}") for i in range(5)))
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
    assert len({r.json()["issue_id"] for r in responses}) == 1
    assert (await stored(db_url))[:2] == (1, 1)


async def test_forged_unsigned_and_stale_messages_store_nothing(client, db_url, caplog):
    key = await make_key(client)
    body = ticket()
    caplog.set_level(logging.WARNING, logger="minqing.hotline")
    forged = await deliver(client, key, body, secret=generate_secret())
    assert forged.status_code == 401 and forged.json()["code"] == "signature_invalid"
    assert forged.headers["content-type"].startswith("application/problem+json")
    unsigned = await client.post(TICKETS, content=encode(body), headers={"X-API-Key": key.key})
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "signature_missing"
    stale = await deliver(client, key, body, at=time.time() - 301)
    assert stale.status_code == 401 and stale.json()["code"] == "signature_timestamp_out_of_range"
    future = await deliver(client, key, body, at=time.time() + 600)
    assert future.status_code == 401 and future.json()["code"] == "signature_timestamp_out_of_range"
    # the body was changed after signing
    raw = encode(body)
    headers = {"X-API-Key": key.key, **signature_headers(key.secret, "msg_t", raw)}
    tampered = await client.post(TICKETS, content=raw.replace("东门".encode(), "西门".encode()), headers=headers)
    assert tampered.status_code == 401 and tampered.json()["code"] == "signature_invalid"
    assert await stored(db_url) == (0, 0, 0)
    rejected = [r for r in caplog.records if r.name == "minqing.hotline"]
    reasons = {r.reason for r in rejected}
    assert reasons >= {"signature_invalid", "signature_missing", "signature_timestamp_out_of_range"}
    assert all(r.key_prefix == key.prefix and r.ticket_number == "RX-0001" for r in rejected)


async def test_the_same_webhook_id_with_another_body_is_a_replay(client, db_url):
    key = await make_key(client)
    assert (await deliver(client, key, ticket("RX-A"), msg_id="msg_same")).status_code == 201
    replay = await deliver(client, key, ticket("RX-B"), msg_id="msg_same")
    assert replay.status_code == 401 and replay.json()["code"] == "replayed"
    assert await stored(db_url) == (1, 1, 1)


async def test_a_jwt_or_a_staff_key_cannot_push(client, db_url):
    r = await client.post(TICKETS, content=encode(ticket()), headers=auth("integration"))
    assert r.status_code == 401 and r.json()["code"] == "api_key_required"
    r = await client.post(TICKETS, content=encode(ticket()), headers=auth("community_admin"))
    assert r.status_code == 403
    staff_key = await make_key(client, area="C", user="community_admin")
    r = await deliver(client, staff_key, ticket())
    assert r.status_code == 403
    assert await stored(db_url) == (0, 0, 0)


async def test_rotation_accepts_the_previous_secret(client, db_url):
    key = await make_key(client)
    old_secret, new_secret = key.secret, generate_secret()
    await execute(
        db_url,
        "UPDATE api_keys SET previous_signing_secret = signing_secret, signing_secret = $1 WHERE id = $2::uuid",
        new_secret,
        key.id,
    )
    assert (await deliver(client, key, ticket("RX-OLD"), secret=old_secret)).status_code == 201
    assert (await deliver(client, key, ticket("RX-NEW"), secret=new_secret)).status_code == 201
    assert (await deliver(client, key, ticket("RX-BOTH"), secret=[generate_secret(), new_secret])).status_code == 201
    await execute(db_url, "UPDATE api_keys SET previous_signing_secret = NULL WHERE id = $1::uuid", key.id)
    r = await deliver(client, key, ticket("RX-LATE"), secret=old_secret)
    assert r.status_code == 401 and r.json()["code"] == "signature_invalid"


async def test_unknown_category_lands_in_other_with_a_warning_and_is_counted(client, db_url):
    key = await make_key(client)
    first = await deliver(client, key, ticket("RX-1", category_code="9999"))
    assert first.status_code == 201, first.text
    assert first.json()["category"] == "other"
    assert [w["code"] for w in first.json()["warnings"]] == ["unknown_category"]
    await deliver(client, key, ticket("RX-2", category_code="9999"))
    await deliver(client, key, ticket("RX-2", category_code="9999"))  # a re-send is not counted again
    listed = (await client.get(CATEGORY_MAP, headers=auth("admin"))).json()
    assert [(u["external_code"], u["seen_count"]) for u in listed["unmapped"]] == [("9999", 2)]
    mapped = await _map(client, [{"external_code": "9999", "category": "environment"}])
    assert mapped["unmapped"] == [] and mapped["items"][0]["category"] == "environment"
    third = await deliver(client, key, ticket("RX-3", category_code="9999"))
    assert third.json()["category"] == "environment" and third.json()["warnings"] == []


async def test_category_map_is_validated_and_admin_only(client):
    r = await client.put(
        CATEGORY_MAP,
        json={"items": [{"external_code": "1", "category": "nope"}, {"external_code": "1", "category": "other"}]},
        headers=auth("admin"),
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_category_map"
    assert {e["field"] for e in r.json()["errors"]} == {"items[0].category", "items[1].external_code"}
    assert (await client.get(CATEGORY_MAP, headers=auth("community_admin"))).status_code == 403


async def test_routing_by_address_and_home_area_and_outside_scope(client, db_url):
    key = await make_key(client)
    by_address = await deliver(client, key, ticket("RX-ADDR", lat=None, lng=None, address="测试街道邻居社区5号楼"))
    assert by_address.status_code == 201, by_address.text
    assert by_address.json()["area_id"] == str(world.AREA["C2"].id) and by_address.json()["routed_by"] == "address"
    # "1号楼" is a micro-grid's name but only streets and communities are matched by address
    street = await deliver(client, key, ticket("RX-STREET", lat=None, lng=None, address="测试街道11号楼"))
    assert street.json()["area_id"] == str(world.AREA["S"].id)
    nowhere = await deliver(client, key, ticket("RX-HOME", lat=None, lng=None, address="某某路88号"))
    assert nowhere.json()["area_id"] == str(world.AREA["D"].id) and nowhere.json()["routed_by"] == "home"
    issue = (await client.get(f"/api/v1/issues/{nowhere.json()['issue_id']}", headers=auth("admin"))).json()
    assert issue["tier"] == "street"

    community_key = await make_key(client, area="C")
    outside = await deliver(client, community_key, ticket("RX-OUT", lat=34.05, lng=108.15))  # in C2
    assert outside.status_code == 422 and outside.json()["code"] == "outside_scope"
    before = await stored(db_url)
    far = await deliver(client, key, ticket("RX-FAR", lat=37.1, lng=113.1))  # district X
    assert far.status_code == 422 and far.json()["code"] == "outside_scope"
    assert await stored(db_url) == before


async def test_invalid_input_is_422_and_nothing_is_written(client, db_url):
    key = await make_key(client)
    bad_json = await deliver(client, key, b'{"ticket_number": "RX-1",')
    assert bad_json.status_code == 422 and bad_json.json()["code"] == "malformed_json"
    bad_fields = await deliver(client, key, ticket(kind="gossip", caller_phone="call me", lat=95.0))
    assert bad_fields.status_code == 422
    assert {e["field"] for e in bad_fields.json()["errors"]} >= {"kind", "caller_phone", "lat"}
    half = await deliver(client, key, ticket(lng=None))
    assert half.status_code == 422
    not_object = await deliver(client, key, [1, 2])
    assert not_object.status_code == 422
    assert await stored(db_url) == (0, 0, 0)
    extra = await deliver(client, key, ticket("RX-EXTRA", platform_field="ignored"))
    assert extra.status_code == 201


async def test_the_hotline_deadline_caps_ours(client, db_url):
    key = await make_key(client)
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=5)).replace(microsecond=0)
    early = await deliver(client, key, ticket("RX-DUE", due_at=soon.isoformat()))
    assert dt.datetime.fromisoformat(early.json()["resolve_due_at"]) == soon
    late = await deliver(client, key, ticket("RX-LATE", due_at="2099-01-01T00:00:00+08:00"))
    ours = dt.datetime.fromisoformat(late.json()["resolve_due_at"])
    assert ours < dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
    past = await deliver(client, key, ticket("RX-PAST", due_at="2020-01-01T00:00:00+08:00"))
    assert "due_at_passed" in [w["code"] for w in past.json()["warnings"]]
    urgent = await deliver(client, key, ticket("RX-URG", urgency="extra_urgent"))
    issue = (await client.get(f"/api/v1/issues/{urgent.json()['issue_id']}", headers=auth("admin"))).json()
    assert issue["priority"] == "urgent"


async def test_urge_supervises_and_supplement_comments_once_each(client, db_url):
    key = await make_key(client)
    created = (await deliver(client, key, ticket("RX-U"))).json()
    path = f"{TICKETS}/RX-U/updates"
    urge = {"type": "urge", "content": "市民再次来电催促"}
    first = await deliver(client, key, urge, path=path, msg_id="urge_1")
    again = await deliver(client, key, urge, path=path, msg_id="urge_1")
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json()
    assert first.json()["applied_as"] == "supervise"
    supplement = await deliver(client, key, {"type": "supplement", "content": "补充:西门也不亮"}, path=path)
    assert supplement.json()["applied_as"] == "comment"
    events = (await client.get(f"/api/v1/issues/{created['issue_id']}/events", headers=auth("admin"))).json()
    actions = [(e["action"], e["actor_role"]) for e in events["items"]]
    assert actions == [("create", "integration"), ("supervise", "system"), ("comment", "integration")]
    issue = (await client.get(f"/api/v1/issues/{created['issue_id']}", headers=auth("admin"))).json()
    assert issue["supervised_count"] == 1 and issue["priority"] == "high"
    comments = (await client.get(f"/api/v1/issues/{created['issue_id']}/comments", headers=auth("admin"))).json()
    assert "西门也不亮" in comments["items"][0]["body"]
    # the same webhook-id replayed against another ticket is refused
    await deliver(client, key, ticket("RX-V"))
    moved = await deliver(client, key, urge, path=f"{TICKETS}/RX-V/updates", msg_id="urge_1")
    assert moved.status_code == 401 and moved.json()["code"] == "replayed"
    unknown = await deliver(client, key, urge, path=f"{TICKETS}/RX-NONE/updates")
    assert unknown.status_code == 404 and unknown.json()["code"] == "ticket_not_found"
    forged = await deliver(client, key, urge, path=path, secret=generate_secret())
    assert forged.status_code == 401
    assert await count(db_url, "SELECT count(*) FROM hotline_messages WHERE kind = 'update'") == 2


async def test_status_reads_back_through_the_loop(client):
    key = await make_key(client)
    created = (await deliver(client, key, ticket("RX-S", category_code="0301"))).json()
    read = {"X-API-Key": key.key}
    status = await client.get(f"{TICKETS}/RX-S", headers=read)
    assert status.status_code == 200 and status.json()["status"] == "reported"
    assert "caller_name" not in status.text and "13812341234" not in status.text and "周" not in status.text
    issue = created["issue_id"]
    await act(client, issue, "accept", "community_admin")
    await act(client, issue, "dispatch", "community_admin", {"assignee_unit_id": str(world.UNIT_ID)})
    status = (await client.get(f"{TICKETS}/RX-S", headers=read)).json()
    assert (status["status"], status["status_label"]) == ("dispatched", "已派单")
    assert status["accepted_at"] and status["dispatched_at"]
    await act(client, issue, "resolve", "department", {"outcome": "solved", "notes": "已更换灯泡"})
    await act(client, issue, "verify", "community_admin")
    await act(client, issue, "close", "community_admin", {"rating": "satisfied", "solved": True})
    status = (await client.get(f"{TICKETS}/RX-S", headers=read)).json()
    assert (status["status"], status["status_label"]) == ("closed", "已结案")
    assert status["resolution_summary"] == "已更换灯泡" and status["rating"] == "satisfied" and status["closed_at"]
    urge = await deliver(client, key, {"type": "urge", "content": "再催"}, path=f"{TICKETS}/RX-S/updates")
    assert urge.json()["applied_as"] == "comment" and urge.json()["warnings"][0]["code"] == "issue_not_open"


async def test_status_is_scoped_to_the_integration_and_its_area(client):
    key = await make_key(client)
    await deliver(client, key, ticket("RX-G3", lat=34.05, lng=108.15))  # in G3 (community C2)
    narrow = await make_key(client, area="C")
    assert (await client.get(f"{TICKETS}/RX-G3", headers={"X-API-Key": narrow.key})).status_code == 404
    assert (await client.get(f"{TICKETS}/RX-G3", headers={"X-API-Key": key.key})).status_code == 200
    assert (await client.get(f"{TICKETS}/RX-NONE", headers={"X-API-Key": key.key})).status_code == 404


def test_caller_phone_pattern_is_in_the_schema():
    import re

    import pydantic

    from app.integrations.hotline.schemas import TicketIn

    schema = TicketIn.model_json_schema()["properties"]["caller_phone"]
    pattern = next(s["pattern"] for s in schema["anyOf"] if s.get("type") == "string")
    for value in ["13812341234", "+86 138-1234", "  1  ", "12 ", "abc"]:
        try:
            TicketIn.__pydantic_validator__.validate_assignment(TicketIn.model_construct(), "caller_phone", value)
            model_ok = True
        except pydantic.ValidationError:
            model_ok = False
        assert (re.search(pattern, value) is not None) == model_ok, value
