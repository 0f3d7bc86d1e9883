"""Delivery under failure: outages, 410, Retry-After, exhausted retries, crashed workers, many workers."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict

from app.integrations.webhooks import repository, worker
from app.integrations.webhooks.backoff import MAX_ATTEMPTS
from app.kit.ids import new_id
from tests.conftest import auth
from tests.integrations.receiver import Receiver, free_port
from tests.integrations.webhook_helpers import deliveries, emit, make_due, run, sql, subscribe


async def test_an_outage_loses_nothing_and_keeps_each_aggregate_in_order(app, client, http):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks"
    await subscribe(client, url)
    issues = [new_id() for _ in range(3)]
    sent: dict[str, list[str]] = defaultdict(list)
    for round_ in range(4):
        for issue_id in issues:
            event = "issue.created" if round_ == 0 else "issue.dispatched"
            sent[str(issue_id)].append(await emit(app, event, issue_id, step=round_))

    stats = await run(app, http)  # nobody listens: connection refused
    # only the first event of each issue was tried; the later ones wait behind it
    assert stats.outcomes == {"retry": 3}
    [[errors]] = await sql(app, "SELECT count(*) FROM webhook_attempts WHERE error LIKE 'ConnectError%'")
    assert errors == 3

    async with Receiver(port) as receiver:
        for _ in range(3):  # the receiver fails now and then while it recovers
            await make_due(app)
            receiver.answer = lambda r: (
                (503, {}) if r.json["data"]["step"] == 1 and len(receiver.received) < 6 else (200, {})
            )
            await run(app, http)
        await make_due(app)
        await run(app, http)

    got: dict[str, list[str]] = defaultdict(list)
    for r in receiver.received:
        got[r.json["data"]["issue_id"]].append(r.webhook_id)
    for issue_id, events in sent.items():
        # every event, in order; a retried one only repeats its own id
        assert list(dict.fromkeys(got[issue_id])) == events
    [[pending]] = await sql(app, "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")
    assert pending == 0


async def test_410_disables_the_subscription_and_cancels_its_queue(app, client, receiver, http):
    sub = await subscribe(client, receiver.url)
    issue_id = new_id()
    await emit(app, aggregate_id=issue_id)
    await emit(app, "issue.dispatched", aggregate_id=issue_id)
    receiver.answer = lambda _r: (410, {})

    stats = await run(app, http)
    assert stats.outcomes == {"gone": 1}
    got = (await client.get(f"/api/v1/webhooks/{sub['id']}", headers=auth("admin"))).json()
    assert got["is_active"] is False and "410" in got["disabled_reason"]
    assert {d["status"] for d in await deliveries(client, sub["id"])} == {"cancelled"}

    await emit(app)
    await run(app, http)
    assert len(receiver.received) == 1
    assert len(await deliveries(client, sub["id"], status="cancelled")) == 2


async def test_retry_after_is_honoured(app, client, receiver, http):
    sub = await subscribe(client, receiver.url)
    await emit(app)
    receiver.answer = lambda _r: (429, {"Retry-After": "3600"})
    before = dt.datetime.now(dt.UTC)
    await run(app, http)

    [delivery] = await deliveries(client, sub["id"])
    assert delivery["status"] == "pending" and delivery["last_status_code"] == 429
    wait = dt.datetime.fromisoformat(delivery["next_attempt_at"]) - before
    assert dt.timedelta(seconds=3600) <= wait < dt.timedelta(seconds=3700)
    assert (await run(app, http)).sent == 0  # not due yet


async def test_after_the_last_attempt_it_is_dead_and_replay_sends_it_again(app, client, receiver, http):
    sub = await subscribe(client, receiver.url)
    event_id = await emit(app)
    receiver.answer = lambda _r: (500, {})
    await run(app, http)
    [delivery] = await deliveries(client, sub["id"])
    assert delivery["status"] == "pending" and delivery["attempts"] == 1

    await sql(app, "UPDATE webhook_deliveries SET attempts = :n", n=MAX_ATTEMPTS - 1)
    await make_due(app)
    assert (await run(app, http)).outcomes == {"dead": 1}
    [delivery] = await deliveries(client, sub["id"], status="dead")
    assert delivery["next_attempt_at"] is None and delivery["last_error"] == "HTTP 500"

    replay = f"/api/v1/webhooks/{sub['id']}/deliveries/{delivery['id']}/replay"
    receiver.answer = lambda _r: (204, {})
    r = await client.post(replay, headers=auth("admin"))
    assert r.status_code == 202 and r.json()["status"] == "pending"
    assert (await client.post(replay, headers=auth("admin"))).json()["code"] == "webhook_delivery_pending"
    assert (await run(app, http)).outcomes == {"delivered": 1}
    assert [r.webhook_id for r in receiver.received] == [event_id] * 3

    # a delivered one may be replayed too (a receiver that lost its copy)
    assert (await client.post(replay, headers=auth("admin"))).status_code == 202
    await run(app, http)
    r = await client.get(f"/api/v1/webhooks/{sub['id']}/deliveries/{delivery['id']}", headers=auth("admin"))
    assert r.json()["status"] == "delivered" and len(r.json()["attempt_log"]) == 4


async def test_a_worker_killed_mid_send_loses_nothing(app, client, receiver, http):
    sub = await subscribe(client, receiver.url)
    event_id = await emit(app)
    receiver.hang = True
    killed = asyncio.create_task(run(app, http))
    await asyncio.wait_for(receiver.got_request.wait(), 5)
    killed.cancel()  # the worker dies after its lease was committed, before any answer
    await asyncio.gather(killed, return_exceptions=True)
    receiver.hang = False

    [delivery] = await deliveries(client, sub["id"])
    assert delivery["status"] == "pending" and delivery["attempts"] == 1
    assert (await run(app, http)).sent == 0  # the lease is still live: nobody else sends it

    await sql(app, "UPDATE webhook_deliveries SET locked_until = now() - interval '1 second'")
    assert (await run(app, http)).outcomes == {"delivered": 1}
    assert [r.webhook_id for r in receiver.received] == [event_id, event_id]


async def test_a_worker_that_lost_its_lease_does_not_overwrite_the_new_owner(app, client, receiver, http):
    sub = await subscribe(client, receiver.url)
    await emit(app)
    await run(app, http, sla=False)  # fan out and deliver once, so a delivery row exists
    await sql(app, "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now() - interval '1 second'")

    sessions = app.state.sessionmaker
    async with sessions() as session, session.begin():
        now = dt.datetime.now(dt.UTC)
        [stale] = await repository.claim_deliveries(session, now, 10, dt.timedelta(seconds=-1), new_id())
    async with sessions() as session, session.begin():  # its lease has expired: another worker takes over
        [fresh] = await repository.claim_deliveries(session, now, 10, worker.LEASE, new_id())
    assert fresh.id == stale.id and fresh.attempt == stale.attempt + 1

    late = worker.AttemptResult(started_at=now, duration_ms=5, status_code=500)
    assert await worker.settle(sessions, stale, late) == "lease_lost"
    ok = worker.AttemptResult(started_at=now, duration_ms=5, status_code=200)
    assert await worker.settle(sessions, fresh, ok) == "delivered"
    [delivery] = await deliveries(client, sub["id"])
    assert delivery["status"] == "delivered" and len(delivery["attempt_log"]) == 3


async def test_a_crash_during_fan_out_leaves_the_event_in_the_outbox(app, client, receiver, http):
    await subscribe(client, receiver.url)
    event_id = await emit(app)
    async with app.state.sessionmaker() as session:
        async with session.begin():
            claimed = await repository.claim_outbox(session, dt.datetime.now(dt.UTC), 10)
            assert len(claimed) == 1
            # a second worker skips the locked row instead of fanning it out twice
            assert (await run(app, http, sla=False)).fanned_out == 0
            await session.rollback()  # the first worker dies before committing
    stats = await run(app, http)
    assert stats.fanned_out == 1 and stats.outcomes == {"delivered": 1}
    assert [r.webhook_id for r in receiver.received] == [event_id]


async def test_workers_running_side_by_side_send_each_event_once(app, client, receiver, settings):
    await subscribe(client, receiver.url)
    issues = [new_id() for _ in range(6)]
    sent = [await emit(app, "issue.dispatched", issues[i % 6], n=i) for i in range(30)]

    clients = [worker.http_client(settings) for _ in range(3)]
    try:
        for _ in range(4):
            await asyncio.gather(*(run(app, c, sla=False) for c in clients))
    finally:
        for c in clients:
            await c.aclose()
    ids = [r.webhook_id for r in receiver.received]
    assert sorted(ids) == sorted(sent)  # each exactly once: no crash, no duplicate
    for issue_id in issues:
        mine = [r.json["data"]["n"] for r in receiver.received if r.json["data"]["issue_id"] == str(issue_id)]
        assert mine == sorted(mine)


async def test_notify_wakes_the_worker_without_waiting_for_the_poll(app, client, receiver, monkeypatch):
    monkeypatch.setattr(worker, "POLL_SECONDS", 30.0)
    await subscribe(client, receiver.url)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.serve(app.state.sessionmaker, app.state.settings, stop))
    try:
        await asyncio.sleep(0.5)  # listening, idle
        event_id = await emit(app)
        await asyncio.wait_for(receiver.got_request.wait(), 5)
        assert receiver.received[0].webhook_id == event_id
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)  # a graceful stop


async def test_the_api_process_runs_the_worker_when_configured(db_url, client, receiver):
    from app.main import create_app
    from tests.conftest import make_settings

    await subscribe(client, receiver.url)
    application = create_app(make_settings(db_url, run_worker_in_process=True))
    async with application.router.lifespan_context(application):
        event_id = await emit(application)
        await asyncio.wait_for(receiver.got_request.wait(), 10)
        task = application.state.webhook_worker
    assert task.done() and not task.cancelled()  # stopped with the app, not killed
    assert receiver.received[0].webhook_id == event_id


async def test_minqing_worker_stops_on_sigterm(db_url):
    import os
    import signal
    import sys

    env = {**os.environ, "DATABASE_URL": db_url, "MINQING_LOG_JSON": "false"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from app.cli import app; app()",
        "worker",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert proc.stdout is not None
        output = b""
        async with asyncio.timeout(20):
            while b"worker running" not in output:
                line = await proc.stdout.readline()
                assert line, output.decode()
                output += line
        proc.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(proc.communicate(), 15)
        assert proc.returncode == 0, (output + rest).decode()
        assert b"worker stopped" in rest
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_the_relay_reads_only_unprocessed_events_however_many_were_processed(app):
    """The claim's cost does not grow with the day's processed events: it reads the unprocessed
    ones from their own index in id order, instead of walking the primary key past every event
    processed before them (as PostgreSQL chose to when more are waiting than a batch takes)."""
    import json

    from sqlalchemy.dialects import postgresql

    def insert(n: int, processed: str) -> str:
        return (
            "INSERT INTO outbox (event_id, event_type, aggregate_type, aggregate_id, payload, area_id, created_at,"
            f" available_at, processed_at) SELECT gen_random_uuid(), 'issue.created', 'issue', gen_random_uuid(),"
            f" '{{}}'::jsonb, NULL, now(), now(), {processed} FROM generate_series(1, {n})"
        )

    await sql(app, insert(5000, "now()"))  # the day's processed events …
    await sql(app, insert(600, "NULL"))  # … and those waiting, more than one batch
    await sql(app, "ANALYZE outbox")
    claim = repository.outbox_claim(dt.datetime.now(dt.UTC), 200).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    (plan,) = (await sql(app, f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {claim}"))[0]
    root = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]

    def walk(node):  # type: ignore[no-untyped-def]
        yield node
        for child in node.get("Plans", []):
            yield from walk(child)

    assert root["Actual Rows"] == 200  # one batch
    assert sum(node.get("Rows Removed by Filter", 0) for node in walk(root)) == 0
