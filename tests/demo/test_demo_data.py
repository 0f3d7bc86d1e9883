"""Consistency of the demo data set: the tree, its geometry, and every cross-reference."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date

import pytest
from shapely.geometry import Point, shape
from shapely.ops import unary_union

from app.auth.roles import Role
from app.demo import data as d

LEVELS = ("district", "street", "community", "grid", "micro_grid")
UNIT_KINDS = {"department", "property_company", "police_station", "judicial_office"}
ISSUE_KINDS = {"consultation", "help", "complaint", "report", "suggestion", "praise"}
CHANNELS = {"patrol", "diary", "walk_in", "phone", "app", "hotline", "petition", "open311"}
PRIORITIES = {"urgent", "high", "normal", "low"}
TARGET_STATUSES = [
    "reported",
    "accepted",
    "dispatched",
    "in_progress",
    "suspended",
    "resolved",
    "verified",
    "closed",
]
RATINGS = {"satisfied", "basically_satisfied", "dissatisfied"}
RESOLVE_OUTCOMES = {"solved", "answered", "unsolvable"}
REJECT_REASONS = {"duplicate", "invalid", "out_of_scope"}
DIARY_KINDS = {"situation", "complaint", "opinion"}
DIARY_STATUSES = {"open", "answered", "resolved", "escalated"}
DISPUTE_TYPES = {"neighbour", "family", "property", "land", "labour", "other"}
RISK_LEVELS = {"red", "orange", "yellow", "green"}
PARTY_ROLES = {"applicant", "respondent", "other"}
DISPUTE_OUTCOMES = {"agreement", "failed", "referred", None}
RESIDENT_TAGS = {
    "elderly_alone",
    "empty_nest",
    "disabled",
    "low_income",
    "left_behind_child",
    "veteran",
    "party_member",
}
DEFAULT_CATEGORIES = {
    "property",
    "dispute",
    "environment",
    "facility",
    "lighting",
    "sewage",
    "ev_charging",
    "safety_hazard",
    "public_order",
    "welfare",
    "subsistence_allowance",
    "social_security",
    "employment",
    "elderly_care",
    "other",
}

AREAS = {a.code: a for a in d.AREAS}
SHAPES = {a.code: shape(a.boundary) for a in d.AREAS}
CHILDREN: dict[str, list[str]] = {}
for _a in d.AREAS:
    if _a.parent_code is not None:
        CHILDREN.setdefault(_a.parent_code, []).append(_a.code)
USERS = {u.username: u for u in d.USERS}
UNITS = {u.code: u for u in d.UNITS}
ISSUES = {i.ref: i for i in d.ISSUES}
BUILDINGS = {b.ref: b for b in d.BUILDINGS}
HOUSEHOLDS = {h.ref: h for h in d.HOUSEHOLDS}
RESIDENTS = {r.ref: r for r in d.RESIDENTS}


def ancestors_or_self(code: str) -> list[str]:
    chain = [code]
    while (parent := AREAS[chain[-1]].parent_code) is not None:
        chain.append(parent)
    return chain


def within(code: str, root: str) -> bool:
    return root in ancestors_or_self(code)


def district_of(code: str) -> str:
    return ancestors_or_self(code)[-1]


def is_mobile(phone: str) -> bool:
    return len(phone) == 11 and phone.isdigit() and phone[0] == "1" and phone[1] in "3456789"


def id_check_digit(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# ---------------------------------------------------------------------------------------------
# Areas and geometry
# ---------------------------------------------------------------------------------------------


def test_codes_unique() -> None:
    for name, values in {
        "areas": [a.code for a in d.AREAS],
        "units": [u.code for u in d.UNITS],
        "users": [u.username for u in d.USERS],
        "categories": [c.code for c in d.CATEGORIES],
        "issues": [i.ref for i in d.ISSUES],
        "diary": [e.ref for e in d.DIARY_ENTRIES],
        "disputes": [x.ref for x in d.DISPUTES],
        "buildings": [b.ref for b in d.BUILDINGS],
        "households": [h.ref for h in d.HOUSEHOLDS],
        "residents": [r.ref for r in d.RESIDENTS],
        "id numbers": [r.id_number for r in d.RESIDENTS],
    }.items():
        dupes = [v for v, n in Counter(values).items() if n > 1]
        assert not dupes, f"duplicate {name}: {dupes}"


def test_tree_levels_and_order() -> None:
    seen: set[str] = set()
    for area in d.AREAS:
        assert area.level in LEVELS
        assert area.code.isdigit()
        if area.level == "district":
            assert area.parent_code is None
            assert len(area.code) == 6
        else:
            assert area.parent_code in seen, f"{area.code}: parent missing or listed after the child"
            parent = AREAS[area.parent_code]
            assert LEVELS.index(area.level) == LEVELS.index(parent.level) + 1
            assert area.code.startswith(parent.code) and len(area.code) > len(parent.code)
        seen.add(area.code)
    assert {a.code for a in d.AREAS if a.level == "district"} == {"610124", "140302"}


def test_seed_places_present() -> None:
    by_name = {(a.name, a.level): a for a in d.AREAS if a.level != "grid"}
    for town in ("终南镇", "楼观镇", "马召镇", "富仁镇"):
        assert by_name[(town, "street")].parent_code == "610124"
    expected_parent = {
        "终南社区": "终南镇",
        "楼观社区": "楼观镇",
        "新镇社区": "楼观镇",
        "安富园社区": "马召镇",
        "马召社区": "马召镇",
        "辛家寨社区": "富仁镇",
        "如意庄社区": "赛鱼街道",
        "新源社区": "蔡洼街道",
    }
    for community, street in expected_parent.items():
        area = by_name[(community, "community")]
        assert AREAS[area.parent_code].name == street
        assert 3 <= len(CHILDREN[area.code]) <= 8
    assert len(CHILDREN[d.RUYIZHUANG]) == 6
    assert len(CHILDREN[d.XINYUAN]) == 8
    assert any(a.level == "micro_grid" and "楼观台实验林场小区" in a.name for a in d.AREAS)


@pytest.mark.parametrize("area", d.AREAS, ids=lambda a: a.code)
def test_boundary_valid(area: d.DemoArea) -> None:
    assert area.boundary["type"] == "Polygon"
    rings = area.boundary["coordinates"]
    assert len(rings) == 1
    ring = rings[0]
    assert len(ring) >= 4 and ring[0] == ring[-1], "ring must be closed"
    for lng, lat in ring:
        assert round(lng, 6) == lng and round(lat, 6) == lat
        assert 73 < lng < 136 and 18 < lat < 54, "outside mainland China"
    # shoelace: positive area means counter-clockwise
    signed = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring)) / 2
    assert signed > 0, "exterior ring must be counter-clockwise"
    poly = SHAPES[area.code]
    assert poly.is_valid and not poly.is_empty and poly.area > 0
    assert poly.exterior.is_ccw


def test_real_places_roughly() -> None:
    zhouzhi, yangquan = SHAPES["610124"], SHAPES["140302"]
    assert zhouzhi.contains(Point(108.2, 34.16))
    assert yangquan.contains(Point(113.58, 37.86))


@pytest.mark.parametrize("area", [a for a in d.AREAS if a.parent_code], ids=lambda a: a.code)
def test_child_inside_parent(area: d.DemoArea) -> None:
    assert SHAPES[area.parent_code].covers(SHAPES[area.code])


def _assert_tiles(parent: str) -> None:
    children = [SHAPES[c] for c in CHILDREN[parent]]
    union = unary_union(children)
    assert abs(union.area - SHAPES[parent].area) < 1e-9
    assert union.symmetric_difference(SHAPES[parent]).area < 1e-9
    for a, b in itertools.combinations(children, 2):
        assert a.intersection(b).area == 0


@pytest.mark.parametrize("community", [a.code for a in d.AREAS if a.level == "community"])
def test_grids_tile_their_community(community: str) -> None:
    _assert_tiles(community)


@pytest.mark.parametrize("district", [a.code for a in d.AREAS if a.level == "district"])
def test_streets_tile_their_district(district: str) -> None:
    _assert_tiles(district)


@pytest.mark.parametrize("parent", sorted({a.parent_code for a in d.AREAS if a.level in ("community", "micro_grid")}))
def test_siblings_do_not_overlap(parent: str) -> None:
    kids = [SHAPES[c] for c in CHILDREN[parent] if AREAS[c].level in ("community", "micro_grid")]
    for a, b in itertools.combinations(kids, 2):
        assert a.intersection(b).area == 0


def test_split_rect_tiles_exactly() -> None:
    bbox = (108.123457, 34.1, 108.2, 34.177777)
    cells = d._split_rect(bbox, 7, 3)
    assert len(cells) == 21
    union = unary_union([shape(d._polygon(c)) for c in cells])
    assert union.symmetric_difference(shape(d._polygon(bbox))).area < 1e-12
    assert cells[0][3] == bbox[3] and cells[0][0] == bbox[0], "first cell is the north-west one"


# ---------------------------------------------------------------------------------------------
# Units, users, categories
# ---------------------------------------------------------------------------------------------


def test_units() -> None:
    for unit in d.UNITS:
        assert unit.kind in UNIT_KINDS
        assert unit.area_code in AREAS
    names = {u.name for u in d.UNITS}
    assert {"云潭物业公司", "终南镇派出所", "国电满庭春物业"} <= names


def test_users() -> None:
    roles = {r.value for r in Role} - {Role.INTEGRATION.value}
    assert {u.role for u in d.USERS} == roles, "at least one user per staff role"
    for user in d.USERS:
        assert user.username.isascii() and user.username == user.username.lower()
        assert user.area_code in AREAS
        assert not user.display_name.isascii()
        if user.role == "department":
            assert user.unit_code in UNITS
            assert within(user.area_code, UNITS[user.unit_code].area_code)
        else:
            assert user.unit_code is None
        if user.role == "grid_worker":
            assert AREAS[user.area_code].level in ("grid", "micro_grid")
    assert sum(u.role == "department" and u.unit_code is not None for u in d.USERS) >= 2
    assert USERS["viewer_zhouzhi"].area_code == "610124"
    assert d.DEMO_PASSWORD == "minqing-demo"


def test_every_grid_has_a_worker() -> None:
    workers = {u.area_code for u in d.USERS if u.role == "grid_worker"}
    for area in d.AREAS:
        if area.level == "grid":
            assert area.code in workers, f"{area.code} has no grid worker"


def test_seed_people_in_ruyizhuang_and_xinyuan() -> None:
    def user(name: str) -> d.DemoUser:
        return next(u for u in d.USERS if u.display_name == name)

    for name in ("于润生", "梁爱莲", "赵保花"):
        assert user(name).role == "grid_worker"
        assert AREAS[user(name).area_code].parent_code == d.RUYIZHUANG
    assert user("牛慧祥").role == "community_admin" and user("牛慧祥").area_code == d.RUYIZHUANG
    assert user("郭锦霞").role == "community_admin" and user("郭锦霞").area_code == d.XINYUAN


def test_categories() -> None:
    codes = {c.code: c for c in d.CATEGORIES}
    assert set(codes) == DEFAULT_CATEGORIES
    for cat in d.CATEGORIES:
        assert not cat.name.isascii()
        if cat.parent_code is not None:
            assert codes[cat.parent_code].parent_code is None
    assert {c.code for c in d.CATEGORIES if c.parent_code == "facility"} == {"lighting", "sewage", "ev_charging"}
    assert {c.code for c in d.CATEGORIES if c.parent_code == "welfare"} == {
        "subsistence_allowance",
        "social_security",
        "employment",
    }


# ---------------------------------------------------------------------------------------------
# Issues
# ---------------------------------------------------------------------------------------------


def test_issue_counts_and_mix() -> None:
    assert 25 <= len(d.ISSUES) <= 40
    statuses = Counter(i.target_status for i in d.ISSUES)
    assert set(statuses) >= set(TARGET_STATUSES) | {"rejected"}
    assert statuses["closed"] > len(d.ISSUES) / 3
    ratings = Counter(i.rating for i in d.ISSUES if i.rating)
    assert ratings["dissatisfied"] >= 2
    assert ratings["satisfied"] > ratings["basically_satisfied"] + ratings["dissatisfied"]
    # open past a 7-day deadline: overdue on the dashboard
    open_states = {"accepted", "dispatched", "in_progress"}
    assert sum(i.target_status in open_states and i.days_ago > 7 for i in d.ISSUES) >= 2
    assert sum(i.escalated_to is not None for i in d.ISSUES) >= 3


@pytest.mark.parametrize("issue", d.ISSUES, ids=lambda i: i.ref)
def test_issue_fields(issue: d.DemoIssue) -> None:
    assert AREAS[issue.area_code].level == "grid"
    assert issue.kind in ISSUE_KINDS
    assert issue.category in DEFAULT_CATEGORIES
    assert issue.channel in CHANNELS
    assert issue.priority in PRIORITIES
    assert issue.target_status in [*TARGET_STATUSES, "rejected"]
    assert is_mobile(issue.reporter_phone)
    assert 0 <= issue.days_ago <= 60
    assert issue.title and issue.description and issue.address and issue.reporter_name

    status = issue.target_status
    done = status in ("resolved", "verified", "closed")
    if done:
        assert issue.resolve_outcome in RESOLVE_OUTCOMES
        assert issue.resolution
        assert issue.resolved_after_hours is not None
        assert 0 < issue.resolved_after_hours < issue.days_ago * 24
        if issue.resolve_outcome == "answered":
            assert issue.kind == "consultation"
    else:
        assert issue.resolve_outcome is None and issue.resolution is None
        assert issue.resolved_after_hours is None
    if status == "closed":
        assert issue.rating in RATINGS and issue.solved is not None
    else:
        assert issue.rating is None and issue.solved is None and issue.feedback is None
    if status == "rejected":
        assert issue.reject_reason in REJECT_REASONS and issue.status_note
    else:
        assert issue.reject_reason is None
    if status == "suspended":
        assert issue.status_note
    if issue.dispatch_to_unit is not None:
        assert issue.dispatch_to_unit in UNITS
        assert TARGET_STATUSES.index(status) >= TARGET_STATUSES.index("dispatched")
        unit = UNITS[issue.dispatch_to_unit]
        assert within(issue.area_code, unit.area_code), "unit must serve the issue's area"
        assert any(u.unit_code == unit.code for u in d.USERS), "someone must handle it in the unit"
    if issue.escalated_to is not None:
        assert issue.escalated_to in ("community", "street")
        assert status not in ("reported", "rejected")
    if issue.reporter_resident_ref is not None:
        resident = RESIDENTS[issue.reporter_resident_ref]
        household = HOUSEHOLDS[resident.household_ref]
        assert within(BUILDINGS[household.building_ref].area_code, issue.area_code)
        household_phones = {r.phone for r in d.RESIDENTS if r.household_ref == household.ref}
        assert issue.reporter_phone in household_phones


def test_issue_area_has_a_handler() -> None:
    for issue in d.ISSUES:
        assert any(u.role == "grid_worker" and u.area_code == issue.area_code for u in d.USERS)
        if issue.escalated_to is not None:
            level = "community_admin" if issue.escalated_to == "community" else "street_admin"
            assert any(u.role == level and within(issue.area_code, u.area_code) for u in d.USERS)


def test_seed_stories_present() -> None:
    text = " ".join(i.title + i.description for i in d.ISSUES)
    for needle in (
        "鸽子",
        "房顶漏水",
        "悬窑沟3号楼",
        "排污管道",
        "楼观台实验林场小区",
        "坤坤超市",
        "楼道照明",
        "名筑新东城",
        "私拉电线",
        "草坪",
        "消防",
    ):
        assert needle in text, needle


# ---------------------------------------------------------------------------------------------
# 民情日记
# ---------------------------------------------------------------------------------------------


def test_diary_entries() -> None:
    assert 20 <= len(d.DIARY_ENTRIES) <= 40
    linked: dict[str, str] = {}
    for entry in d.DIARY_ENTRIES:
        assert AREAS[entry.area_code].level == "grid"
        worker = USERS[entry.worker_username]
        assert worker.role == "grid_worker"
        assert within(entry.area_code, worker.area_code)
        assert entry.kind in DIARY_KINDS
        assert entry.status in DIARY_STATUSES
        assert 0 <= entry.days_ago <= 60
        assert entry.content and entry.measures
        if entry.status != "open":
            assert entry.result
        if entry.resident_ref is not None:
            household = HOUSEHOLDS[RESIDENTS[entry.resident_ref].household_ref]
            assert within(BUILDINGS[household.building_ref].area_code, entry.area_code)
        if entry.status == "escalated":
            issue = ISSUES[entry.escalates_to_issue_ref]
            assert issue.area_code == entry.area_code
            assert issue.days_ago <= entry.days_ago
            assert entry.escalates_to_issue_ref not in linked
            linked[entry.escalates_to_issue_ref] = entry.ref
        else:
            assert entry.escalates_to_issue_ref is None
    # issues that came from the diary are exactly the ones a diary entry escalated to
    assert set(linked) == {i.ref for i in d.ISSUES if i.channel == "diary"}
    statuses = Counter(e.status for e in d.DIARY_ENTRIES)
    assert all(statuses[s] for s in DIARY_STATUSES)


# ---------------------------------------------------------------------------------------------
# Disputes
# ---------------------------------------------------------------------------------------------


def test_disputes() -> None:
    assert 6 <= len(d.DISPUTES) <= 10
    assert {x.outcome for x in d.DISPUTES} == DISPUTE_OUTCOMES
    for dispute in d.DISPUTES:
        assert AREAS[dispute.area_code].level == "grid"
        assert dispute.type in DISPUTE_TYPES
        assert dispute.risk_level in RISK_LEVELS and dispute.risk_reason
        mediator = USERS[dispute.mediator_username]
        assert mediator.role == "mediator"
        assert within(dispute.area_code, mediator.area_code), "mediator's scope must cover the case"
        roles = Counter(p.role for p in dispute.parties)
        assert set(roles) <= PARTY_ROLES and roles["applicant"] >= 1 and roles["respondent"] >= 1
        for party in dispute.parties:
            assert party.name and is_mobile(party.phone)
        assert dispute.sessions
        last = dispute.days_ago
        for session in dispute.sessions:
            assert session.days_ago <= last and session.place and session.attendees and session.notes
            assert mediator.display_name in session.attendees
            last = session.days_ago
        for follow_up in dispute.follow_ups:
            assert follow_up.days_ago < last and follow_up.notes
            last = follow_up.days_ago
        if dispute.outcome == "agreement":
            assert dispute.agreement_text and dispute.outcome_notes is None
        else:
            assert dispute.agreement_text is None
        if dispute.outcome in ("failed", "referred"):
            assert dispute.outcome_notes
        if dispute.outcome is None:
            assert not dispute.follow_ups
        if dispute.issue_ref is not None:
            assert ISSUES[dispute.issue_ref].area_code == dispute.area_code
    assert {x.type for x in d.DISPUTES} >= {"neighbour", "family", "property", "labour"}


# ---------------------------------------------------------------------------------------------
# Residents' archive
# ---------------------------------------------------------------------------------------------


def test_buildings_and_households() -> None:
    for building in d.BUILDINGS:
        assert AREAS[building.area_code].level in ("grid", "micro_grid")
        assert SHAPES[building.area_code].contains(Point(building.lng, building.lat))
        assert building.floors > 0 and building.units > 0
    for household in d.HOUSEHOLDS:
        building = BUILDINGS[household.building_ref]
        assert household.address == building.address + household.door
    for grid_code in CHILDREN[d.RUYIZHUANG]:
        assert any(b.area_code == grid_code for b in d.BUILDINGS), f"{grid_code} has no building"
    assert any(b.name == "悬窑沟3号楼" for b in d.BUILDINGS)


def test_residents() -> None:
    assert 20 <= len(d.RESIDENTS) <= 40
    today = date.today()
    phones = [r.phone for r in d.RESIDENTS if r.phone is not None]
    for resident in d.RESIDENTS:
        assert resident.household_ref in HOUSEHOLDS
        assert resident.gender in ("male", "female")
        assert set(resident.tags) <= RESIDENT_TAGS
        if resident.phone is not None:
            assert is_mobile(resident.phone)
        idn = resident.id_number
        assert len(idn) == 18 and idn[:17].isdigit()
        assert idn[17] == id_check_digit(idn[:17]), f"{resident.name}: bad check digit"
        assert idn[6:14] == resident.birth_date.strftime("%Y%m%d")
        assert (int(idn[16]) % 2 == 1) == (resident.gender == "male")
        area = BUILDINGS[HOUSEHOLDS[resident.household_ref].building_ref].area_code
        assert idn[:6] == district_of(area)
        age = age_on(resident.birth_date, today)
        if {"elderly_alone", "empty_nest"} & set(resident.tags):
            assert age >= 60
        if "left_behind_child" in resident.tags:
            assert age < 18
    heads = Counter(r.household_ref for r in d.RESIDENTS)
    assert set(heads) == set(HOUSEHOLDS), "every household has somebody in it"
    assert len(phones) == len(set(phones))
    all_tags = {t for r in d.RESIDENTS for t in r.tags}
    assert all_tags == RESIDENT_TAGS
    names = {r.name for r in d.RESIDENTS}
    assert "周贵领" in names


def test_check_digit_reference_values() -> None:
    # GB 11643-1999 worked example
    assert id_check_digit("11010519491231002") == "X"
