import itertools

import pytest

from app.auth.roles import Role
from app.errors import Conflict, Forbidden
from app.issues.workflow import (
    ACTION_LABELS,
    CHANNEL_LABELS,
    KIND_LABELS,
    OPEN_STATUSES,
    OUTCOME_LABELS,
    PRIORITY_LABELS,
    RATING_LABELS,
    REJECT_REASON_LABELS,
    RETURN_REASON_LABELS,
    STATUS_LABELS,
    SYSTEM,
    TERMINAL_STATUSES,
    TIER_LABELS,
    TRANSITIONS,
    Action,
    ActionNotPermitted,
    CannotEscalate,
    Channel,
    InvalidTransition,
    Kind,
    Outcome,
    Priority,
    Rating,
    RejectReason,
    ReturnReason,
    Status,
    Tier,
    allowed_actions,
    next_status,
    next_tier,
)

S, A, R = Status, Action, Role
ACTORS = [*Role, SYSTEM]

GRID, COMM, STREET, DEPT, ADMIN = R.GRID_WORKER, R.COMMUNITY_ADMIN, R.STREET_ADMIN, R.DEPARTMENT, R.ADMIN
DISPATCH_SIDE = {COMM, STREET, ADMIN}
HANDLERS = {GRID, DEPT, ADMIN}

# The closed loop as docs/domain.md describes it, written out independently of the module's table.
EXPECTED: dict[tuple[Status, Action], tuple[Status, set]] = {
    (S.REPORTED, A.ACCEPT): (S.ACCEPTED, {GRID} | DISPATCH_SIDE),
    (S.REPORTED, A.REJECT): (S.REJECTED, DISPATCH_SIDE),
    (S.REPORTED, A.MERGE): (S.MERGED, DISPATCH_SIDE),
    (S.ACCEPTED, A.REJECT): (S.REJECTED, DISPATCH_SIDE),
    (S.ACCEPTED, A.MERGE): (S.MERGED, DISPATCH_SIDE),
    (S.ACCEPTED, A.DISPATCH): (S.DISPATCHED, DISPATCH_SIDE),
    (S.ACCEPTED, A.RESOLVE): (S.RESOLVED, {GRID} | DISPATCH_SIDE),
    (S.DISPATCHED, A.RETURN): (S.ACCEPTED, HANDLERS),
    (S.DISPATCHED, A.START): (S.IN_PROGRESS, HANDLERS),
    (S.DISPATCHED, A.RESOLVE): (S.RESOLVED, HANDLERS),
    (S.IN_PROGRESS, A.SUSPEND): (S.SUSPENDED, HANDLERS),
    (S.IN_PROGRESS, A.RESOLVE): (S.RESOLVED, HANDLERS),
    (S.SUSPENDED, A.RESUME): (S.IN_PROGRESS, HANDLERS),
    (S.RESOLVED, A.VERIFY): (S.VERIFIED, {GRID} | DISPATCH_SIDE),
    (S.RESOLVED, A.VERIFY_FAIL): (S.IN_PROGRESS, {GRID} | DISPATCH_SIDE),
    (S.VERIFIED, A.CLOSE): (S.CLOSED, DISPATCH_SIDE),
    (S.CLOSED, A.REOPEN): (S.IN_PROGRESS, DISPATCH_SIDE | {SYSTEM}),
    (S.CLOSED, A.EVALUATE): (S.CLOSED, DISPATCH_SIDE | {SYSTEM}),
    **{(s, A.ESCALATE): (S.ACCEPTED, {GRID} | DISPATCH_SIDE) for s in (S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS)},
    **{(s, A.SUPERVISE): (s, DISPATCH_SIDE | {SYSTEM}) for s in OPEN_STATUSES},
    **{(s, A.REQUEST_EXTENSION): (s, HANDLERS) for s in (S.DISPATCHED, S.IN_PROGRESS, S.SUSPENDED)},
    **{(s, A.APPROVE_EXTENSION): (s, DISPATCH_SIDE) for s in (S.DISPATCHED, S.IN_PROGRESS, S.SUSPENDED)},
}


def test_the_table_is_the_closed_loop():
    assert {key: (t.to, set(t.roles)) for key, t in TRANSITIONS.items()} == EXPECTED


ALL_COMBINATIONS = list(itertools.product(Status, Action, ACTORS))


@pytest.mark.parametrize(("status", "action", "actor"), ALL_COMBINATIONS)
def test_every_status_action_role(status, action, actor):
    expected = EXPECTED.get((status, action))
    if expected is None:
        with pytest.raises(InvalidTransition) as exc:
            next_status(status, action, actor)
        err = exc.value
        assert isinstance(err, Conflict)
        assert (err.status, err.code) == (409, "invalid_transition")
        assert err.extra["allowed_actions"] == [a.value for a in allowed_actions(status, actor)]
    elif actor in expected[1]:
        assert next_status(status, action, actor) is expected[0]
    else:
        with pytest.raises(ActionNotPermitted) as exc:
            next_status(status, action, actor)
        err = exc.value
        assert isinstance(err, Forbidden)
        assert (err.status, err.code) == (403, "action_not_permitted")
        assert err.extra["allowed_actions"] == [a.value for a in allowed_actions(status, actor)]
        assert action.value not in err.extra["allowed_actions"]


@pytest.mark.parametrize(("status", "actor"), list(itertools.product(Status, ACTORS)))
def test_allowed_actions_are_exactly_the_ones_that_apply(status, actor):
    allowed = allowed_actions(status, actor)
    works = [a for a in Action if (status, a) in EXPECTED and actor in EXPECTED[(status, a)][1]]
    assert allowed == works  # and in Action declaration order
    assert allowed_actions(status, actor) == allowed  # deterministic


@pytest.mark.parametrize("status", sorted(TERMINAL_STATUSES))
@pytest.mark.parametrize("actor", ACTORS)
def test_terminal_statuses_allow_nothing(status, actor):
    assert allowed_actions(status, actor) == []


@pytest.mark.parametrize("actor", ACTORS)
def test_closed_allows_only_the_rating_and_reopening(actor):
    assert set(allowed_actions(S.CLOSED, actor)) <= {A.EVALUATE, A.REOPEN}


def test_status_sets():
    assert TERMINAL_STATUSES == {S.REJECTED, S.MERGED}
    assert OPEN_STATUSES == set(Status) - {S.REJECTED, S.MERGED, S.CLOSED}


@pytest.mark.parametrize("actor", [R.VIEWER, R.MEDIATOR, R.INTEGRATION])
@pytest.mark.parametrize("status", list(Status))
def test_roles_without_issue_actions(actor, status):
    assert allowed_actions(status, actor) == []


@pytest.mark.parametrize("status", list(Status))
def test_admin_may_do_everything_a_staff_role_may(status):
    staff_actions = {a for role in Role for a in allowed_actions(status, role)}
    assert set(allowed_actions(status, R.ADMIN)) == staff_actions


def test_the_system_only_rates_and_reopens_closed_issues_and_relays_supervision():
    assert {s: allowed_actions(s, SYSTEM) for s in Status if allowed_actions(s, SYSTEM)} == {
        **{s: [A.SUPERVISE] for s in OPEN_STATUSES},
        S.CLOSED: [A.REOPEN, A.EVALUATE],
    }


def test_department_never_decides_dispatch_side():
    dispatch_side = {A.ACCEPT, A.REJECT, A.MERGE, A.DISPATCH, A.ESCALATE, A.APPROVE_EXTENSION, A.SUPERVISE}
    dispatch_side |= {A.VERIFY, A.VERIFY_FAIL, A.CLOSE, A.REOPEN, A.EVALUATE}
    for status in Status:
        assert not dispatch_side & set(allowed_actions(status, DEPT))


def test_every_status_is_reachable_from_reported():
    seen, frontier = {S.REPORTED}, [S.REPORTED]
    while frontier:
        current = frontier.pop()
        for (src, _), t in TRANSITIONS.items():
            if src == current and t.to not in seen:
                seen.add(t.to)
                frontier.append(t.to)
    assert seen == set(Status)


def test_every_open_status_has_a_way_forward():
    for status in OPEN_STATUSES:
        assert any(src == status and t.to != status for (src, _), t in TRANSITIONS.items())


def test_happy_path_from_report_to_rating():
    steps = [
        (A.ACCEPT, GRID, S.ACCEPTED),
        (A.DISPATCH, COMM, S.DISPATCHED),
        (A.START, DEPT, S.IN_PROGRESS),
        (A.SUSPEND, DEPT, S.SUSPENDED),
        (A.RESUME, DEPT, S.IN_PROGRESS),
        (A.REQUEST_EXTENSION, DEPT, S.IN_PROGRESS),
        (A.APPROVE_EXTENSION, COMM, S.IN_PROGRESS),
        (A.RESOLVE, DEPT, S.RESOLVED),
        (A.VERIFY_FAIL, GRID, S.IN_PROGRESS),
        (A.RESOLVE, DEPT, S.RESOLVED),
        (A.VERIFY, GRID, S.VERIFIED),
        (A.CLOSE, COMM, S.CLOSED),
        (A.EVALUATE, SYSTEM, S.CLOSED),
    ]
    status = S.REPORTED
    for action, actor, expected in steps:
        status = next_status(status, action, actor)
        assert status is expected, action


def test_dissatisfied_resident_reopens_and_the_loop_runs_again():
    status = next_status(S.CLOSED, A.REOPEN, SYSTEM)
    assert status is S.IN_PROGRESS
    status = next_status(status, A.RESOLVE, DEPT)
    status = next_status(status, A.VERIFY, STREET)
    assert next_status(status, A.CLOSE, STREET) is S.CLOSED


def test_returned_ticket_goes_back_to_the_dispatcher():
    status = next_status(S.DISPATCHED, A.RETURN, DEPT)
    assert status is S.ACCEPTED
    assert A.DISPATCH in allowed_actions(status, COMM)


def test_grid_worker_settles_on_the_spot():
    status = next_status(S.REPORTED, A.ACCEPT, GRID)
    assert next_status(status, A.RESOLVE, GRID) is S.RESOLVED


def test_escalation_climbs_grid_community_street_then_stops():
    tier, status = Tier.GRID, S.ACCEPTED
    status = next_status(status, A.ESCALATE, GRID)
    tier = next_tier(tier)
    assert (status, tier) == (S.ACCEPTED, Tier.COMMUNITY)
    status = next_status(next_status(status, A.DISPATCH, COMM), A.ESCALATE, COMM)
    tier = next_tier(tier)
    assert (status, tier) == (S.ACCEPTED, Tier.STREET)
    assert next_status(status, A.ESCALATE, STREET) is S.ACCEPTED
    with pytest.raises(CannotEscalate) as exc:
        next_tier(tier)
    assert (exc.value.status, exc.value.code, exc.value.extra["tier"]) == (409, "cannot_escalate", "street")


def test_tiers_are_ordered():
    assert [t.rank for t in (Tier.GRID, Tier.COMMUNITY, Tier.STREET)] == [0, 1, 2]
    assert Tier.GRID.rank < Tier.STREET.rank


def test_refusals_render_as_problems_with_the_actions_left():
    with pytest.raises(InvalidTransition) as exc:
        next_status(S.REPORTED, A.CLOSE, COMM)
    problem = exc.value.to_problem("/issues/1/actions")
    assert problem["status"] == 409
    assert problem["code"] == "invalid_transition"
    assert problem["issue_status"] == "reported"
    assert problem["action"] == "close"
    assert problem["allowed_actions"] == ["accept", "reject", "merge", "supervise"]

    with pytest.raises(ActionNotPermitted) as exc:
        next_status(S.ACCEPTED, A.DISPATCH, DEPT)
    problem = exc.value.to_problem()
    assert (problem["status"], problem["code"], problem["allowed_actions"]) == (403, "action_not_permitted", [])


def test_values_match_the_domain_vocabulary():
    assert [s.value for s in Status] == [
        "reported", "accepted", "rejected", "merged", "dispatched",
        "in_progress", "suspended", "resolved", "verified", "closed",
    ]  # fmt: skip
    assert A.RETURN == "return"
    assert len(Action) == 18
    assert [t.value for t in Tier] == ["grid", "community", "street"]
    assert [p.value for p in Priority] == ["urgent", "high", "normal", "low"]
    assert {k.value for k in Kind} == {"consultation", "help", "complaint", "report", "suggestion", "praise"}
    assert {c.value for c in Channel} == {
        "patrol", "diary", "walk_in", "phone", "app", "hotline", "petition", "open311",
    }  # fmt: skip
    assert {o.value for o in Outcome} == {"solved", "answered", "unsolvable"}
    assert {r.value for r in Rating} == {"satisfied", "basically_satisfied", "dissatisfied"}
    assert RETURN_REASON_LABELS == {
        ReturnReason.WRONG_AREA: "属地不符",
        ReturnReason.UNCLEAR_OWNERSHIP: "权属不清",
        ReturnReason.OVERLAPPING_DUTIES: "职能交叉",
    }
    assert {r.value for r in RejectReason} == {"duplicate", "invalid", "out_of_scope"}


@pytest.mark.parametrize(
    ("enum", "labels"),
    [
        (Status, STATUS_LABELS),
        (Action, ACTION_LABELS),
        (Tier, TIER_LABELS),
        (Priority, PRIORITY_LABELS),
        (Kind, KIND_LABELS),
        (Channel, CHANNEL_LABELS),
        (Outcome, OUTCOME_LABELS),
        (Rating, RATING_LABELS),
        (ReturnReason, RETURN_REASON_LABELS),
        (RejectReason, REJECT_REASON_LABELS),
    ],
)
def test_every_member_has_a_chinese_label(enum, labels):
    assert set(labels) == set(enum)
    assert all(label.strip() for label in labels.values())
