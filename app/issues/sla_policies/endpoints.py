"""/api/v1/sla-policies — the respond / resolve windows issues take their deadlines from."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.auth.deps import require_roles
from app.auth.roles import Role
from app.db import SessionDep
from app.errors import problem_responses
from app.issues import schemas
from app.issues.sla_policies import service
from app.kit.routing import Router
from app.scope import Principal

router = Router(prefix="/api/v1", tags=["issues"])

Manager = Annotated[Principal, Depends(require_roles(Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.ADMIN))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


@router.get(
    "/sla-policies",
    response_model=schemas.SlaPolicyList,
    operation_id="sla_policies_list",
    summary="SLA policies (时限标准)",
    description="Respond and resolve windows per category × priority, category, priority or kind, and a "
    "global default; an issue takes the first that matches in that order. Units: `hours` (calendar) "
    "or `working_days` (weekends and official holidays skipped, 调休 days counted).",
    responses=problem_responses(403),
)
async def list_policies(session: SessionDep, principal: Manager) -> schemas.SlaPolicyList:
    return schemas.SlaPolicyList(items=await service.list_policies(session))


@router.put(
    "/sla-policies",
    response_model=schemas.SlaPolicyList,
    operation_id="sla_policies_replace",
    summary="Replace the SLA policies (设置时限标准)",
    description="Replaces the whole set (it must contain a global default with no category, priority or "
    "kind). Issues keep the windows they started with; new issues and category/priority edits use the "
    "new set, for the windows still running (a response or resolution already given keeps its deadline). "
    "Admins only.",
    responses=problem_responses(403, 422),
)
async def replace_policies(body: schemas.SlaPolicySet, session: SessionDep, principal: Admin) -> schemas.SlaPolicyList:
    return schemas.SlaPolicyList(items=await service.replace_policies(session, body))
