"""Open311 GeoReport v2: a client's round trip in JSON and XML, errors, filters and windows."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import asyncpg
import pytest

from tests import world
from tests.conftest import auth
from tests.integrations.inbound import count, make_key
from tests.issues.helpers import act, create

BASE = "/open311/v2"
J = {"jurisdiction_id": "T01"}


def _form(key: str, **overrides: str) -> dict[str, str]:
    form = {
        "api_key": key,
        "jurisdiction_id": "T01",
        "service_code": "lighting",
        "lat": "34.05",
        "long": "108.02",
        "address_string": "测试社区东门",
        "description": "东门口路灯不亮\n已经三天了",
        "first_name": "贵领",
        "last_name": "周",
        "phone": "13812341234",
        "email": "zhou@example.cn",
        "account_id": "acct-7",
        "media_url": "https://img.example.cn/lamp.jpg",
        "attribute[location_detail]": "东门第二盏",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def _xml(response) -> ET.Element:
    assert response.headers["content-type"].startswith("application/xml")
    return ET.fromstring(response.content)


def _issue_id_by_number(rows: list[dict], number: str) -> str:
    return next(i["id"] for i in rows if i["number"] == number)


async def _drive_to_closed(client, number: str) -> None:
    issues = (await client.get("/api/v1/issues", params={"channel": "open311"}, headers=auth("admin"))).json()
    issue_id = _issue_id_by_number(issues["items"], number)
    await act(client, issue_id, "accept", "community_admin")
    await act(client, issue_id, "dispatch", "community_admin", {"assignee_unit_id": str(world.UNIT_ID)})
    await act(client, issue_id, "resolve", "department", {"outcome": "solved", "notes": "已更换灯泡"})
    await act(client, issue_id, "verify", "community_admin")
    await act(client, issue_id, "close", "community_admin", {"rating": "satisfied", "solved": True})


async def test_round_trip_in_json(client, db_url):
    key = await make_key(client)
    services = await client.get(f"{BASE}/services.json", params=J)
    assert services.status_code == 200 and services.headers["content-type"].startswith("application/json")
    by_code = {s["service_code"]: s for s in services.json()}
    assert by_code["lighting"] == {
        "service_code": "lighting",
        "service_name": "照明",
        "description": None,
        "metadata": True,
        "type": "realtime",
        "keywords": None,
        "group": "设施",
    }
    assert by_code["dispute"]["metadata"] is False and by_code["dispute"]["group"] == "矛盾纠纷"
    definition = (await client.get(f"{BASE}/services/lighting.json", params=J)).json()
    assert [(a["code"], a["required"]) for a in definition["attributes"]] == [("location_detail", True)]

    posted = await client.post(f"{BASE}/requests.json", data=_form(key.key))
    assert posted.status_code == 201, posted.text
    [receipt] = posted.json()
    number = receipt["service_request_id"]
    assert number.startswith("T01-") and receipt["account_id"] == "acct-7" and number in receipt["service_notice"]

    [read] = (await client.get(f"{BASE}/requests/{number}.json", params=J)).json()
    assert read["status"] == "open" and read["service_code"] == "lighting" and read["service_name"] == "照明"
    assert read["agency_responsible"] == "第一网格" and read["media_url"] == "https://img.example.cn/lamp.jpg"
    assert (read["lat"], read["long"]) == (34.05, 108.02) and read["address"] == "测试社区东门"
    assert "东门第二盏" in read["description"]
    assert read["requested_datetime"].endswith("+08:00") and read["expected_datetime"]
    for private in ("13812341234", "周贵领", "zhou@example.cn"):
        assert private not in (await client.get(f"{BASE}/requests.json", params=J)).text

    await _drive_to_closed(client, number)
    [closed] = (await client.get(f"{BASE}/requests/{number}.json", params=J)).json()
    assert closed["status"] == "closed" and closed["status_notes"] == "已更换灯泡"
    assert closed["agency_responsible"] == "测试物业公司"
    assert await count(db_url, "SELECT count(*) FROM open311_requests") == 1


async def test_round_trip_in_xml(client):
    key = await make_key(client)
    root = _xml(await client.get(f"{BASE}/services.xml", params=J))
    assert root.tag == "services"
    lighting = next(s for s in root.findall("service") if s.findtext("service_code") == "lighting")
    assert lighting.findtext("service_name") == "照明" and lighting.findtext("metadata") == "true"
    definition = _xml(await client.get(f"{BASE}/services/safety_hazard.xml", params=J))
    values = definition.findall("attributes/attribute/values/value")
    assert "fire_exit_blocked" in [v.findtext("key") for v in values]

    form = _form(key.key, service_code="safety_hazard", **{"attribute[location_detail]": None})
    form["attribute[hazard_type]"] = "fire_exit_blocked"
    posted = await client.post(f"{BASE}/requests.xml", data=form)
    assert posted.status_code == 201, posted.text
    receipt = _xml(posted).find("request")
    number = receipt.findtext("service_request_id")
    assert number and receipt.findtext("account_id") == "acct-7"

    request = _xml(await client.get(f"{BASE}/requests/{number}.xml", params=J)).find("request")
    assert request.findtext("status") == "open" and "消防通道堵塞" in request.findtext("description")
    await _drive_to_closed(client, number)
    request = _xml(await client.get(f"{BASE}/requests/{number}.xml", params=J)).find("request")
    assert request.findtext("status") == "closed" and request.findtext("status_notes") == "已更换灯泡"
    listed = _xml(await client.get(f"{BASE}/requests.xml", params={**J, "status": "closed"}))
    assert [r.findtext("service_request_id") for r in listed.findall("request")] == [number]


async def test_tokens_and_uuid_ids_map_to_the_number(client):
    key = await make_key(client)
    [receipt] = (await client.post(f"{BASE}/requests.json", data=_form(key.key))).json()
    issues = (await client.get("/api/v1/issues", headers=auth("admin"))).json()["items"]
    issue_id = _issue_id_by_number(issues, receipt["service_request_id"])
    [by_uuid] = (await client.get(f"{BASE}/requests/{issue_id}.json", params=J)).json()
    assert by_uuid["service_request_id"] == receipt["service_request_id"]
    tokens = (await client.get(f"{BASE}/tokens/{issue_id}.json", params=J)).json()
    assert tokens == [{"service_request_id": receipt["service_request_id"], "token": issue_id}]
    assert (await client.get(f"{BASE}/tokens/nope.json", params=J)).status_code == 404


@pytest.mark.parametrize("ext", ["json", "xml"])
async def test_errors_are_open311_documents(client, db_url, ext):
    key = await make_key(client)

    def errors(response):
        assert not response.headers["content-type"].startswith("application/problem+json")
        if ext == "json":
            return [(e["code"], e["description"]) for e in response.json()]
        root = _xml(response)
        assert root.tag == "errors"
        return [(int(e.findtext("code")), e.findtext("description")) for e in root.findall("error")]

    cases = [
        (await client.post(f"{BASE}/requests.{ext}", data=_form(key.key, service_code="")), 400, "service_code"),
        (await client.post(f"{BASE}/requests.{ext}", data=_form("mq_bogus_key")), 403, "api_key"),
        (await client.post(f"{BASE}/requests.{ext}", data=_form("")), 403, "api_key"),
        (await client.post(f"{BASE}/requests.{ext}", data=_form(key.key, service_code="nope")), 404, "nope"),
        (await client.post(f"{BASE}/requests.{ext}", data=_form(key.key, lat="37.1", long="113.1")), 400, "outside"),
        (
            await client.post(f"{BASE}/requests.{ext}", data=_form(key.key, **{"attribute[location_detail]": None})),
            400,
            "location_detail",
        ),
        (await client.get(f"{BASE}/requests/T01-19990101-000001.{ext}", params=J), 404, "T01-19990101-000001"),
        (await client.get(f"{BASE}/services.{ext}"), 400, "jurisdiction_id"),
        (await client.get(f"{BASE}/services.{ext}", params={"jurisdiction_id": "ZZ"}), 404, "jurisdiction_id"),
        (await client.get(f"{BASE}/services/nope.{ext}", params=J), 404, "nope"),
        (await client.get(f"{BASE}/requests.{ext}", params={**J, "status": "pending"}), 400, "status"),
        (await client.get(f"{BASE}/requests.{ext}", params={**J, "start_date": "yesterday"}), 400, "start_date"),
        (await client.get(f"{BASE}/nothing/here.{ext}"), 404, "Unknown"),
    ]
    for response, status, word in cases:
        assert response.status_code == status, (word, response.text)
        [(code, description)] = errors(response)
        assert code == status and word in description, (word, description)
    staff_key = await make_key(client, area="C", user="community_admin")
    refused = await client.post(f"{BASE}/requests.{ext}", data=_form(staff_key.key))
    assert refused.status_code == 403
    assert await count(db_url, "SELECT count(*) FROM issues") == 0
    assert (await client.get(f"{BASE}/services.yaml", params=J)).status_code == 404


async def test_idempotency_key_makes_a_retry_safe(client, db_url):
    key = await make_key(client)
    headers = {"Idempotency-Key": "open311-retry-1"}
    first = await client.post(f"{BASE}/requests.json", data=_form(key.key), headers=headers)
    again = await client.post(f"{BASE}/requests.json", data=_form(key.key), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.content == again.content and again.headers["idempotent-replayed"] == "true"
    other = await client.post(f"{BASE}/requests.json", data=_form(key.key, description="另一件事"), headers=headers)
    assert other.status_code == 400 and other.json()[0]["code"] == 400
    assert await count(db_url, "SELECT count(*) FROM issues") == 1


async def test_address_only_requests_route_by_name(client):
    key = await make_key(client)
    posted = await client.post(
        f"{BASE}/requests.json", data=_form(key.key, lat=None, long=None, address_string="测试街道邻居社区8号楼")
    )
    assert posted.status_code == 201, posted.text
    [read] = (await client.get(f"{BASE}/requests/{posted.json()[0]['service_request_id']}.json", params=J)).json()
    assert read["agency_responsible"] == "邻居社区" and read["lat"] is None


async def _copies(db_url: str, source_number: str, n: int, age: str) -> None:
    """``n`` copies of an Open311 request, created ``age`` ago, one minute apart."""
    conn = await asyncpg.connect(db_url)
    try:
        columns = [
            r["column_name"]
            for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'issues' "
                "ORDER BY ordinal_position"
            )
        ]
        special = {
            "id": "gen_random_uuid()",
            "number": "number || '-' || $3 || g",
            "created_at": f"now() - interval '{age}' - g * interval '1 minute'",
        }
        select = ", ".join(special.get(c, c) for c in columns)
        await conn.execute(
            f"INSERT INTO issues ({', '.join(columns)}) SELECT {select} FROM issues, generate_series(1, $2) g "
            "WHERE number = $1",
            source_number,
            n,
            age.replace(" ", ""),
        )
        await conn.execute(
            "INSERT INTO open311_requests (issue_id, district_id, service_code, attributes, created_at) "
            "SELECT i.id, r.district_id, r.service_code, '{}', i.created_at FROM issues i, open311_requests r "
            "JOIN issues s ON s.id = r.issue_id AND s.number = $1 WHERE i.number LIKE $1 || '-' || $2 || '%'",
            source_number,
            age.replace(" ", ""),
        )
    finally:
        await conn.close()


async def test_the_default_window_is_90_days_and_1000_requests(client, db_url):
    key = await make_key(client)
    [receipt] = (await client.post(f"{BASE}/requests.json", data=_form(key.key))).json()
    number = receipt["service_request_id"]
    await _copies(db_url, number, 1005, "1 day")
    await _copies(db_url, number, 3, "100 days")
    assert await count(db_url, "SELECT count(*) FROM open311_requests") == 1009

    recent = (await client.get(f"{BASE}/requests.json", params=J)).json()
    assert len(recent) == 1000
    assert recent[0]["service_request_id"] == number  # newest first
    older = (
        await client.get(
            f"{BASE}/requests.json",
            params={**J, "start_date": "2000-01-01T00:00:00Z", "end_date": "2000-03-01T00:00:00Z"},
        )
    ).json()
    assert older == []
    # a window ending 95 days ago holds exactly the three old ones
    rows = await count(db_url, "SELECT count(*) FROM open311_requests WHERE created_at < now() - interval '95 days'")
    assert rows == 3
    end = (dt.datetime.now(dt.UTC) - dt.timedelta(days=95)).strftime("%Y-%m-%dT%H:%M:%SZ")
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=180)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = (await client.get(f"{BASE}/requests.json", params={**J, "start_date": start, "end_date": end})).json()
    assert len(old) == 3
    too_wide = await client.get(
        f"{BASE}/requests.json", params={**J, "start_date": "2026-01-01", "end_date": "2026-12-31"}
    )
    assert too_wide.status_code == 400
    closed_only = (await client.get(f"{BASE}/requests.json", params={**J, "status": "closed"})).json()
    assert closed_only == []
    wanted = (await client.get(f"{BASE}/requests.json", params={**J, "service_request_id": number})).json()
    assert [r["service_request_id"] for r in wanted] == [number]


async def test_other_channels_are_not_published(client):
    await create(client)
    assert (await client.get(f"{BASE}/requests.json", params=J)).json() == []


async def test_other_methods_answer_405_with_allow_in_open311_format(client):
    for method in ("PUT", "DELETE", "OPTIONS"):
        r = await client.request(method, "/open311/v2/services.json")
        assert r.status_code == 405, (method, r.text)
        assert r.headers["allow"] == "GET"
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()[0]["code"] == 405
    r = await client.request("PATCH", "/open311/v2/requests.xml")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    assert r.headers["content-type"].startswith("application/xml")
    assert (await client.put("/open311/v2/nothing.json")).status_code == 404


async def test_refusals_before_routing_are_open311_errors(client):
    r = await client.get("/open311/v2/services.json?jurisdiction_id=%00")
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()[0]["code"] == 400


async def test_open311_errors_are_documented_in_open311_format(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    operations = [op for path, item in paths.items() if path.startswith("/open311/") for op in item.values()]
    assert operations
    for op in operations:
        for status in ("400", "403", "404", "413", "429", "503"):
            content = op["responses"][status]["content"]
            assert set(content) == {"application/json", "application/xml"}, (op["operationId"], status)
        assert "422" not in op["responses"]


async def test_service_discovery_in_json_and_xml(client):
    """GeoReport v2 discovery: where the endpoint is (absolute), which specification and formats."""
    r = await client.get(f"{BASE}/discovery.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["changeset"] and doc["contact"] and doc["key_service"]
    [endpoint] = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://test/open311/v2"
    assert endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    # The url it names answers: the service list is one path below.
    assert (await client.get(endpoint["url"] + "/services.json", params=J)).status_code == 200

    root = _xml(await client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery" and root.findtext("changeset") == doc["changeset"]
    [xml_endpoint] = root.findall("endpoints/endpoint")
    assert xml_endpoint.findtext("url") == "http://test/open311/v2"
    assert [f.text for f in xml_endpoint.findall("formats/format")] == ["text/xml", "application/json"]
    assert (await client.get(f"{BASE}/discovery.yaml")).status_code == 404
