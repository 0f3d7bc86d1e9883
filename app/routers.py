"""Every router of the service, in one place. Private routers require authentication."""

from fastapi import APIRouter

from app.audit import endpoints as audit
from app.auth import endpoints as auth
from app.commitments import endpoints as commitments
from app.consultation import endpoints as consultation
from app.diary import endpoints as diary
from app.events import endpoints as events
from app.grids import endpoints as grids
from app.integrations.hotline import endpoints as hotline
from app.integrations.open311 import endpoints as open311
from app.integrations.webhooks import endpoints as webhooks
from app.issues import endpoints as issues
from app.issues.sla_policies import endpoints as sla_policies
from app.mediation import endpoints as mediation
from app.residents import endpoints as residents
from app.stats import endpoints as stats
from app.stats import page as dashboard_page
from app.sync import endpoints as sync
from app.system import endpoints as system
from app.system import problems
from app.volunteers import endpoints as volunteers

PUBLIC_ROUTERS: list[APIRouter] = [
    system.router,
    system.meta_router,
    problems.router,
    auth.public_router,
    dashboard_page.router,
    issues.public_router,
    volunteers.public_router,
    commitments.public_router,
    commitments.feedback_router,
    commitments.page_router,
    consultation.public_router,
    # authenticates itself: EventSource sends the token as ?access_token=
    events.router,
]

# Public routers that document every error response themselves: Open311 answers in its own format.
SELF_DOCUMENTED_ROUTERS: list[APIRouter] = [open311.router]

# Routers with a narrow prefix first (and all before the public ones, see app/main.py): a request is
# offered to each router in turn and those under the bare "/api/v1" prefix have to try their routes
# on every API path (no two routers overlap).
PRIVATE_ROUTERS: list[APIRouter] = [
    issues.router,
    stats.router,
    diary.router,
    sync.router,
    grids.router,
    mediation.router,
    volunteers.router,
    commitments.lists_router,
    commitments.items_router,
    commitments.activities_router,
    commitments.stats_router,
    consultation.proposals_router,
    consultation.promotions_router,
    consultation.consultations_router,
    audit.router,
    webhooks.router,
    hotline.router,
    auth.router,
    issues.config_router,
    sla_policies.router,
    residents.router,
]
