"""Lists, filters, keyset paging, duplicates on Chinese text, exports, and a constant query count."""

from __future__ import annotations

import csv
import io
import zipfile

from sqlalchemy import event

from tests.conftest import auth
from tests.issues.helpers import G1_POINT, G2_POINT, M1_POINT, act, create, dispatched_to_unit
from tests.world import AREA, UNIT_ID


async def _all_pages(client, user: str, **params) -> list[dict]:
    seen: list[dict] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/api/v1/issues", params=query, headers=auth(user))
        assert r.status_code == 200, r.text
        seen.extend(r.json()["items"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return seen


async def test_keyset_paging_without_duplicates_and_filters(client):
    created = [await create(client, title=f"第{i}件事") for i in range(7)]
    await act(client, created[0], "accept", "grid_worker")
    dispatched = await dispatched_to_unit(client, user="community_admin", location={"lat": 34.05, "lng": 108.07})
    items = await _all_pages(client, "community_admin", limit=3)
    assert len(items) == 8 and len({i["id"] for i in items}) == 8
    assert [i["id"] for i in items] == sorted((i["id"] for i in items), reverse=True)  # UUIDv7: newest first

    async def ids(**params) -> set[str]:
        return {i["id"] for i in await _all_pages(client, "community_admin", **params)}

    assert await ids(status=["accepted"]) == {created[0]["id"]}
    assert await ids(status=["accepted", "dispatched"]) == {created[0]["id"], dispatched["id"]}
    assert await ids(assignee_unit_id=str(UNIT_ID)) == {dispatched["id"]}
    assert await ids(area_id=str(AREA["G2"].id)) == {dispatched["id"]}
    assert len(await ids(area_id=str(AREA["C"].id), tier="grid", kind="complaint", category="lighting")) == 8
    assert await ids(q="第3件") == {created[3]["id"]}
    assert await ids(priority="urgent") == set()
    r = await client.get("/api/v1/issues", params={"area_id": str(AREA["G3"].id)}, headers=auth("community_admin"))
    assert r.status_code == 422
    r = await client.get("/api/v1/issues", params={"cursor": "garbage"}, headers=auth("community_admin"))
    assert r.status_code == 422
    since = created[0]["created_at"]
    changed = await _all_pages(client, "community_admin", updated_since=since, limit=2)
    assert [i["updated_at"] for i in changed] == sorted(i["updated_at"] for i in changed)


async def test_a_community_is_paged_area_by_area_in_one_order(client):
    """Below a street the page is taken per area (G1, its micro-grid M1, G2) and merged: the pages
    still follow one order, without gaps or repeats, with filters and with a change feed."""
    made = []
    for i in range(9):
        point = (G1_POINT, M1_POINT, G2_POINT)[i % 3]
        made.append(await create(client, "community_admin", title=f"第{i}件", location=point))
    await act(client, made[4], "accept", "community_admin")
    community = str(AREA["C"].id)
    for limit in (1, 2, 4, 50):
        items = await _all_pages(client, "community_admin", limit=limit, area_id=community)
        assert [i["id"] for i in items] == [m["id"] for m in reversed(made)], limit
    grid = await _all_pages(client, "community_admin", limit=2, area_id=str(AREA["G1"].id))
    assert [i["id"] for i in grid] == [m["id"] for m in reversed(made) if made.index(m) % 3 in (0, 1)]
    accepted = await _all_pages(client, "community_admin", limit=2, area_id=community, status=["accepted"])
    assert [i["id"] for i in accepted] == [made[4]["id"]]
    feed = await _all_pages(client, "community_admin", limit=2, area_id=community, updated_since=made[0]["created_at"])
    assert [i["id"] for i in feed] == [m["id"] for m in made if m is not made[4]] + [made[4]["id"]]


async def test_similar_issues_on_chinese_text(client):
    issue = await create(client, title="小区东门路灯不亮", description="东门口两盏路灯连续三晚不亮")
    near = await create(client, title="东门路灯坏了", description="东门口的路灯晚上不亮,很黑", location=G1_POINT)
    unrelated = await create(client, title="楼道堆放杂物", description="三单元楼道堆满纸箱,有消防隐患")
    far = await create(client, "community_admin", location={"lat": 34.05, "lng": 108.07})
    r = await client.get(f"/api/v1/issues/{issue['id']}/similar", headers=auth("grid_worker"))
    assert r.status_code == 200, r.text
    found = r.json()
    assert [s["id"] for s in found][:1] == [near["id"]]
    assert unrelated["id"] not in {s["id"] for s in found} and far["id"] not in {s["id"] for s in found}
    assert 0 < found[0]["score"] <= 1 and found[0]["distance_m"] == 0


async def test_exports_are_scoped_masked_and_in_chinese(client):
    await create(client)
    await create(client, "community_admin", location={"lat": 34.05, "lng": 108.07}, title="=cmd|' /C calc'!A0")
    await create(client, "street_admin", location={"lat": 34.05, "lng": 108.15})  # community C2: outside C
    r = await client.get("/api/v1/issues/export.csv", headers=auth("community_admin"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["编号", "标题", "类型"] and len(rows) == 3
    assert {row[10] for row in rows[1:]} == {"周**"} and {row[11] for row in rows[1:]} == {"138****1234"}
    assert "13812341234" not in r.text and any(row[1].startswith("'=") for row in rows[1:])
    assert {row[3] for row in rows[1:]} == {"照明"} and {row[6] for row in rows[1:]} == {"待受理"}

    r = await client.get("/api/v1/issues/export.xlsx", params={"status": "reported"}, headers=auth("street_admin"))
    assert r.status_code == 200
    sheet = zipfile.ZipFile(io.BytesIO(r.content)).read("xl/worksheets/sheet1.xml").decode()
    assert "编号" in sheet and "周**" in sheet and "13812341234" not in sheet
    assert sheet.count("<row ") == 4
    assert (await client.get("/api/v1/issues/export.csv", headers=auth("grid_worker"))).status_code == 403


async def test_a_page_of_issues_costs_a_constant_number_of_queries(client, app):
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    async def queries_for(limit: int) -> int:
        statements.clear()
        r = await client.get("/api/v1/issues", params={"limit": limit}, headers=auth("community_admin"))
        assert r.status_code == 200 and len(r.json()["items"]) == limit
        return len(statements)

    for _ in range(5):
        await create(client)
    issue = await dispatched_to_unit(client)
    await act(client, issue, "start", "department")
    for _ in range(100):
        await create(client, "community_admin", location=None)
    sync_engine = app.state.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", count)
    try:
        small, large = await queries_for(2), await queries_for(100)
    finally:
        event.remove(sync_engine, "before_cursor_execute", count)
    assert small == large <= 2  # the caller with the area, then the page


async def test_issue_problems_are_documented_with_the_problem_schema(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    op = paths["/api/v1/issues/{issue_id}"]["patch"]
    for status in ("403", "404", "409", "412", "422", "428"):
        schema = op["responses"][status]["content"]["application/problem+json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Problem"}, status


def test_reporter_phone_pattern_allows_only_what_validation_keeps():
    """Bodies are stripped before the pattern is checked: surrounding spaces cannot count towards it."""
    import re

    import pydantic

    from app.issues.schemas import Reporter

    pattern = Reporter.model_json_schema()["properties"]["phone"]["anyOf"][0]["pattern"]
    for value in ["13812341234", "+86 138-1234", "  1  ", " 12", "12 ", "123"]:
        try:
            Reporter.model_validate({"phone": value})
            model_ok = True
        except pydantic.ValidationError:
            model_ok = False
        assert (re.search(pattern, value) is not None) == model_ok, value
