"""SLA policies and categories through the API; the issues migration is reversible."""

from __future__ import annotations

import asyncio
import datetime as dt

from tests.conftest import auth
from tests.issues.helpers import create


async def test_sla_policies_replace_and_apply_to_new_issues(client):
    r = await client.get("/api/v1/sla-policies", headers=auth("community_admin"))
    assert r.status_code == 200
    assert {"category": None, "priority": None, "kind": None} in [
        {k: p[k] for k in ("category", "priority", "kind")} for p in r.json()["items"]
    ]
    body = {
        "items": [
            {
                "respond_within": {"amount": 24, "unit": "hours"},
                "resolve_within": {"amount": 5, "unit": "working_days"},
            },
            {
                "category": "lighting",
                "priority": "normal",
                "respond_within": {"amount": 4, "unit": "hours"},
                "resolve_within": {"amount": 48, "unit": "hours"},
            },
        ]
    }
    assert (await client.put("/api/v1/sla-policies", json=body, headers=auth("community_admin"))).status_code == 403
    r = await client.put("/api/v1/sla-policies", json=body, headers=auth("admin"))
    assert r.status_code == 200 and len(r.json()["items"]) == 2
    issue = await create(client)

    created = dt.datetime.fromisoformat(issue["created_at"])
    assert dt.datetime.fromisoformat(issue["respond_due_at"]) - created == dt.timedelta(hours=4)
    assert dt.datetime.fromisoformat(issue["resolve_due_at"]) - created == dt.timedelta(hours=48)
    r = await client.put("/api/v1/sla-policies", json={"items": body["items"][1:]}, headers=auth("admin"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_sla_policies"


async def test_categories_and_enums(client):
    cats = {c["code"]: c for c in (await client.get("/api/v1/issue-categories", headers=auth("viewer"))).json()}
    assert cats["ev_charging"]["parent_code"] == "facility" and cats["welfare"]["name"] == "帮扶"
    enums = (await client.get("/api/v1/meta/enums")).json()
    assert {"value": "dissatisfied", "label": "不满意"} in enums["rating"]
    assert {"value": "due_soon", "label": "预警"} in enums["sla_state"]


async def test_migration_upgrade_downgrade_upgrade(empty_db_url):
    from alembic import command

    from app.migrations_state import alembic_config

    def cycle() -> None:
        config = alembic_config(empty_db_url)
        command.upgrade(config, "head")
        command.downgrade(config, "0001_foundation")
        command.upgrade(config, "head")
        command.downgrade(config, "base")

    await asyncio.to_thread(cycle)
