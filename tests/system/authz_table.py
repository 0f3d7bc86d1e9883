"""Who may call what: every route of the OpenAPI schema must appear here (the matrix test checks).

Keys are ``"METHOD /path/template"``; values are the roles admitted past the role check, or
``PUBLIC`` for routes that need no credentials. Object-level scope (another grid's issue → 404)
is tested in each domain's tests; this table is about functions per role.

Routes in ``SIGNED`` also need a signature (Standard Webhooks) from an API key; the matrix cannot
sign, so an admitted role reaching them answers 401 with one of ``SIGNATURE_CODES``.
"""

from app.auth.roles import Role

PUBLIC = "public"
ALL = frozenset(Role)
STAFF = ALL - {Role.INTEGRATION}
ADMIN = frozenset({Role.ADMIN})
MANAGERS = frozenset({Role.ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN})
ISSUE_CREATORS = MANAGERS | {Role.GRID_WORKER, Role.INTEGRATION}
ISSUE_READERS = ALL - {Role.VIEWER}
ISSUE_ACTORS = MANAGERS | {Role.GRID_WORKER, Role.DEPARTMENT}
ISSUE_EDITORS = MANAGERS | {Role.GRID_WORKER}
GRID_STAFF = MANAGERS | {Role.GRID_WORKER}
DISPUTE_STAFF = GRID_STAFF | {Role.MEDIATOR}
MEDIATORS = MANAGERS | {Role.MEDIATOR}
INTEGRATION = frozenset({Role.INTEGRATION})
STATS_READERS = GRID_STAFF | {Role.MEDIATOR, Role.VIEWER}

ROUTES: dict[str, frozenset[Role] | str] = {
    # system
    "GET /health": PUBLIC,
    "GET /ready": PUBLIC,
    "GET /metrics": PUBLIC,
    "GET /api/v1/meta/enums": PUBLIC,
    "POST /api/v1/auth/token": PUBLIC,
    # users, units, keys
    "GET /api/v1/me": ALL,
    "POST /api/v1/users": ADMIN,
    "GET /api/v1/users": MANAGERS,
    "GET /api/v1/users/{user_id}": MANAGERS,
    "PATCH /api/v1/users/{user_id}": ADMIN,
    "POST /api/v1/units": ADMIN,
    "GET /api/v1/units": ALL,
    "POST /api/v1/api-keys": ADMIN,
    "GET /api/v1/api-keys": ADMIN,
    "DELETE /api/v1/api-keys/{key_id}": ADMIN,
    # areas
    "POST /api/v1/areas": ADMIN,
    "GET /api/v1/areas": ALL,
    "GET /api/v1/areas/locate": ALL,
    "POST /api/v1/areas/import": ADMIN,
    "GET /api/v1/areas/{area_id}": ALL,
    "PATCH /api/v1/areas/{area_id}": ADMIN,
    "GET /api/v1/areas/{area_id}/children": ALL,
    # issues
    "POST /api/v1/issues": ISSUE_CREATORS,
    "GET /api/v1/issues": ISSUE_READERS,
    "GET /api/v1/issues/export.csv": MANAGERS,
    "GET /api/v1/issues/export.xlsx": MANAGERS,
    "GET /api/v1/issues/{issue_id}": ISSUE_READERS,
    "PATCH /api/v1/issues/{issue_id}": ISSUE_EDITORS,
    "POST /api/v1/issues/{issue_id}/actions/{action}": ISSUE_ACTORS,
    "GET /api/v1/issues/{issue_id}/events": ISSUE_READERS,
    "GET /api/v1/issues/{issue_id}/similar": ISSUE_EDITORS,
    "POST /api/v1/issues/{issue_id}/comments": ISSUE_ACTORS,
    "GET /api/v1/issues/{issue_id}/comments": ISSUE_READERS,
    "POST /api/v1/issues/{issue_id}/attachments": ISSUE_ACTORS,
    "GET /api/v1/issues/{issue_id}/attachments": ISSUE_READERS,
    "GET /api/v1/issues/{issue_id}/attachments/{attachment_id}": ISSUE_READERS,
    "GET /api/v1/issue-categories": ALL,
    "GET /api/v1/sla-policies": MANAGERS,
    "PUT /api/v1/sla-policies": ADMIN,
    "POST /api/v1/feedback/{token}": PUBLIC,
    # 民情日记
    "POST /api/v1/diary-entries": GRID_STAFF,
    "POST /api/v1/diary-entries/batch": GRID_STAFF,
    "GET /api/v1/diary-entries": GRID_STAFF,
    "GET /api/v1/diary-entries/{entry_id}": GRID_STAFF,
    "PATCH /api/v1/diary-entries/{entry_id}": GRID_STAFF,
    "POST /api/v1/diary-entries/{entry_id}/escalate": GRID_STAFF,
    # residents' archive
    "POST /api/v1/buildings": GRID_STAFF,
    "GET /api/v1/buildings": GRID_STAFF,
    "GET /api/v1/buildings/{building_id}": GRID_STAFF,
    "PATCH /api/v1/buildings/{building_id}": GRID_STAFF,
    "POST /api/v1/households": GRID_STAFF,
    "GET /api/v1/households": GRID_STAFF,
    "GET /api/v1/households/{household_id}": GRID_STAFF,
    "PATCH /api/v1/households/{household_id}": GRID_STAFF,
    "POST /api/v1/residents": GRID_STAFF,
    "GET /api/v1/residents": GRID_STAFF,
    "GET /api/v1/residents/due-visits": GRID_STAFF,
    "GET /api/v1/residents/{resident_id}": GRID_STAFF,
    "PATCH /api/v1/residents/{resident_id}": GRID_STAFF,
    "POST /api/v1/residents/{resident_id}/reveal": GRID_STAFF,
    # 矛盾纠纷调解
    "POST /api/v1/disputes": DISPUTE_STAFF,
    "GET /api/v1/disputes": DISPUTE_STAFF,
    "GET /api/v1/disputes/{dispute_id}": DISPUTE_STAFF,
    "POST /api/v1/disputes/{dispute_id}/sessions": MEDIATORS,
    "POST /api/v1/disputes/{dispute_id}/outcome": MEDIATORS,
    "POST /api/v1/disputes/{dispute_id}/follow-ups": DISPUTE_STAFF,
    "POST /api/v1/disputes/{dispute_id}/parties/{party_id}/reveal": DISPUTE_STAFF,
    # audit, sync
    "GET /api/v1/audit": MANAGERS,
    "GET /api/v1/sync/changes": DISPUTE_STAFF,
    # signed webhooks out (回调订阅)
    "POST /api/v1/webhooks": ADMIN,
    "GET /api/v1/webhooks": ADMIN,
    "GET /api/v1/webhooks/{webhook_id}": ADMIN,
    "PATCH /api/v1/webhooks/{webhook_id}": ADMIN,
    "DELETE /api/v1/webhooks/{webhook_id}": ADMIN,
    "POST /api/v1/webhooks/{webhook_id}/rotate-secret": ADMIN,
    "GET /api/v1/webhooks/{webhook_id}/deliveries": ADMIN,
    "GET /api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}": ADMIN,
    "POST /api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay": ADMIN,
    # 12345 hotline
    "POST /api/v1/integrations/hotline/tickets": INTEGRATION,
    "GET /api/v1/integrations/hotline/tickets/{ticket_number}": INTEGRATION,
    "POST /api/v1/integrations/hotline/tickets/{ticket_number}/updates": INTEGRATION,
    "GET /api/v1/integrations/hotline/category-map": ADMIN,
    "PUT /api/v1/integrations/hotline/category-map": ADMIN,
    # Open311 GeoReport v2 (POST authenticated by its api_key form field)
    "GET /open311/v2/services.{format}": PUBLIC,
    "GET /open311/v2/services/{service_code}.{format}": PUBLIC,
    "GET /open311/v2/requests.{format}": PUBLIC,
    "POST /open311/v2/requests.{format}": PUBLIC,
    "GET /open311/v2/requests/{service_request_id}.{format}": PUBLIC,
    "GET /open311/v2/tokens/{token}.{format}": PUBLIC,
    # stats and the live stream
    "GET /api/v1/stats/overview": STATS_READERS,
    "GET /api/v1/stats/areas": STATS_READERS,
    "GET /api/v1/stats/workers": STATS_READERS,
    "GET /api/v1/stats/timeseries": STATS_READERS,
    "GET /api/v1/stats/overdue": STATS_READERS,
    "GET /api/v1/events/stream": STATS_READERS,
}

SIGNED = frozenset(
    {
        "POST /api/v1/integrations/hotline/tickets",
        "POST /api/v1/integrations/hotline/tickets/{ticket_number}/updates",
    }
)
SIGNATURE_CODES = frozenset({"api_key_required", "signature_missing"})

# Ids in request bodies: route → {body field: the thing it names}. Each is resolved in the caller's
# scope like an id in a path (app.scope.resolve_in_scope): unknown or out of scope is 422
# ``unknown_<thing>`` naming the field — in the diary batch, that item's verdict. The matrix test
# checks that every id field of every request body is listed here, and sends each an id of another
# jurisdiction. ``CLIENT_IDS`` are ids a client mints for the object it creates, not references.
CLIENT_IDS = frozenset({"id"})
_DIARY_LINKS = {"area_id": "area", "household_id": "household", "resident_id": "resident"}
BODY_REFERENCES: dict[str, dict[str, str]] = {
    "POST /api/v1/users": {"home_area_id": "area", "unit_id": "unit"},
    "PATCH /api/v1/users/{user_id}": {"home_area_id": "area", "unit_id": "unit"},
    "POST /api/v1/units": {"area_id": "area"},
    "POST /api/v1/api-keys": {"user_id": "user", "area_id": "area"},
    "POST /api/v1/areas": {"parent_id": "area"},
    "POST /api/v1/issues": {"area_id": "area"},
    "POST /api/v1/issues/{issue_id}/actions/{action}": {
        "into_issue_id": "issue",  # merge
        "assignee_unit_id": "unit",  # dispatch
        "assignee_user_id": "user",  # dispatch
        "photo_ids": "attachment",  # resolve: attachments of this issue
    },
    "POST /api/v1/diary-entries": _DIARY_LINKS,
    "PATCH /api/v1/diary-entries/{entry_id}": _DIARY_LINKS,
    "POST /api/v1/diary-entries/batch": _DIARY_LINKS,
    "POST /api/v1/buildings": {"area_id": "area"},
    "POST /api/v1/households": {"building_id": "building"},
    "POST /api/v1/residents": {"household_id": "household", "area_id": "area"},
    "PATCH /api/v1/residents/{resident_id}": {"household_id": "household"},
    "POST /api/v1/disputes": {"area_id": "area", "mediator_id": "user"},
    "POST /api/v1/disputes/{dispute_id}/sessions": {"mediator_id": "user"},
    "POST /api/v1/webhooks": {"area_id": "area", "api_key_id": "api_key"},
}
# Bodies the OpenAPI schema leaves open (one route, a body per action; a batch of loose items):
# their id fields are read from these models.
OPEN_BODIES = {
    "POST /api/v1/issues/{issue_id}/actions/{action}": "app.issues.schemas:ACTION_BODIES",
    "POST /api/v1/diary-entries/batch": "app.diary.schemas:DiaryBatchItem",
}
