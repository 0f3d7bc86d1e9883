"""Who may call what: every route of the OpenAPI schema must appear here (the matrix test checks).

Keys are ``"METHOD /path/template"``; values are the roles admitted past the role check, or
``PUBLIC`` for routes that need no credentials. Object-level scope (another grid's issue → 404)
is tested in each domain's tests; this table is about functions per role.

Routes in ``SIGNED`` also need a signature (Standard Webhooks) from an API key; the matrix cannot
sign, so an admitted role reaching them answers 401 with one of ``SIGNATURE_CODES``.
"""

from app.auth.roles import Role
from app.issues.workflow import Action

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
VOLUNTEER_READERS = GRID_STAFF | {Role.VIEWER}
STREET_APPROVERS = frozenset({Role.ADMIN, Role.STREET_ADMIN})

ROUTES: dict[str, frozenset[Role] | str] = {
    # system
    "GET /health": PUBLIC,
    "GET /ready": PUBLIC,
    "GET /metrics": PUBLIC,
    "GET /api/v1/meta/enums": PUBLIC,
    "GET /problems/{code}": PUBLIC,
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
    # one operation per workflow action (generated clients get a typed body for each)
    **{f"POST /api/v1/issues/{{issue_id}}/actions/{action.value}": ISSUE_ACTORS for action in Action},
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
    # 一年10件实事 (annual commitment lists) and their public notice
    "POST /api/v1/commitment-lists": MANAGERS,
    "GET /api/v1/commitment-lists": STATS_READERS,
    "GET /api/v1/commitment-lists/{list_id}": STATS_READERS,
    "POST /api/v1/commitment-lists/import": MANAGERS,
    "GET /api/v1/commitment-lists/{list_id}/export.xlsx": STATS_READERS,
    "POST /api/v1/commitment-lists/{list_id}/items": MANAGERS,
    "PATCH /api/v1/commitment-lists/{list_id}/items/{item_id}": MANAGERS,
    "DELETE /api/v1/commitment-lists/{list_id}/items/{item_id}": MANAGERS,
    "POST /api/v1/commitment-lists/{list_id}/submit": MANAGERS,
    "POST /api/v1/commitment-lists/{list_id}/approve": STREET_APPROVERS,
    "POST /api/v1/commitment-lists/{list_id}/return": STREET_APPROVERS,
    "POST /api/v1/commitment-lists/{list_id}/publish": MANAGERS,
    "POST /api/v1/commitment-lists/{list_id}/close": MANAGERS,
    "GET /api/v1/commitment-items/{item_id}": STATS_READERS,
    "POST /api/v1/commitment-items/{item_id}/milestones/{number}/done": GRID_STAFF,
    "POST /api/v1/commitment-items/{item_id}/evaluations": GRID_STAFF,
    "POST /api/v1/commitment-items/{item_id}/evaluation-links": MANAGERS,
    "POST /api/v1/commitment-feedback/{token}": PUBLIC,
    "POST /api/v1/commitment-activities": GRID_STAFF,
    "POST /api/v1/commitment-activities/batch": GRID_STAFF,
    "POST /api/v1/commitment-activities/{activity_id}/photos": GRID_STAFF,
    "GET /api/v1/commitment-activities/{activity_id}/photos": STATS_READERS,
    "GET /api/v1/commitment-activities/{activity_id}/photos/{photo_id}": STATS_READERS,
    "GET /api/v1/commitment-activities": STATS_READERS,
    "GET /api/v1/commitment-stats": STATS_READERS,
    "GET /api/v1/public/commitments/{area_id}": PUBLIC,
    # 民事民提 · 民主协商 (proposals, consultation meetings)
    "POST /api/v1/proposals": GRID_STAFF,
    "GET /api/v1/proposals": STATS_READERS,
    "POST /api/v1/diary-entries/{entry_id}/proposal": GRID_STAFF,
    "POST /api/v1/issues/{issue_id}/proposal": GRID_STAFF,
    "GET /api/v1/proposals/{proposal_id}": STATS_READERS,
    "GET /api/v1/proposals/{proposal_id}/similar": GRID_STAFF,
    "POST /api/v1/proposals/{proposal_id}/support": GRID_STAFF,
    "POST /api/v1/proposals/{proposal_id}/merge-into/{target_id}": GRID_STAFF,
    "POST /api/v1/public/proposals/{area_id}": PUBLIC,
    "POST /api/v1/consultations": MANAGERS,
    "GET /api/v1/consultations": STATS_READERS,
    "GET /api/v1/consultations/{consultation_id}": STATS_READERS,
    "PATCH /api/v1/consultations/{consultation_id}": MANAGERS,
    "POST /api/v1/consultations/{consultation_id}/agenda/{number}/decisions": MANAGERS,
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
    "GET /open311/v2/discovery.{format}": PUBLIC,
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
    # volunteers, their ledger, 爱心超市, time bank, 微心愿, 帮扶对子
    "POST /api/v1/volunteers": GRID_STAFF,
    "GET /api/v1/volunteers": VOLUNTEER_READERS,
    "GET /api/v1/volunteers/rankings": VOLUNTEER_READERS,
    "GET /api/v1/volunteers/{volunteer_id}": VOLUNTEER_READERS,
    "PATCH /api/v1/volunteers/{volunteer_id}": GRID_STAFF,
    "POST /api/v1/volunteers/{volunteer_id}/reveal": GRID_STAFF,
    "GET /api/v1/volunteers/{volunteer_id}/balance": VOLUNTEER_READERS,
    "GET /api/v1/volunteers/{volunteer_id}/ledger": VOLUNTEER_READERS,
    "POST /api/v1/volunteers/{volunteer_id}/grants": MANAGERS,
    "GET /api/v1/volunteers/{volunteer_id}/statement": VOLUNTEER_READERS,
    "GET /api/v1/volunteers/{volunteer_id}/statement.html": VOLUNTEER_READERS,
    "GET /api/v1/volunteer-rules/{area_id}": VOLUNTEER_READERS,
    "PUT /api/v1/volunteer-rules/{area_id}": MANAGERS,
    "POST /api/v1/service-records": GRID_STAFF,
    "GET /api/v1/service-records": VOLUNTEER_READERS,
    "GET /api/v1/service-records/{record_id}": VOLUNTEER_READERS,
    "POST /api/v1/service-records/{record_id}/verify": MANAGERS,
    "POST /api/v1/service-records/{record_id}/reject": MANAGERS,
    "GET /api/v1/ledger/postings/{posting_id}": VOLUNTEER_READERS,
    "POST /api/v1/ledger/postings/{posting_id}/reverse": MANAGERS,
    "POST /api/v1/shop/items": MANAGERS,
    "GET /api/v1/shop/items": VOLUNTEER_READERS,
    "POST /api/v1/shop/items/{item_id}/donations": GRID_STAFF,
    "POST /api/v1/shop/redemptions": GRID_STAFF,
    "POST /api/v1/timebank/requests": GRID_STAFF,
    "GET /api/v1/timebank/requests": VOLUNTEER_READERS,
    "POST /api/v1/timebank/requests/{request_id}/claim": GRID_STAFF,
    "POST /api/v1/timebank/requests/{request_id}/confirm": GRID_STAFF,
    "POST /api/v1/timebank/requests/{request_id}/cancel": GRID_STAFF,
    "POST /api/v1/wishes": GRID_STAFF,
    "GET /api/v1/wishes": VOLUNTEER_READERS,
    "GET /api/v1/wishes/stats": VOLUNTEER_READERS,
    "GET /api/v1/wishes/{wish_id}": VOLUNTEER_READERS,
    "POST /api/v1/wishes/{wish_id}/claim": GRID_STAFF,
    "POST /api/v1/wishes/{wish_id}/fulfil": GRID_STAFF,
    "POST /api/v1/wishes/{wish_id}/confirm": GRID_STAFF,
    "POST /api/v1/wishes/{wish_id}/cancel": GRID_STAFF,
    "GET /api/v1/public/wish-wall/{area_id}": PUBLIC,
    "GET /wish-wall/{area_id}": PUBLIC,
    "POST /api/v1/pairings": GRID_STAFF,
    "GET /api/v1/pairings": VOLUNTEER_READERS,
    "GET /api/v1/pairings/due": VOLUNTEER_READERS,
    "POST /api/v1/pairings/visits/batch": GRID_STAFF,
    "GET /api/v1/pairings/{pairing_id}": VOLUNTEER_READERS,
    "POST /api/v1/pairings/{pairing_id}/visits": GRID_STAFF,
    "GET /api/v1/pairings/{pairing_id}/visits": VOLUNTEER_READERS,
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
    "POST /api/v1/issues/{issue_id}/actions/merge": {"into_issue_id": "issue"},
    "POST /api/v1/issues/{issue_id}/actions/dispatch": {"assignee_unit_id": "unit", "assignee_user_id": "user"},
    "POST /api/v1/issues/{issue_id}/actions/resolve": {"photo_ids": "attachment"},  # attachments of this issue
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
    "POST /api/v1/volunteers": {"area_id": "area", "resident_id": "resident"},
    "POST /api/v1/service-records": {"volunteer_id": "volunteer", "wish_id": "wish", "pairing_id": "pairing"},
    "POST /api/v1/shop/items": {"area_id": "area"},
    "POST /api/v1/shop/redemptions": {"volunteer_id": "volunteer", "item_id": "shop_item"},
    "POST /api/v1/timebank/requests": {"requester_id": "volunteer"},
    "POST /api/v1/timebank/requests/{request_id}/claim": {"volunteer_id": "volunteer"},
    "POST /api/v1/wishes": {"resident_id": "resident"},
    "POST /api/v1/wishes/{wish_id}/claim": {"volunteer_id": "volunteer"},
    "POST /api/v1/pairings": {"household_id": "household", "helper_id": "volunteer"},
    "POST /api/v1/pairings/{pairing_id}/visits": {"diary_entry_id": "diary_entry", "issue_id": "issue"},
    "POST /api/v1/pairings/visits/batch": {
        "pairing_id": "pairing",
        "diary_entry_id": "diary_entry",
        "issue_id": "issue",
    },
    "POST /api/v1/commitment-lists": {"area_id": "area"},
    "POST /api/v1/commitment-lists/{list_id}/items": {"proposal_ids": "proposal"},
    "PATCH /api/v1/commitment-lists/{list_id}/items/{item_id}": {"proposal_ids": "proposal"},
    "POST /api/v1/commitment-activities": {"item_ids": "commitment_item"},
    "POST /api/v1/commitment-activities/batch": {"item_ids": "commitment_item"},
    "POST /api/v1/proposals": {"area_id": "area"},
    "POST /api/v1/consultations": {"area_id": "area"},
}
# Bodies whose id fields are also read from the models the server validates them with (a batch of
# items each answered on its own), beside what the OpenAPI document declares.
OPEN_BODIES = {
    "POST /api/v1/diary-entries/batch": "app.diary.schemas:DiaryBatchItem",
    "POST /api/v1/pairings/visits/batch": "app.volunteers.schemas:VisitBatchItem",
    "POST /api/v1/commitment-activities/batch": "app.commitments.schemas:ActivityBatchItem",
}
