"""Objects of another jurisdiction, made through the API by their own administrators.

A request body may name any id; these are the ones a caller in district D must never reach: the
objects of district X (另一区, made by ``other_admin``) and a unit of the neighbouring community C2,
which does not serve community C.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import auth
from tests.issues.helpers import issue_body
from tests.world import AREA, PASSWORD

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass(frozen=True)
class Elsewhere:
    area: str  # street XS
    grid: str  # a grid under XS
    unit: str  # a unit registered in district X
    department_user: str  # a department user of that unit
    issue: str  # an open issue in district X
    attachment: str  # an attachment of that issue
    building: str
    household: str
    resident: str
    api_key: str
    neighbour_unit: str  # a unit registered at community C2 (D's other community)
    commitment_item: str = ""  # an item of district X's community list (一年10件实事)
    proposal: str = ""  # a proposal (民事民提) of district X's community


async def _post(client: httpx.AsyncClient, url: str, body: dict, user: str = "other_admin") -> dict:
    r = await client.post(url, json=body, headers=auth(user))
    assert r.status_code == 201, f"{url}: {r.status_code} {r.text}"
    return r.json()


async def elsewhere(client: httpx.AsyncClient, attachments_dir: Path | None = None) -> Elsewhere:
    """Create the objects; ``attachments_dir`` (the settings' one) is needed for the attachment."""
    tag = uuid.uuid4().hex[:6]
    xs = str(AREA["XS"].id)
    community = await _post(
        client, "/api/v1/areas", {"code": f"XC{tag}", "name": "另一社区", "level": "community", "parent_id": xs}
    )
    grid = await _post(
        client, "/api/v1/areas", {"code": f"XG{tag}", "name": "另一网格", "level": "grid", "parent_id": community["id"]}
    )
    unit = await _post(
        client, "/api/v1/units", {"code": f"XU{tag}", "name": "另一区城管局", "kind": "department", "area_id": xs}
    )
    user = await _post(
        client,
        "/api/v1/users",
        {
            "username": f"x_dept_{tag}",
            "display_name": "另一区部门",
            "password": PASSWORD,
            "role": "department",
            "home_area_id": xs,
            "unit_id": unit["id"],
        },
    )
    issue = await _post(client, "/api/v1/issues", issue_body(location=None, area_id=xs))
    attachment = ""
    if attachments_dir is not None:
        r = await client.post(
            f"/api/v1/issues/{issue['id']}/attachments",
            files={"file": ("x.png", PNG, "image/png")},
            headers=auth("other_admin"),
        )
        assert r.status_code == 201, r.text
        attachment = r.json()["id"]
    building = await _post(client, "/api/v1/buildings", {"area_id": grid["id"], "name": "另一区1号楼"})
    household = await _post(client, "/api/v1/households", {"building_id": building["id"], "address": "1单元101"})
    resident = await _post(client, "/api/v1/residents", {"household_id": household["id"], "name": "赵六"})
    key = await _post(client, "/api/v1/api-keys", {"name": "另一区热线"})
    neighbour = await _post(
        client,
        "/api/v1/units",
        {"code": f"NU{tag}", "name": "邻居社区物业", "kind": "property_company", "area_id": str(AREA["C2"].id)},
        user="admin",
    )
    commitments = await _post(
        client,
        "/api/v1/commitment-lists",
        {"area_id": community["id"], "year": 2026, "items": [{"category": "service", "title": "另一区实事"}]},
    )
    proposal = await _post(
        client, "/api/v1/proposals", {"area_id": community["id"], "title": "另一区建议", "content": "增设路灯"}
    )
    return Elsewhere(
        area=xs,
        grid=grid["id"],
        unit=unit["id"],
        department_user=user["id"],
        issue=issue["id"],
        attachment=attachment,
        building=building["id"],
        household=household["id"],
        resident=resident["id"],
        api_key=key["id"],
        neighbour_unit=neighbour["id"],
        commitment_item=commitments["items"][0]["id"],
        proposal=proposal["id"],
    )
