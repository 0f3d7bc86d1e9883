"""Reading and replacing the SLA policy set: a whole set at once, with a global default."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ValidationFailed, field_error
from app.issues import repository as issues
from app.issues import schemas
from app.issues.models import SlaPolicyRow
from app.issues.sla_policies import repository
from app.kit import clock
from app.kit.ids import new_id


def policy_out(row: SlaPolicyRow) -> schemas.SlaPolicyOut:
    return schemas.SlaPolicyOut(
        category=row.category,
        priority=row.priority,  # type: ignore[arg-type]
        kind=row.kind,  # type: ignore[arg-type]
        respond_within={"amount": row.respond_amount, "unit": row.respond_unit},
        resolve_within={"amount": row.resolve_amount, "unit": row.resolve_unit},
    )


async def list_policies(session: AsyncSession) -> list[schemas.SlaPolicyOut]:
    return [policy_out(r) for r in await repository.policy_rows(session)]


async def replace_policies(session: AsyncSession, body: schemas.SlaPolicySet) -> list[schemas.SlaPolicyOut]:
    keys = [(p.category, p.priority, p.kind) for p in body.policies]
    errors = [field_error(f"items[{i}]", "duplicate key") for i, k in enumerate(keys) if k in keys[:i]]
    if (None, None, None) not in keys:
        errors.append(field_error("items", "a global default (no category, priority or kind) is required"))
    for i, p in enumerate(body.policies):
        if p.category is not None and not await issues.category_exists(session, p.category):
            errors.append(field_error(f"items[{i}].category", "unknown category"))
    if errors:
        raise ValidationFailed("The policy set is not valid.", code="invalid_sla_policies", errors=errors)
    rows = [
        SlaPolicyRow(
            id=new_id(),
            category=p.category,
            priority=p.priority.value if p.priority else None,
            kind=p.kind.value if p.kind else None,
            respond_amount=p.respond_within.amount,
            respond_unit=p.respond_within.unit.value,
            resolve_amount=p.resolve_within.amount,
            resolve_unit=p.resolve_within.unit.value,
            updated_at=clock.now(),
        )
        for p in body.policies
    ]
    await repository.replace_policies(session, rows)
    return await list_policies(session)
