"""issue.due_soon / issue.overdue: emitted by the worker once per issue, state and deadline."""

from __future__ import annotations

from tests.integrations.webhook_helpers import run, sql, subscribe
from tests.issues.helpers import create


async def _notices(app) -> list[tuple[str, str]]:
    rows = await sql(
        app, "SELECT event_type, aggregate_id::text FROM outbox WHERE event_type LIKE 'issue.%due%' ORDER BY id"
    )
    return [(r[0], r[1]) for r in rows]


async def test_overdue_and_due_soon_are_sent_once_per_deadline(app, client, receiver, http):
    await subscribe(client, receiver.url, ["issue.due_soon", "issue.overdue"])
    issue = await create(client)
    quiet = await create(client, title="另一件事")
    assert (await run(app, http)).sla_notices == 0

    await sql(
        app,
        "UPDATE issues SET due_soon_at = now() - interval '2 hours', due_at = now() + interval '1 hour' WHERE id = :id",
        id=issue["id"],
    )
    assert (await run(app, http)).sla_notices == 1
    assert (await run(app, http)).sla_notices == 0  # once
    await sql(app, "UPDATE issues SET due_at = now() - interval '1 minute' WHERE id = :id", id=issue["id"])
    assert (await run(app, http)).sla_notices == 1
    assert (await run(app, http)).sla_notices == 0

    # an extension moves the deadline: the warning may come again for the new one
    await sql(app, "UPDATE issues SET due_at = now() + interval '3 hours' WHERE id = :id", id=issue["id"])
    assert (await run(app, http)).sla_notices == 1

    assert await _notices(app) == [
        ("issue.due_soon", issue["id"]),
        ("issue.overdue", issue["id"]),
        ("issue.due_soon", issue["id"]),
    ]
    assert [r.json["type"] for r in receiver.received] == ["issue.due_soon", "issue.overdue", "issue.due_soon"]
    data = receiver.received[1].json["data"]
    assert data["number"] == issue["number"] and data["due_at"] and data["area_id"] == issue["area_id"]
    assert all(r.json["data"]["issue_id"] != quiet["id"] for r in receiver.received)


async def test_closed_issues_get_no_notices(app, client, http):
    issue = await create(client)
    await sql(
        app,
        "UPDATE issues SET status = 'closed', due_at = NULL, due_soon_at = NULL WHERE id = :id",
        id=issue["id"],
    )
    assert (await run(app, http)).sla_notices == 0
