"""Property tests: whatever a client hands back in an opaque value or a date, the answer is a 4xx
with a stable code (or 200 for a valid value), never a 5xx.

The schema fuzzer (``test_fuzz.py``) cannot reach inside an opaque cursor, so these generate what a
client could put there: any text, base64 JSON of odd types (strings for numbers, booleans, nested
arrays, 2^70, timestamps at the calendar's ends), cursors that look signed, real cursors with one
character changed, and — signed with the server's own key — payloads of every odd shape, so the
checks behind the signature hold too. Dates cover the whole calendar, 0001-01-01 to 9999-12-31.

Every list route with a ``cursor`` parameter joins by itself (found in the OpenAPI schema). The
examples are few per property (``EXAMPLES``; ``MINQING_SLOW=1`` runs more) and have no deadline.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from app.errors import AppError
from app.events.hub import parse_event_id
from app.kit import tokens
from app.kit.tokens import TIME_ID
from app.scope import Principal
from app.stats import service as stats
from app.sync.service import PURPOSE as SYNC
from app.sync.service import SHAPE as SYNC_SHAPE
from tests.conftest import auth, make_settings
from tests.issues.helpers import create
from tests.stats.test_stream import Stream, server, stream_url  # noqa: F401 (server is a fixture)
from tests.world import AREA, USER

SLOW = bool(os.environ.get("MINQING_SLOW"))
EXAMPLES = 200 if SLOW else 25
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ADMIN = auth("admin")

# --- what a client could hand back ----------------------------------------------------------------

printable = st.characters(blacklist_categories=("Cs",))  # httpx cannot send lone surrogates
odd_ints = st.sampled_from([2**63, 2**64, 2**70, -1, -(2**63) - 1, 0, 2**62]) | st.integers()
odd_times = st.datetimes(
    min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59), timezones=st.timezones()
).map(lambda t: t.isoformat()) | st.sampled_from(["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00", "x"])
odd_scalars = (
    st.none()
    | st.booleans()
    | odd_ints
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(printable, max_size=20)
    | odd_times.map(lambda t: {"t": t})
    | st.one_of(st.uuids().map(str), st.text(printable, max_size=40)).map(lambda u: {"u": u})
)
odd_values = st.recursive(
    odd_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["t", "u", "x"]), inner, max_size=2),
    max_leaves=8,
)
odd_payloads = st.lists(odd_values, max_size=7)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def b64json(value: Any) -> str:
    return b64(json.dumps(value).encode())


unsigned = odd_payloads.map(b64json)
looks_signed = st.builds(lambda p, tag: f"1.{b64json(p)}.{b64(tag)}", odd_payloads, st.binary(min_size=0, max_size=20))
cursor_texts = st.text(printable, max_size=200) | unsigned | looks_signed


def mutated(real: str) -> st.SearchStrategy[str]:
    """``real`` with one character replaced, cut or doubled."""
    return st.builds(
        lambda i, c, how: (real[:i] + c + real[i + 1 :], real[:i], real + real[i:])[how],
        st.integers(0, len(real) - 1),
        st.sampled_from("ABCabc019-_.="),
        st.integers(0, 2),
    )


def _problem(r: httpx.Response, *codes: str) -> str:
    assert r.status_code < 500, r.text
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    code = r.json()["code"]
    assert not codes or code in codes, r.text
    return code


def _cursor_refused(r: httpx.Response, cursor: str) -> None:
    if cursor == "":
        assert r.status_code == 200, r.text
    elif "\x00" in cursor:
        _problem(r, "nul_character")
    elif len(cursor) > 512:
        _problem(r, "validation_failed")
    else:
        assert r.status_code == 422
        _problem(r, "invalid_cursor")


# --- every list route ---------------------------------------------------------------------------


@pytest.fixture
async def list_urls(app: Any, client: httpx.AsyncClient) -> list[str]:
    """Every GET route with a ``cursor`` parameter, its path parameters filled in."""
    issue = await create(client)
    r = await client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["issue.created"]},
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    volunteer = await client.post(
        "/api/v1/volunteers", json={"kind": "resident", "name": "张三", "consent": True}, headers=ADMIN
    )
    assert volunteer.status_code == 201, volunteer.text
    ids = {"issue_id": issue["id"], "webhook_id": r.json()["id"], "volunteer_id": volunteer.json()["id"]}
    urls = []
    for path, item in app.openapi()["paths"].items():
        operation = item.get("get", {})
        if any(p["name"] == "cursor" and p["in"] == "query" for p in operation.get("parameters", [])):
            urls.append(path.format(**ids))
    assert len(urls) >= 14, urls
    for url in urls:  # each answers the administrator without a cursor
        assert (await client.get(url, headers=ADMIN)).status_code == 200, url
    return urls


@PROPERTY
@given(cursor=cursor_texts)
@example(cursor=b64json([{"t": "0001-01-01T00:00:00+08:00"}, {"u": str(uuid.UUID(int=0))}]))
@example(cursor=b64json([2**70]))
@example(cursor=b64json([True, [["x"]]]))
async def test_no_cursor_text_breaks_a_list(client, list_urls, cursor):
    for url in list_urls:
        _cursor_refused(await client.get(url, params={"cursor": cursor}, headers=ADMIN), cursor)


@PROPERTY
@given(data=st.data())
async def test_a_real_cursor_changed_by_one_character_is_refused(client, data):
    for _ in range(3):
        await create(client)
    real = (await client.get("/api/v1/issues", params={"limit": 1}, headers=ADMIN)).json()["next_cursor"]
    cursor = data.draw(mutated(real))
    r = await client.get("/api/v1/issues", params={"cursor": cursor, "limit": 1}, headers=ADMIN)
    if cursor == real:
        assert r.status_code == 200
    else:
        _cursor_refused(r, cursor)


def _principal(user_key: str) -> Principal:
    user = USER[user_key]
    return Principal(user.id, user.username, user.username, user.role, AREA["D"].id, "x")


NOW = {"t": dt.datetime.now(dt.UTC).isoformat()}


@PROPERTY
@given(payload=odd_payloads)
@example(payload=["\ud800"])
@example(payload=[{"t": "2026-01-01T00:00:00+08:00"}, {"u": "not a uuid"}])
@example(payload=[1, 1, "not a path!", NOW, None, None])
@example(payload=[1, 1, "", NOW, "diary", None])
async def test_odd_values_behind_a_valid_signature_are_refused_not_failed(client, settings, payload):
    """Even a payload the server signed itself is checked: odd types never reach the database."""
    admin = _principal("admin")
    for purpose, url in (("list:diary", "/api/v1/diary-entries"), ("list:users", "/api/v1/users")):
        cursor = tokens.seal(settings, purpose, payload, binding=[admin.idempotency_owner])
        r = await client.get(url, params={"cursor": cursor}, headers=ADMIN)
        if r.status_code != 200:
            _problem(r, "invalid_cursor", "validation_failed")  # the latter: longer than a cursor may be
    gw = _principal("grid_worker")
    since = tokens.seal(settings, SYNC, payload, binding=[gw.idempotency_owner])
    r = await client.get("/api/v1/sync/changes", params={"since": since}, headers=auth("grid_worker"))
    if r.status_code != 200:
        _problem(r, "invalid_cursor", "validation_failed", "cursor_expired", "scope_changed")


@PROPERTY
@given(payload=odd_payloads, shape=st.sampled_from([TIME_ID, (tokens.text,), (tokens.BIGINT,), SYNC_SHAPE]))
def test_opening_a_sealed_payload_yields_typed_values_or_invalid_cursor(payload, shape):
    config = make_settings("postgresql://unused/unused")
    try:
        values = tokens.open_(config, "p", tokens.seal(config, "p", payload), shape)
    except AppError as err:
        assert (err.status, err.code) == (422, "invalid_cursor")
        return
    for value, check in zip(values, shape, strict=True):
        assert check(value if not isinstance(value, dt.datetime | uuid.UUID) else tokens._encode(value)) == value


def test_a_cursor_whose_tag_differs_only_in_its_spare_bits_is_refused():
    """A 16-byte tag takes 22 base64 characters, the last of which carries 4 bits that decoding
    ignores: another character there decodes to the same tag, yet is not the cursor this service
    wrote, and is refused like any other change."""
    import base64

    config = make_settings("postgresql://unused/unused")
    real = tokens.seal(config, "p", ["abc"])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(real[-1])
    twin = next(c for c in alphabet if alphabet.index(c) >> 4 == last >> 4 and c != real[-1])
    forged = real[:-1] + twin
    tag, forged_tag = real.rsplit(".", 1)[1], forged.rsplit(".", 1)[1]
    assert base64.urlsafe_b64decode(tag + "==") == base64.urlsafe_b64decode(forged_tag + "==")
    assert tokens.open_(config, "p", real, (tokens.text,)) == ["abc"]
    with pytest.raises(AppError) as refused:
        tokens.open_(config, "p", forged, (tokens.text,))
    assert (refused.value.status, refused.value.code) == (422, "invalid_cursor")


# --- the sync feed ----------------------------------------------------------------------------------


@PROPERTY
@given(since=cursor_texts | st.sampled_from(["now", ""]))
@example(since=b64json([2**70, 0, "x", {"t": "2026-01-01T00:00:00+00:00"}]))
async def test_no_since_breaks_the_sync_feed(client, since):
    r = await client.get("/api/v1/sync/changes", params={"since": since}, headers=auth("grid_worker"))
    if since in ("", "now"):
        assert r.status_code == 200, r.text
    else:
        _cursor_refused(r, since)


@PROPERTY
@given(data=st.data())
async def test_a_real_sync_cursor_changed_by_one_character_is_refused(client, data):
    real = (await client.get("/api/v1/sync/changes", headers=auth("grid_worker"))).json()["next_cursor"]
    since = data.draw(mutated(real))
    r = await client.get("/api/v1/sync/changes", params={"since": since}, headers=auth("grid_worker"))
    if since == real:
        assert r.status_code == 200
    else:
        _cursor_refused(r, since)


async def test_sync_cursors_at_the_ends_of_xid8(client, settings):
    gw = _principal("grid_worker")
    r = await client.get("/api/v1/sync/changes", headers=auth("grid_worker"))
    path = json.loads(base64.urlsafe_b64decode(r.json()["next_cursor"].split(".")[1] + "=="))[2]
    now = dt.datetime.now(dt.UTC)
    for txid, seq, ok in ((2**64 - 1, 2**63 - 1, True), (0, 0, True), (2**64, 0, False), (-1, 0, False)):
        since = tokens.seal(settings, SYNC, [txid, seq, path, now, None, None], binding=[gw.idempotency_owner])
        r = await client.get("/api/v1/sync/changes", params={"since": since}, headers=auth("grid_worker"))
        assert r.status_code == 200 if ok else (r.status_code == 422 and r.json()["code"] == "invalid_cursor")


# --- the event stream ---------------------------------------------------------------------------


event_ids = (
    st.text(printable, max_size=60)
    | st.builds(lambda a, b: f"{a}-{b}", odd_ints, odd_ints)
    | st.builds(lambda a, b: f"{a}-{b}", st.text("0123456789²٣", max_size=25), st.text("0123456789", max_size=25))
)


@PROPERTY
@given(value=event_ids)
@example(value=f"{2**70}-1")
@example(value="1-²")
async def test_no_last_event_id_breaks_the_stream(client, value):
    try:
        parsed = parse_event_id(value)
    except AppError as err:
        assert (err.status, err.code) == (422, "invalid_cursor")
        headers = {**ADMIN, "Last-Event-ID": value.strip()} if "\n" not in value and "\r" not in value else None
        if headers is not None and value.strip().isascii():
            r = await client.get("/api/v1/events/stream", headers=headers)
            _problem(r, "invalid_cursor")
        return
    if parsed is not None:
        assert 0 <= parsed[0] < 2**64 and 0 <= parsed[1] < 2**63


async def test_last_event_ids_at_the_ends_of_xid8(server):  # noqa: F811 (the fixture)
    base, _ = server
    for value in ("18446744073709551615-9223372036854775807", "0-0"):
        async with Stream(stream_url(base, "street_admin"), {"Last-Event-ID": value}) as s:
            assert s.status == 200
    async with httpx.AsyncClient() as c:
        for value in ("18446744073709551616-0", "0-9223372036854775808", "1-2-3", "x"):
            r = await c.get(stream_url(base, "street_admin"), headers={"Last-Event-ID": value})
            _problem(r, "invalid_cursor")


# --- dates ----------------------------------------------------------------------------------------

any_day = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
day_texts = st.none() | any_day.map(dt.date.isoformat) | st.sampled_from(["0001-01-01", "9999-12-31", "2026-02-30"])
STATS_ROUTES = [
    "/api/v1/stats/overview",
    "/api/v1/stats/areas",
    "/api/v1/stats/workers",
    "/api/v1/stats/timeseries?metric=created",
]


@PROPERTY
@given(first=day_texts, last=day_texts, conditional=st.booleans())
@example(first="0001-01-01", last=None, conditional=False)
@example(first=None, last="9999-12-31", conditional=True)
async def test_no_stats_window_breaks_the_dashboard(client, first, last, conditional):
    params = {k: v for k, v in (("from", first), ("to", last)) if v is not None}
    headers = {**ADMIN, **({"If-None-Match": '"stale"'} if conditional else {})}
    for url in STATS_ROUTES:
        r = await client.get(url, params=params, headers=headers)
        if r.status_code != 200:
            assert r.status_code == 422
            _problem(r, "invalid_window", "validation_failed", "date_out_of_range")


@PROPERTY
@given(first=st.none() | any_day, last=st.none() | any_day)
@example(first=dt.date(1, 1, 1), last=None)
@example(first=None, last=dt.date(9999, 12, 31))
def test_a_window_is_a_window_or_invalid_window(first, last):
    now = dt.datetime.now(dt.UTC)
    try:
        window = stats.window("Asia/Shanghai", first, last, now)
    except AppError as err:
        assert (err.status, err.code) == (422, "invalid_window")
        return
    assert window.start < window.end


w3c_datetimes = st.builds(
    lambda t, cut, zone: t.isoformat(timespec="seconds")[:cut] + (zone if cut > 10 else ""),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59)),
    st.sampled_from([4, 7, 10, 16, 19]),
    st.sampled_from(["", "Z", "+08:00", "-12:00", "+14:00", " 08:00", "+99:99"]),
)
open311_dates = st.none() | w3c_datetimes | st.sampled_from(["9999-12-31T23:59:59Z", "0001-01-01", "9999"])


@PROPERTY
@given(start=open311_dates, end=open311_dates)
@example(start="9999-12-31T23:59:59Z", end=None)
@example(start=None, end="0001-01-01T00:00:00+08:00")
async def test_no_open311_dates_break_the_request_list(client, start, end):
    params = {"jurisdiction_id": "T01"}
    params.update({k: v for k, v in (("start_date", start), ("end_date", end)) if v is not None})
    r = await client.get("/open311/v2/requests.json", params=params)
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        errors = r.json()
        assert errors[0]["code"] == 400 and errors[0]["description"]


# --- tokens in paths: resident feedback links, Open311 tokens -------------------------------------

# A slash would be a path separator once decoded: routing, not a token.
path_tokens = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/"), min_size=1, max_size=120)
path_tokens |= st.builds(str, st.uuids())


@PROPERTY
@given(token=path_tokens)
async def test_no_token_breaks_a_feedback_link_or_an_open311_lookup(client, token):
    segment = quote(token, safe="")
    r = await client.post(f"/api/v1/feedback/{segment}", json={"rating": "satisfied", "solved": True})
    _problem(r, "feedback_not_found", "validation_failed", "nul_character", "rate_limited", "not_found")
    r = await client.get(f"/open311/v2/tokens/{segment}.json", params={"jurisdiction_id": "T01"})
    assert r.status_code in (400, 404), (token, r.text)
    assert r.json()[0]["code"] == r.status_code, (token, r.text)
