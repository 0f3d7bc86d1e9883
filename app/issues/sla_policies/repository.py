"""All SQL for SLA policies."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.issues.models import SlaPolicyRow
from app.issues.sla import Duration, PolicyKey, SlaPolicy, Unit


def policy_entry(
    category: str | None,
    priority: str | None,
    kind: str | None,
    respond_amount: float,
    respond_unit: str,
    resolve_amount: float,
    resolve_unit: str,
) -> tuple[PolicyKey, SlaPolicy]:
    """A stored policy row (its columns in table order) as the key and policy :func:`pick_policy` reads."""
    key = PolicyKey(category, priority, kind)  # type: ignore[arg-type]
    policy = SlaPolicy(
        respond_within=Duration(float(respond_amount), Unit(respond_unit)),
        resolve_within=Duration(float(resolve_amount), Unit(resolve_unit)),
    )
    return key, policy


async def policy_rows(session: AsyncSession) -> Sequence[SlaPolicyRow]:
    stmt = sa.select(SlaPolicyRow).order_by(
        SlaPolicyRow.category.nulls_first(), SlaPolicyRow.priority.nulls_first(), SlaPolicyRow.kind.nulls_first()
    )
    return (await session.execute(stmt)).scalars().all()


async def policies(session: AsyncSession) -> dict[PolicyKey, SlaPolicy]:
    return dict(
        policy_entry(r.category, r.priority, r.kind, r.respond_amount, r.respond_unit, r.resolve_amount, r.resolve_unit)
        for r in await policy_rows(session)
    )


async def replace_policies(session: AsyncSession, rows: Sequence[SlaPolicyRow]) -> None:
    await session.execute(sa.delete(SlaPolicyRow))
    session.add_all(rows)
    await session.flush()
