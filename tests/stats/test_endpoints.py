"""The stats routes: caching (ETag / 304 after one query), scope, parameters, sorting, timeseries gaps."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy import event

from tests.conftest import auth
from tests.issues.helpers import act, create
from tests.stats.conftest import Clock
from tests.world import AREA, USER


def count_queries(app) -> list[str]:
    statements: list[str] = []
    event.listen(app.state.engine.sync_engine, "before_cursor_execute", lambda c, cur, s, *a: statements.append(s))
    return statements


async def test_if_none_match_answers_304_after_one_query_until_something_changes(app, client, fake_clock: Clock):
    fake_clock.at("2026-11-23 09:00")
    await create(client)
    url = "/api/v1/stats/overview"
    first = await client.get(url, headers=auth("viewer"))
    tag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, max-age=30"

    statements = count_queries(app)
    again = await client.get(url, headers={**auth("viewer"), "If-None-Match": tag})
    assert again.status_code == 304 and again.headers["ETag"] == tag and not again.content
    assert len(statements) == 1, statements  # the caller, the area and its fingerprint: one statement

    fake_clock.at("2026-11-23 09:00:40")  # same minute, nothing changed
    assert (await client.get(url, headers={**auth("viewer"), "If-None-Match": tag})).status_code == 304
    fake_clock.at("2026-11-23 09:01")  # the "now" figures may have moved
    assert (await client.get(url, headers={**auth("viewer"), "If-None-Match": tag})).status_code == 200

    tag = (await client.get(url, headers=auth("viewer"))).headers["ETag"]
    await create(client, user="grid_worker_g3", location={"lat": 34.05, "lng": 108.15})
    changed = await client.get(url, headers={**auth("viewer"), "If-None-Match": tag})
    assert changed.status_code == 200 and changed.json()["issues"]["total"] == 2
    # a change elsewhere leaves G1's figures cached
    g1 = f"{url}?area_id={AREA['G1'].id}"
    tag = (await client.get(g1, headers=auth("viewer"))).headers["ETag"]
    await create(client, user="grid_worker_g3", location={"lat": 34.05, "lng": 108.15})
    assert (await client.get(g1, headers={**auth("viewer"), "If-None-Match": tag})).status_code == 304
    # different parameters, different tag
    other = await client.get(f"{g1}&from=2026-11-01&to=2026-11-23", headers={**auth("viewer"), "If-None-Match": tag})
    assert other.status_code == 200


async def test_scope_roles_and_parameters(client, fake_clock: Clock):
    fake_clock.at("2026-12-15 09:00")
    viewer = auth("viewer")
    r = await client.get(f"/api/v1/stats/overview?area_id={AREA['XS'].id}", headers=viewer)
    assert r.status_code == 422 and r.json()["code"] == "unknown_area"
    r = await client.get(f"/api/v1/stats/overview?area_id={AREA['G2'].id}", headers=auth("grid_worker"))
    assert r.status_code == 422
    r = await client.get("/api/v1/stats/overview?from=2026-11-10&to=2026-11-01", headers=viewer)
    assert r.status_code == 422 and r.json()["code"] == "invalid_window"
    r = await client.get("/api/v1/stats/overview?from=2020-01-01&to=2026-11-01", headers=viewer)
    assert r.status_code == 422
    r = await client.get("/api/v1/stats/timeseries?metric=nonsense", headers=viewer)
    assert r.status_code == 422
    assert (await client.get("/api/v1/stats/overview", headers=auth("department"))).status_code == 403
    assert (await client.get("/api/v1/stats/overview", headers=auth("integration"))).status_code == 403
    o = (await client.get("/api/v1/stats/overview", headers=auth("grid_worker"))).json()
    assert o["area"]["id"] == str(AREA["G1"].id)
    window = (await client.get("/api/v1/stats/overview?from=2026-11-01", headers=viewer)).json()
    assert (window["from"], window["to"]) == ("2026-11-01", "2026-11-30")
    window = (await client.get("/api/v1/stats/overview", headers=viewer)).json()
    assert (window["from"], window["to"]) == ("2026-11-16", "2026-12-15")


async def test_ranking_sorts_with_nulls_last_and_timeseries_has_no_gaps(client, fake_clock: Clock):
    fake_clock.at("2026-11-02 09:00")
    issue = await create(client)
    fake_clock.at("2026-11-02 10:00")
    await act(client, issue, "accept", "grid_worker")
    fake_clock.at("2026-11-20 10:00")
    q = "from=2026-11-01&to=2026-11-30"
    for order in ("desc", "asc"):
        rows = (
            await client.get(
                f"/api/v1/stats/areas?{q}&parent_id={AREA['C'].id}&sort=response_rate&order={order}",
                headers=auth("viewer"),
            )
        ).json()["items"]
        assert [row["area"]["name"] for row in rows] == ["第一网格", "第二网格"]  # G2 has no rate: last
        assert rows[0]["rates"]["response_rate"] == {"value": 1.0, "numerator": 1, "denominator": 1}
    points = (
        await client.get(f"/api/v1/stats/timeseries?metric=issues_created&bucket=month&{q}", headers=auth("viewer"))
    ).json()["points"]
    assert points == [{"t": "2026-11-01", "value": 1}]
    days = (await client.get(f"/api/v1/stats/timeseries?metric=satisfaction_rate&{q}", headers=auth("viewer"))).json()[
        "points"
    ]
    assert len(days) == 30 and days[5]["value"] == {"value": None, "numerator": 0, "denominator": 0}


async def test_writers_in_one_grid_do_not_wait_for_each_other(db_url):
    """Aggregates are append-only deltas: two open transactions touching the same grid and day
    both proceed (no hot counter row), and the figures add up after both commit."""
    dsn = db_url.replace("postgresql+asyncpg://", "postgresql://")
    t1, t2 = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    insert = (
        "INSERT INTO diary_entries (id, author_id, area_id, visited_at, kind, content) "
        "VALUES (gen_random_uuid(), $1, $2, now(), 'situation', 'x')"
    )
    try:
        async with t1.transaction():
            await t1.execute(insert, USER["grid_worker"].id, AREA["G1"].id)
            async with t2.transaction():
                await asyncio.wait_for(t2.execute(insert, USER["grid_worker"].id, AREA["G1"].id), 5)
        total = await t1.fetchval("SELECT sum(logged) FROM stats_diary_daily WHERE area_id = $1", AREA["G1"].id)
        assert total == 2
        await t1.execute("SELECT stats_compact()")
        rows = await t1.fetch("SELECT logged FROM stats_diary_daily WHERE area_id = $1", AREA["G1"].id)
        assert [r["logged"] for r in rows] == [2]
    finally:
        await t1.close()
        await t2.close()


async def test_aggregate_columns_match_the_database(db_url):
    from app.stats.tables import metadata

    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for table in metadata.tables.values():
            rows = await conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
                table.name,
            )
            assert [r["column_name"] for r in rows] == list(table.columns.keys())
    finally:
        await conn.close()


async def test_cli_rebuild_and_compact_keep_the_figures(client, db_url):
    from app.cli import _stats

    await create(client)
    before = (await client.get("/api/v1/stats/overview", headers=auth("viewer"))).json()["issues"]
    assert await _stats(db_url, "rebuild") == 0
    await _stats(db_url, "compact")
    after = (await client.get("/api/v1/stats/overview", headers=auth("viewer"))).json()["issues"]
    assert after == before and after["total"] == 1
    # `minqing stats compact` folds what the worker folds: the areas' change counters too.
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert await conn.fetchval("SELECT count(*) FROM stats_subtree_changes WHERE fresh") == 0
    finally:
        await conn.close()


async def test_the_etag_follows_area_edits_and_survives_compaction(app, client, db_url, fake_clock: Clock):
    """The fingerprint is rolled up to every ancestor: renaming a grid changes the street's and the
    district's ETags but not a sibling community's; folding the counters changes no ETag."""
    fake_clock.at("2026-11-23 09:00")
    await create(client)
    urls = {k: f"/api/v1/stats/overview?area_id={AREA[k].id}" for k in ("D", "S", "C", "C2")}
    tags = {k: (await client.get(u, headers=auth("admin"))).headers["ETag"] for k, u in urls.items()}

    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("SELECT stats_compact(), stats_compact_subtree()")
        assert await conn.fetchval("SELECT count(*) FROM stats_subtree_changes WHERE fresh") == 0
    finally:
        await conn.close()
    for k, u in urls.items():
        assert (await client.get(u, headers={**auth("admin"), "If-None-Match": tags[k]})).status_code == 304, k

    grid = f"/api/v1/areas/{AREA['G1'].id}"
    current = await client.get(grid, headers=auth("admin"))
    renamed = await client.patch(
        grid, json={"name": "第一网格(东)"}, headers={**auth("admin"), "If-Match": current.headers["ETag"]}
    )
    assert renamed.status_code == 200, renamed.text
    for k in ("D", "S", "C"):
        assert (await client.get(urls[k], headers={**auth("admin"), "If-None-Match": tags[k]})).status_code == 200, k
    assert (await client.get(urls["C2"], headers={**auth("admin"), "If-None-Match": tags["C2"]})).status_code == 304
