"""The public notice (公示) of commitment lists and their stats, computed from kept aggregates.

One community, or every community under a street or district: each published (or year-end closed)
list with its items' progress and ratings, no personal data (no responsible persons, no comments).
Figures come with their numerators and denominators; shares are exact decimals to 4 places.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.commitments import repository, schedule
from app.commitments.models import Category, CommitmentItem, CommitmentList
from app.commitments.schemas import MilestoneOut, ProgressOut, RatingsOut
from app.commitments.service import milestones_out, progress_of, progress_out, ratings_of, ratio
from app.commitments.workflow import PUBLIC_STATUSES, ListStatus
from app.db import ReadPool
from app.events.hub import Watch
from app.grids.models import Area
from app.kit.schemas import OutputModel


class Summary(OutputModel):
    communities: int = Field(description="communities with a published list")
    items: int = Field(description="items published (the denominator of the shares below)")
    on_track: int
    behind: int
    done: int
    rated_items: int = Field(description="items with at least one evaluation")
    ratings: int = Field(description="evaluations (the denominator of satisfaction)")
    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    on_course_rate: str | None = Field(description="(on_track + done) ÷ items")
    done_rate: str | None = Field(description="done ÷ items")
    satisfaction: str | None = Field(description="(satisfied + basically_satisfied) ÷ ratings")


class PublicItem(OutputModel):
    position: int
    category: Category
    title: str
    description: str
    budget_yuan: int | None
    schedule: dict[str, object] | None
    milestones: list[MilestoneOut]
    progress: ProgressOut
    ratings: RatingsOut


class PublicList(OutputModel):
    list_id: uuid.UUID
    area_id: uuid.UUID
    area_name: str
    year: int
    title: str
    status: ListStatus
    published_at: dt.datetime | None
    closed_at: dt.datetime | None
    rank: int = Field(description="among the communities of the notice: on-course rate, then satisfaction")
    summary: Summary
    items: list[PublicItem]


class GroupSummary(OutputModel):
    area_id: uuid.UUID
    area_name: str
    summary: Summary


class PublicNotice(OutputModel):
    area_id: uuid.UUID
    area_name: str
    area_level: str
    year: int
    as_of: dt.date = Field(description="the local date the progress is computed for")
    summary: Summary
    streets: list[GroupSummary] = Field(description="roll-up per street (one per street with published lists)")
    lists: list[PublicList] = Field(description="ranked, best first")


def _summary(items: Sequence[CommitmentItem], on: dt.date, communities: int) -> Summary:
    counts = {schedule.ON_TRACK: 0, schedule.BEHIND: 0, schedule.DONE: 0}
    sat = basic = dis = rated = 0
    for item in items:
        counts[progress_of(item, on).status] += 1
        sat, basic, dis = sat + item.rated_satisfied, basic + item.rated_basically, dis + item.rated_dissatisfied
        rated += 1 if item.rated_satisfied + item.rated_basically + item.rated_dissatisfied else 0
    n, ratings = len(items), sat + basic + dis
    return Summary(
        communities=communities,
        items=n,
        on_track=counts[schedule.ON_TRACK],
        behind=counts[schedule.BEHIND],
        done=counts[schedule.DONE],
        rated_items=rated,
        ratings=ratings,
        satisfied=sat,
        basically_satisfied=basic,
        dissatisfied=dis,
        on_course_rate=ratio(counts[schedule.ON_TRACK] + counts[schedule.DONE], n),
        done_rate=ratio(counts[schedule.DONE], n),
        satisfaction=ratio(sat + basic, ratings),
    )


def summarize(items: Sequence[CommitmentItem], on: dt.date) -> Summary:
    """The figures of one community's items on local day ``on``."""
    return _summary(items, on, 1)


def _sum(parts: Sequence[Summary]) -> Summary:
    keys = ("items", "on_track", "behind", "done", "rated_items", "ratings", "satisfied", "basically_satisfied")
    total = {k: sum(getattr(p, k) for p in parts) for k in (*keys, "dissatisfied", "communities")}
    return Summary(
        **total,
        on_course_rate=ratio(total["on_track"] + total["done"], total["items"]),
        done_rate=ratio(total["done"], total["items"]),
        satisfaction=ratio(total["satisfied"] + total["basically_satisfied"], total["ratings"]),
    )


def _public_item(item: CommitmentItem, on: dt.date) -> PublicItem:
    return PublicItem(
        position=item.position,
        category=item.category,
        title=item.title,
        description=item.description,
        budget_yuan=item.budget_yuan,
        schedule=item.schedule,
        milestones=milestones_out(item),
        progress=progress_out(item, on),
        ratings=ratings_of(item),
    )


def _rank_key(entry: PublicList) -> tuple[Any, ...]:
    s = entry.summary
    on_course = -(float(s.on_course_rate) if s.on_course_rate else 0.0)
    satisfaction = -(float(s.satisfaction) if s.satisfaction else 0.0)
    return on_course, satisfaction, entry.area_name


async def notice(
    session: AsyncSession, area: Area, year: int, on: dt.date, statuses: Sequence[str] = tuple(PUBLIC_STATUSES)
) -> PublicNotice:
    rows = await repository.public_lists(session, area.path, year, statuses)
    lists: list[CommitmentList] = [r[0] for r in rows]
    names = {r[0].id: r[1] for r in rows}
    items = await repository.items_of(session, [row.id for row in lists])
    parents = dict(
        (await session.execute(sa.select(Area.id, Area.parent_id).where(Area.id.in_([r.area_id for r in lists])))).all()
    )
    entries = [
        PublicList(
            list_id=row.id,
            area_id=row.area_id,
            area_name=names[row.id],
            year=row.year,
            title=row.title,
            status=row.status,
            published_at=row.published_at,
            closed_at=row.closed_at,
            rank=0,
            summary=_summary(items[row.id], on, 1),
            items=[_public_item(i, on) for i in items[row.id]],
        )
        for row in lists
    ]
    entries.sort(key=_rank_key)
    for n, entry in enumerate(entries, start=1):
        entry.rank = n
    by_street: dict[uuid.UUID, list[Summary]] = {}
    for entry in entries:
        street = parents.get(entry.area_id)
        if street is not None:
            by_street.setdefault(street, []).append(entry.summary)
    street_names = await repository.area_names(session, list(by_street))
    streets = sorted(
        (
            GroupSummary(area_id=s, area_name=street_names.get(s, ""), summary=_sum(parts))
            for s, parts in by_street.items()
        ),
        key=lambda g: g.area_name,
    )
    return PublicNotice(
        area_id=area.id,
        area_name=area.name,
        area_level=area.level,
        year=year,
        as_of=on,
        summary=_sum([e.summary for e in entries]),
        streets=streets,
        lists=entries,
    )


async def etag(db: ReadPool | AsyncSession, area_id: uuid.UUID, year: int, on: dt.date, kind: str) -> str | None:
    """A strong ETag of a notice, from one statement: what it is built from (the area's, every
    list's and item's version) and the local date (progress moves at local midnight without any
    write). None when there is no such area."""
    parts = await repository.public_fingerprint(db, area_id, year)
    if parts is None:
        return None
    raw = f"{kind}|{area_id}|{year}|{on}|{parts}"
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


# Rendered notices by ETag, per worker. The ETag is what a 304 already vouches for (every list's and
# item's version, the area, the year and the local day), so a body kept under it is the body a
# fresh render would give; a change to any list or item moves the ETag and the next read renders
# anew. A district's notice is ≈ 100 KB of JSON and costs tens of milliseconds to build: readers of
# a published notice mostly find it here.
RENDERED_KEPT = 64
_rendered: OrderedDict[str, bytes] = OrderedDict()


def rendered(tag: str) -> bytes | None:
    body = _rendered.get(tag)
    if body is not None:
        _rendered.move_to_end(tag)
    return body


def keep(tag: str, body: bytes) -> bytes:
    _rendered[tag] = body
    _rendered.move_to_end(tag)
    while len(_rendered) > RENDERED_KEPT:
        _rendered.popitem(last=False)
    return body


def gzipped(tag: str, body: bytes) -> bytes:
    """``body`` (the notice kept under ``tag``) compressed with gzip, kept beside it: a district's
    113 KB of JSON is ≈ 10 KB on a phone's connection, compressed once per change."""
    key = f"{tag}|gzip"
    return rendered(key) or keep(key, gzip.compress(body, compresslevel=6, mtime=0))


class KeptTags(Watch):
    """The notices' ETags, per process, between changes: the ETag costs a statement that every
    read of a public notice would otherwise make. A change to an area, a list or an item
    notifies ``minqing_public`` on commit (a statement trigger) and the event hub's listening
    connection forgets them all; nothing is kept while that connection is down, and nothing longer
    than ``public_notice_tag_seconds``. One per application (``app.state.public_tags``)."""

    channel = "minqing_public"
    LIMIT = 1024

    def __init__(self) -> None:
        super().__init__()
        self._tags: dict[tuple[Any, ...], tuple[str, float]] = {}

    def get(self, key: tuple[Any, ...]) -> str | None:
        entry = self._tags.get(key) if self.live else None
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, key: tuple[Any, ...], tag: str, generation: int, seconds: float) -> None:
        """Keep ``tag``, read when :attr:`generation` was ``generation``: unless a change came since."""
        if not self.live or seconds <= 0 or generation != self.generation:
            return
        if len(self._tags) >= self.LIMIT:
            self._tags.clear()
        self._tags[key] = (tag, time.monotonic() + seconds)

    def forget(self) -> None:
        super().forget()
        self._tags.clear()
