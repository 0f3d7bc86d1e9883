"""Responses render issues as JSON directly (presenter.render), without building a model per
issue: what they send must be exactly what the documented output models would send. The models
are the oracle here."""

from __future__ import annotations

import sqlalchemy as sa

from app.issues import presenter, schemas
from app.issues.models import Issue
from app.kit import clock
from app.scope import Principal
from tests.conftest import auth
from tests.issues.helpers import G1_POINT, act, create, dispatched_to_unit
from tests.world import AREA, USER


async def _issues_in_every_shape(client) -> list[str]:
    plain = await create(client, location=G1_POINT, reporter={"name": "周贵领", "phone": "13812341234"})
    bare = await create(client, location=None, area_id=str(AREA["G1"].id), reporter={"name": "李"})
    merged = await create(client, location=G1_POINT, reporter={"name": "王秀兰", "phone": "13900001111"})
    await act(client, plain, "accept", "community_admin")
    await act(client, merged, "merge", "community_admin", {"into_issue_id": plain["id"]})
    extended = await dispatched_to_unit(client)
    await act(client, extended, "request_extension", "department", {"working_days": 2, "reason": "缺配件"})
    suspended = await dispatched_to_unit(client)
    await act(client, suspended, "start", "department")
    await act(client, suspended, "suspend", "department", {"reason": "等待配件"})
    closed = await dispatched_to_unit(client)
    await act(client, closed, "start", "department")
    await act(client, closed, "resolve", "department", {"outcome": "solved", "notes": "已修好"})
    await act(client, closed, "verify", "grid_worker")
    await act(client, closed, "close", "community_admin", {"rating": "satisfied", "solved": True})
    rejected = await create(client)
    await act(client, rejected, "reject", "community_admin", {"reason": "duplicate"})
    return [i["id"] for i in (plain, bare, merged, extended, suspended, closed, rejected)]


async def test_rendered_issues_equal_the_output_models(client, app):
    ids = await _issues_in_every_shape(client)
    viewer = USER["street_admin"]
    principal = Principal(
        user_id=viewer.id,
        username=viewer.username,
        display_name=viewer.username,
        role=viewer.role,
        area_id=AREA["S"].id,
        area_path="x",
    )
    now = clock.now()
    async with app.state.sessionmaker() as session:
        rows = (await session.execute(sa.select(*Issue.__table__.c).where(Issue.id.in_(ids)))).all()
    assert len(rows) == len(ids)
    for row in rows:
        fields = presenter.issue_fields(presenter.columns_of(row), principal, now)
        assert list(fields) == list(schemas.IssueOut.model_fields)
        modelled = schemas.IssueOut(**fields).model_dump_json()
        assert presenter.render(fields) == modelled.encode(), row.status  # byte for byte

        reporters = [{"name": "王秀兰", "phone": "13900001111", "from_issue_id": row.id}]
        detail = presenter.detail_fields(row._mapping, principal, reporters)
        assert list(detail) == list(schemas.IssueDetail.model_fields)
        assert presenter.render(detail) == schemas.IssueDetail(**detail).model_dump_json().encode(), row.status
        assert detail["co_reporters"] == [{"name": "王**", "phone": "139****1111", "from_issue_id": row.id}]

        result = detail | {"feedback_url": None}
        assert presenter.render(result) == schemas.ActionResult(**result).model_dump_json().encode(), row.status


async def test_the_api_sends_what_the_models_describe(client):
    ids = await _issues_in_every_shape(client)
    listed = {
        i["id"]: i for i in (await client.get("/api/v1/issues?limit=200", headers=auth("street_admin"))).json()["items"]
    }
    assert set(ids) <= set(listed)
    for issue_id in ids:
        got = (await client.get(f"/api/v1/issues/{issue_id}", headers=auth("street_admin"))).json()
        assert schemas.IssueDetail.model_validate(got).model_dump(mode="json") == got
        assert {k: v for k, v in got.items() if k != "co_reporters"} == listed[issue_id]
        assert schemas.IssueOut.model_validate(listed[issue_id]).model_dump(mode="json") == listed[issue_id]
