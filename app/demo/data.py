"""The demo data set: places, people and cases from the seed reports.

The places, units and accounts are plain Python data here; the records (residents, issues, diary
entries, disputes) are JSON files in ``records/``, one object per record with the fields of its
``Demo*`` type below (a field left out takes its default; dates are ISO ``YYYY-MM-DD``), listed
under the community they belong to where a file is grouped.

Two districts, each a root of the area tree:

* 周至县 (610124): the four towns 终南镇, 楼观镇, 马召镇 and 富仁镇 tile a simplified county
  rectangle; their six communities (from the county's "一年10件实事" lists) are rectangles inside
  the towns, each split into 3–6 grids; two grids carry building-level micro-grids
  (楼观台实验林场小区, 名筑新东城).
* 阳泉市城区 (140302): 赛鱼街道 → 如意庄社区 (6 grids) and 蔡洼街道 → 新源社区 (8 grids).

Boundaries are GeoJSON polygons in WGS84 (lng, lat), counter-clockwise, generated from rectangles
cut on a shared lattice of coordinates rounded to 6 decimals, so children tile their parent exactly.

Time is relative: ``days_ago`` counts back from the moment the data is loaded. Everything personal
(names, phone numbers, ID numbers) is invented, apart from the names the seed reports themselves
print; ID numbers carry a valid GB 11643 check digit and phone numbers are well-formed but fake.
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass, field, is_dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

# --------------------------------------------------------------------------------------------
# Vocabulary (identifiers as in the domain description)
# --------------------------------------------------------------------------------------------

AreaLevel = Literal["district", "street", "community", "grid", "micro_grid"]
UnitKind = Literal["department", "property_company", "police_station", "judicial_office"]
RoleName = Literal[
    "grid_worker", "mediator", "community_admin", "street_admin", "department", "viewer", "admin", "integration"
]
IssueKind = Literal["consultation", "help", "complaint", "report", "suggestion", "praise"]
Channel = Literal["patrol", "diary", "walk_in", "phone", "app", "hotline", "petition", "open311"]
Priority = Literal["urgent", "high", "normal", "low"]
TargetStatus = Literal[
    "reported",
    "accepted",
    "dispatched",
    "in_progress",
    "suspended",
    "resolved",
    "verified",
    "closed",
    "rejected",
]
Rating = Literal["satisfied", "basically_satisfied", "dissatisfied"]
ResolveOutcome = Literal["solved", "answered", "unsolvable"]
RejectReason = Literal["duplicate", "invalid", "out_of_scope"]
EscalationTier = Literal["community", "street"]
DiaryKind = Literal["situation", "complaint", "opinion"]  # 民情, 民声, 民意
DiaryStatus = Literal["open", "answered", "resolved", "escalated"]
DisputeType = Literal["neighbour", "family", "property", "land", "labour", "other"]
RiskLevel = Literal["red", "orange", "yellow", "green"]
PartyRole = Literal["applicant", "respondent", "other"]
DisputeOutcome = Literal["agreement", "failed", "referred"]
Gender = Literal["male", "female"]
ResidentTag = Literal[
    "elderly_alone", "empty_nest", "disabled", "low_income", "left_behind_child", "veteran", "party_member"
]
Relation = Literal["head", "spouse", "child", "parent", "grandparent", "grandchild", "other"]

BBox = tuple[float, float, float, float]  # (west, south, east, north) = (min lng, min lat, max lng, max lat)

DEMO_PASSWORD = "minqing-demo"
"""The one password every demo account is created with (documented, demo only)."""


# --------------------------------------------------------------------------------------------
# Record types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoArea:
    code: str
    name: str
    level: AreaLevel
    parent_code: str | None
    boundary: dict[str, Any] = field(hash=False)  # GeoJSON Polygon


@dataclass(frozen=True, slots=True)
class DemoUnit:
    code: str
    name: str
    kind: UnitKind
    area_code: str  # the area it serves


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    display_name: str
    role: RoleName
    area_code: str  # home area: the user sees this subtree
    unit_code: str | None = None  # department users only


@dataclass(frozen=True, slots=True)
class DemoCategory:
    code: str
    name: str
    parent_code: str | None = None


@dataclass(frozen=True, slots=True)
class DemoIssue:
    ref: str
    area_code: str  # a grid
    title: str
    description: str
    kind: IssueKind
    category: str
    channel: Channel
    priority: Priority
    reporter_name: str
    reporter_phone: str
    address: str
    days_ago: int  # when it was reported
    target_status: TargetStatus  # how far through the loop the demo drives it
    reporter_resident_ref: str | None = None
    dispatch_to_unit: str | None = None  # unit code; otherwise the grid's own worker handles it
    escalated_to: EscalationTier | None = None  # escalated from the grid up to this tier
    resolved_after_hours: int | None = None  # report → resolve, for resolved / verified / closed
    resolve_outcome: ResolveOutcome | None = None
    resolution: str | None = None  # the handler's notes on resolving
    rating: Rating | None = None  # closed only (回访); 不满意 is given twice: at closing (重办), then after the rework
    solved: bool | None = None  # closed only
    feedback: str | None = None  # what the resident said at 回访
    reject_reason: RejectReason | None = None  # rejected only
    status_note: str | None = None  # reason for rejecting or suspending


@dataclass(frozen=True, slots=True)
class DemoDiaryEntry:
    ref: str
    area_code: str  # a grid
    worker_username: str
    days_ago: int
    kind: DiaryKind
    content: str
    measures: str
    result: str | None
    status: DiaryStatus
    tags: tuple[str, ...] = ()
    resident_ref: str | None = None
    escalates_to_issue_ref: str | None = None  # status "escalated" only


@dataclass(frozen=True, slots=True)
class DemoParty:
    name: str
    phone: str
    role: PartyRole


@dataclass(frozen=True, slots=True)
class DemoSession:
    days_ago: int
    place: str
    attendees: tuple[str, ...]
    notes: str


@dataclass(frozen=True, slots=True)
class DemoFollowUp:
    days_ago: int
    stable: bool
    notes: str


@dataclass(frozen=True, slots=True)
class DemoDispute:
    ref: str
    area_code: str  # a grid
    type: DisputeType
    title: str
    description: str
    risk_level: RiskLevel
    risk_reason: str
    parties: tuple[DemoParty, ...]
    mediator_username: str
    days_ago: int  # when it was registered (排查登记)
    sessions: tuple[DemoSession, ...]
    outcome: DisputeOutcome | None  # None: still being mediated
    agreement_text: str | None = None  # outcome "agreement" only
    outcome_notes: str | None = None  # why it failed / where it was referred
    follow_ups: tuple[DemoFollowUp, ...] = ()
    issue_ref: str | None = None  # the issue it grew out of, if any


@dataclass(frozen=True, slots=True)
class DemoBuilding:
    ref: str
    area_code: str  # the grid or micro-grid it stands in
    name: str
    address: str
    floors: int
    units: int  # 单元
    lng: float
    lat: float


@dataclass(frozen=True, slots=True)
class DemoHousehold:
    ref: str
    building_ref: str
    door: str  # 单元 + 室
    address: str


@dataclass(frozen=True, slots=True)
class DemoResident:
    ref: str
    household_ref: str
    name: str
    gender: Gender
    birth_date: date
    phone: str | None
    id_number: str
    relation: Relation  # to the head of the household
    tags: tuple[ResidentTag, ...] = ()


# --------------------------------------------------------------------------------------------
# Records read from records/*.json
# --------------------------------------------------------------------------------------------

_RECORDS = Path(__file__).with_name("records")
Record = TypeVar("Record")


def _records(kind: type[Record], name: str) -> list[Record]:
    """The records of ``records/<name>.json``: a list, or lists under headings (taken in order)."""
    raw = json.loads((_RECORDS / f"{name}.json").read_text(encoding="utf-8"))
    rows = [row for group in raw.values() for row in group] if isinstance(raw, dict) else raw
    return [_record(kind, row) for row in rows]


def _record(kind: type[Record], row: dict[str, Any]) -> Record:
    hints = get_type_hints(kind)
    return kind(**{name: _typed(hints[name], value) for name, value in row.items()})


def _typed(hint: Any, value: Any) -> Any:
    """``value`` as read from JSON, made the field's type: a tuple, a date, a nested record."""
    if value is None:
        return None
    if get_origin(hint) in (Union, types.UnionType):  # X | None
        (hint,) = [arg for arg in get_args(hint) if arg is not type(None)]
    if get_origin(hint) is tuple:
        return tuple(_typed(get_args(hint)[0], item) for item in value)
    if hint is date:
        return date.fromisoformat(value)
    if is_dataclass(hint):
        return _record(hint, value)  # type: ignore[arg-type]
    return value


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------

_DECIMALS = 6


def _cuts(lo: float, hi: float, n: int) -> list[float]:
    """``n + 1`` rounded break points from ``lo`` to ``hi``; the ends are kept exactly."""
    return [lo, *(round(lo + (hi - lo) * i / n, _DECIMALS) for i in range(1, n)), hi]


def _split_rect(bbox: BBox, n_cols: int, n_rows: int) -> list[BBox]:
    """Cut ``bbox`` into ``n_cols × n_rows`` cells, north row first, each row west to east.

    Neighbouring cells share the very same break points, so the cells tile ``bbox`` exactly.
    """
    west, south, east, north = bbox
    xs = _cuts(west, east, n_cols)
    ys = _cuts(north, south, n_rows)
    return [(xs[c], ys[r + 1], xs[c + 1], ys[r]) for r in range(n_rows) for c in range(n_cols)]


def _inset(bbox: BBox, left: float, bottom: float, right: float, top: float) -> BBox:
    """The part of ``bbox`` between the given fractions of its width (left, right) and height."""
    west, south, east, north = bbox
    w, h = east - west, north - south
    return (
        round(west + w * left, _DECIMALS),
        round(south + h * bottom, _DECIMALS),
        round(west + w * right, _DECIMALS),
        round(south + h * top, _DECIMALS),
    )


def _polygon(bbox: BBox) -> dict[str, Any]:
    """A GeoJSON Polygon for ``bbox``: one closed, counter-clockwise ring."""
    west, south, east, north = bbox
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


# --------------------------------------------------------------------------------------------
# Areas
# --------------------------------------------------------------------------------------------

ZHOUZHI = "610124"  # 周至县
ZHONGNAN_TOWN = "610124101"  # 终南镇
MAZHAO_TOWN = "610124102"  # 马召镇
LOUGUAN_TOWN = "610124104"  # 楼观镇
FUREN_TOWN = "610124112"  # 富仁镇
ZHONGNAN = "610124101001"  # 终南社区
MAZHAO = "610124102001"  # 马召社区
ANFUYUAN = "610124102002"  # 安富园社区
LOUGUAN = "610124104001"  # 楼观社区
XINZHEN = "610124104002"  # 新镇社区
XINJIAZHAI = "610124112001"  # 辛家寨社区

CHENGQU = "140302"  # 阳泉市城区
SAIYU_STREET = "140302004"  # 赛鱼街道
CAIWA_STREET = "140302005"  # 蔡洼街道
RUYIZHUANG = "140302004003"  # 如意庄社区
XINYUAN = "140302005002"  # 新源社区


def grid(community_code: str, n: int) -> str:
    """The code of the ``n``-th grid (第n网格) of a community."""
    return f"{community_code}{n:02d}"


def micro_grid(grid_code: str, n: int) -> str:
    """The code of the ``n``-th micro-grid (楼栋) of a grid."""
    return f"{grid_code}{n:02d}"


_NUMERALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")

# Districts: (code, name, bbox). Streets tile their district: (district, n_cols, n_rows, streets
# in the order of the cells, north row first, west to east).
_DISTRICTS: tuple[tuple[str, str, BBox, int, int, tuple[tuple[str, str], ...]], ...] = (
    (
        ZHOUZHI,
        "周至县",
        (108.0, 33.98, 108.4, 34.22),
        2,
        2,
        (
            (FUREN_TOWN, "富仁镇"),
            (ZHONGNAN_TOWN, "终南镇"),
            (MAZHAO_TOWN, "马召镇"),
            (LOUGUAN_TOWN, "楼观镇"),
        ),
    ),
    (
        CHENGQU,
        "阳泉市城区",
        (113.54, 37.83, 113.62, 37.89),
        2,
        1,
        ((CAIWA_STREET, "蔡洼街道"), (SAIYU_STREET, "赛鱼街道")),
    ),
)

# Communities: (code, name, street, bbox inside the street, grid columns, grid rows).
_COMMUNITIES: tuple[tuple[str, str, str, BBox, int, int], ...] = (
    (ZHONGNAN, "终南社区", ZHONGNAN_TOWN, (108.296, 34.14, 108.308, 34.148), 3, 2),
    (LOUGUAN, "楼观社区", LOUGUAN_TOWN, (108.326, 34.06, 108.334, 34.066), 2, 2),
    (XINZHEN, "新镇社区", LOUGUAN_TOWN, (108.352, 34.072, 108.361, 34.077), 3, 1),
    (MAZHAO, "马召社区", MAZHAO_TOWN, (108.172, 34.066, 108.178, 34.075), 1, 3),
    (ANFUYUAN, "安富园社区", MAZHAO_TOWN, (108.16, 34.058, 108.168, 34.064), 2, 2),
    (XINJIAZHAI, "辛家寨社区", FUREN_TOWN, (108.118, 34.168, 108.128, 34.174), 5, 1),
    (RUYIZHUANG, "如意庄社区", SAIYU_STREET, (113.596, 37.852, 113.605, 37.858), 3, 2),
    (XINYUAN, "新源社区", CAIWA_STREET, (113.56, 37.862, 113.57, 37.867), 4, 2),
)

# Micro-grids (楼栋): (grid, inset fractions of the grid, columns, rows, names in cell order).
_MICRO_GRIDS: tuple[tuple[str, tuple[float, float, float, float], int, int, tuple[str, ...]], ...] = (
    (
        grid(LOUGUAN, 1),
        (0.2, 0.2, 0.8, 0.8),
        2,
        2,
        tuple(f"楼观台实验林场小区{i}号楼" for i in range(1, 5)),
    ),
    (
        grid(XINJIAZHAI, 2),
        (0.15, 0.2, 0.85, 0.8),
        1,
        3,
        tuple(f"名筑新东城{i}号楼" for i in range(1, 4)),
    ),
)


def _build_areas() -> tuple[list[DemoArea], dict[str, BBox]]:
    areas: list[DemoArea] = []
    boxes: dict[str, BBox] = {}

    def add(code: str, name: str, level: AreaLevel, parent: str | None, bbox: BBox) -> None:
        areas.append(DemoArea(code, name, level, parent, _polygon(bbox)))
        boxes[code] = bbox

    for code, name, bbox, cols, rows, streets in _DISTRICTS:
        add(code, name, "district", None, bbox)
        for (street_code, street_name), cell in zip(streets, _split_rect(bbox, cols, rows), strict=True):
            add(street_code, street_name, "street", code, cell)
    for code, name, street, bbox, cols, rows in _COMMUNITIES:
        add(code, name, "community", street, bbox)
        for i, cell in enumerate(_split_rect(bbox, cols, rows), start=1):
            add(grid(code, i), f"第{_NUMERALS[i - 1]}网格", "grid", code, cell)
    for grid_code, (left, bottom, right, top), cols, rows, names in _MICRO_GRIDS:
        inner = _inset(boxes[grid_code], left, bottom, right, top)
        for i, (name, cell) in enumerate(zip(names, _split_rect(inner, cols, rows), strict=True), start=1):
            add(micro_grid(grid_code, i), name, "micro_grid", grid_code, cell)
    return areas, boxes


AREAS, _BOXES = _build_areas()
"""The area tree, parents before children."""


def _point(area_code: str, fx: float = 0.5, fy: float = 0.5) -> tuple[float, float]:
    """A point (lng, lat) at the given fractions of an area's rectangle."""
    west, south, east, north = _BOXES[area_code]
    return round(west + (east - west) * fx, _DECIMALS), round(south + (north - south) * fy, _DECIMALS)


# --------------------------------------------------------------------------------------------
# Units (职能部门 / 物业 / 派出所 / 司法所)
# --------------------------------------------------------------------------------------------

UNITS: list[DemoUnit] = [
    DemoUnit("zhouzhi_power", "国网周至县供电公司", "department", ZHOUZHI),
    DemoUnit("zhouzhi_urban", "周至县城市管理综合执法局", "department", ZHOUZHI),
    DemoUnit("zhongnan_police", "终南镇派出所", "police_station", ZHONGNAN_TOWN),
    DemoUnit("zhongnan_traffic", "终南交警中队", "department", ZHONGNAN_TOWN),
    DemoUnit("zhongnan_judicial", "终南镇司法所", "judicial_office", ZHONGNAN_TOWN),
    DemoUnit("mazhao_work_team", "马召镇驻村工作队", "department", ANFUYUAN),
    DemoUnit("mingzhu_property", "名筑新东城物业服务中心", "property_company", XINJIAZHAI),
    DemoUnit("chengqu_municipal", "城区市政环卫服务中心", "department", CHENGQU),
    DemoUnit("saiyu_police", "赛鱼派出所", "police_station", SAIYU_STREET),
    DemoUnit("saiyu_judicial", "赛鱼街道司法所", "judicial_office", SAIYU_STREET),
    DemoUnit("yuntan_property", "云潭物业公司", "property_company", RUYIZHUANG),
    DemoUnit("guodian_property", "国电满庭春物业", "property_company", XINYUAN),
]


# --------------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------------

# One full-time grid worker per grid: (username prefix, community, names in grid order).
_GRID_WORKERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("grid_zhongnan", ZHONGNAN, ("王海燕", "李建军", "张淑芳", "刘晓东", "陈丽娟", "杨帆")),
    ("grid_louguan", LOUGUAN, ("赵红梅", "孙立新", "周雅琴", "吴振华")),
    ("grid_xinzhen", XINZHEN, ("郑小燕", "冯国强", "何丽萍")),
    ("grid_mazhao", MAZHAO, ("林志刚", "罗芳", "宋建平")),
    ("grid_anfuyuan", ANFUYUAN, ("马俊杰", "胡秀英", "朱明辉", "高雪")),
    ("grid_xinjiazhai", XINJIAZHAI, ("谢文静", "韩磊", "唐晓梅", "许志强", "邓慧")),
    ("grid_ruyizhuang", RUYIZHUANG, ("于润生", "梁爱莲", "赵保花", "武晓丽", "侯建英", "白玉兰")),
    ("grid_xinyuan", XINYUAN, ("闫丽君", "王俊英", "李秀梅", "张晓燕", "乔建平", "贾玉琴", "史红霞", "田志红")),
)

USERS: list[DemoUser] = [
    DemoUser("admin", "系统管理员", "admin", ZHOUZHI),
    DemoUser("viewer_zhouzhi", "周至县社会治理指挥中心", "viewer", ZHOUZHI),
    DemoUser("viewer_chengqu", "城区社会治理指挥中心", "viewer", CHENGQU),
    DemoUser("street_zhongnan", "孟庆华", "street_admin", ZHONGNAN_TOWN),
    DemoUser("street_louguan", "何建国", "street_admin", LOUGUAN_TOWN),
    DemoUser("street_mazhao", "康立平", "street_admin", MAZHAO_TOWN),
    DemoUser("street_furen", "姚卫红", "street_admin", FUREN_TOWN),
    DemoUser("street_saiyu", "薛宏伟", "street_admin", SAIYU_STREET),
    DemoUser("street_caiwa", "武建伟", "street_admin", CAIWA_STREET),
    DemoUser("community_zhongnan", "杨建华", "community_admin", ZHONGNAN),
    DemoUser("community_louguan", "王秀梅", "community_admin", LOUGUAN),
    DemoUser("community_xinzhen", "刘志勇", "community_admin", XINZHEN),
    DemoUser("community_mazhao", "雷振东", "community_admin", MAZHAO),
    DemoUser("community_anfuyuan", "张永红", "community_admin", ANFUYUAN),
    DemoUser("community_xinjiazhai", "苏文斌", "community_admin", XINJIAZHAI),
    DemoUser("community_ruyizhuang", "牛慧祥", "community_admin", RUYIZHUANG),
    DemoUser("community_xinyuan", "郭锦霞", "community_admin", XINYUAN),
    *(
        DemoUser(f"{prefix}_{i}", name, "grid_worker", grid(community, i))
        for prefix, community, names in _GRID_WORKERS
        for i, name in enumerate(names, start=1)
    ),
    DemoUser("mediator_zhouzhi", "曹德明", "mediator", ZHOUZHI),
    DemoUser("mediator_zhongnan", "任淑贤", "mediator", ZHONGNAN_TOWN),
    DemoUser("mediator_saiyu", "段秀珍", "mediator", SAIYU_STREET),
    DemoUser("mediator_caiwa", "常永福", "mediator", CAIWA_STREET),
    DemoUser("dept_zhouzhi_power", "周斌", "department", ZHOUZHI, "zhouzhi_power"),
    DemoUser("dept_zhouzhi_urban", "李志强", "department", ZHOUZHI, "zhouzhi_urban"),
    DemoUser("dept_zhongnan_police", "张磊", "department", ZHONGNAN_TOWN, "zhongnan_police"),
    DemoUser("dept_mazhao_work_team", "赵军", "department", ANFUYUAN, "mazhao_work_team"),
    DemoUser("dept_mingzhu", "黄晓东", "department", XINJIAZHAI, "mingzhu_property"),
    DemoUser("dept_chengqu_municipal", "刘亚军", "department", CHENGQU, "chengqu_municipal"),
    DemoUser("dept_saiyu_police", "石磊", "department", SAIYU_STREET, "saiyu_police"),
    DemoUser("dept_yuntan", "王丽萍", "department", RUYIZHUANG, "yuntan_property"),
    DemoUser("dept_guodian", "赵宏亮", "department", XINYUAN, "guodian_property"),
]


# --------------------------------------------------------------------------------------------
# Categories (the default tree)
# --------------------------------------------------------------------------------------------

CATEGORIES: list[DemoCategory] = [
    DemoCategory("property", "物业"),
    DemoCategory("dispute", "矛盾纠纷"),
    DemoCategory("environment", "环境卫生"),
    DemoCategory("facility", "设施"),
    DemoCategory("lighting", "照明", "facility"),
    DemoCategory("sewage", "排污", "facility"),
    DemoCategory("ev_charging", "充电桩", "facility"),
    DemoCategory("safety_hazard", "安全隐患/消防"),
    DemoCategory("public_order", "治安"),
    DemoCategory("welfare", "帮扶"),
    DemoCategory("subsistence_allowance", "低保", "welfare"),
    DemoCategory("social_security", "社保", "welfare"),
    DemoCategory("employment", "就业", "welfare"),
    DemoCategory("elderly_care", "养老"),
    DemoCategory("other", "其他"),
]


# --------------------------------------------------------------------------------------------
# Residents' archive: buildings, households, residents
# --------------------------------------------------------------------------------------------

_RYZ_ADDR = "山西省阳泉市城区赛鱼街道"
_ZN_ADDR = "陕西省西安市周至县终南镇"


def _building(
    ref: str, area: str, name: str, address: str, floors: int, units: int, fx: float = 0.5, fy: float = 0.5
) -> DemoBuilding:
    lng, lat = _point(area, fx, fy)
    return DemoBuilding(ref, area, name, address, floors, units, lng, lat)


BUILDINGS: list[DemoBuilding] = [
    # 如意庄社区
    _building("bld-ryz-10", grid(RUYIZHUANG, 1), "如意庄小区10号楼", f"{_RYZ_ADDR}如意庄小区10号楼", 6, 3, 0.3, 0.4),
    _building("bld-ryz-12", grid(RUYIZHUANG, 1), "如意庄小区12号楼", f"{_RYZ_ADDR}如意庄小区12号楼", 6, 3, 0.7, 0.6),
    _building("bld-ryz-7", grid(RUYIZHUANG, 2), "如意庄小区7号楼", f"{_RYZ_ADDR}如意庄小区7号楼", 6, 4, 0.35, 0.5),
    _building("bld-ryz-8", grid(RUYIZHUANG, 2), "如意庄小区8号楼", f"{_RYZ_ADDR}如意庄小区8号楼", 6, 4, 0.7, 0.5),
    _building("bld-xyg-1", grid(RUYIZHUANG, 3), "悬窑沟1号楼", f"{_RYZ_ADDR}悬窑沟1号楼", 5, 2, 0.25, 0.7),
    _building("bld-xyg-2", grid(RUYIZHUANG, 3), "悬窑沟2号楼", f"{_RYZ_ADDR}悬窑沟2号楼", 5, 2, 0.5, 0.5),
    _building("bld-xyg-3", grid(RUYIZHUANG, 3), "悬窑沟3号楼", f"{_RYZ_ADDR}悬窑沟3号楼", 5, 3, 0.75, 0.3),
    _building("bld-ryz-shops", grid(RUYIZHUANG, 4), "赛鱼路沿街商铺楼", f"{_RYZ_ADDR}赛鱼路沿街商铺楼", 4, 2),
    _building("bld-rydy-1", grid(RUYIZHUANG, 5), "如意东苑1号楼", f"{_RYZ_ADDR}如意东苑1号楼", 7, 2, 0.3, 0.5),
    _building("bld-rydy-2", grid(RUYIZHUANG, 5), "如意东苑2号楼", f"{_RYZ_ADDR}如意东苑2号楼", 7, 2, 0.7, 0.5),
    _building("bld-rydy-5", grid(RUYIZHUANG, 6), "如意东苑5号楼", f"{_RYZ_ADDR}如意东苑5号楼", 7, 3, 0.4, 0.6),
    # 终南社区
    _building("bld-zn-dj-2", grid(ZHONGNAN, 3), "东街家属院2号楼", f"{_ZN_ADDR}东街家属院2号楼", 5, 2),
    _building("bld-zn-xc-3", grid(ZHONGNAN, 5), "终南新村3号楼", f"{_ZN_ADDR}终南新村3号楼", 6, 2),
    _building("bld-zn-xc-1", grid(ZHONGNAN, 6), "终南新村1号楼", f"{_ZN_ADDR}终南新村1号楼", 6, 3),
    # 楼观社区: 楼观台实验林场小区, one micro-grid per building
    *(
        _building(
            f"bld-lglc-{i}",
            micro_grid(grid(LOUGUAN, 1), i),
            f"楼观台实验林场小区{i}号楼",
            f"陕西省西安市周至县楼观镇楼观台实验林场小区{i}号楼",
            5,
            3,
        )
        for i in range(1, 5)
    ),
    # 安富园社区
    _building(
        "bld-afy-a3", grid(ANFUYUAN, 1), "安富园小区A区3号楼", "陕西省西安市周至县马召镇安富园小区A区3号楼", 6, 2
    ),
    # 辛家寨社区: 名筑新东城, one micro-grid per building
    *(
        _building(
            f"bld-mzxdc-{i}",
            micro_grid(grid(XINJIAZHAI, 2), i),
            f"名筑新东城{i}号楼",
            f"陕西省西安市周至县富仁镇名筑新东城{i}号楼",
            18,
            2,
        )
        for i in range(1, 4)
    ),
]

_BUILDING_ADDRESS = {b.ref: b.address for b in BUILDINGS}


def _household(ref: str, building_ref: str, door: str) -> DemoHousehold:
    return DemoHousehold(ref, building_ref, door, f"{_BUILDING_ADDRESS[building_ref]}{door}")


HOUSEHOLDS: list[DemoHousehold] = [
    _household("hh-ryz-12-2-402", "bld-ryz-12", "2单元402"),
    _household("hh-ryz-12-2-502", "bld-ryz-12", "2单元502"),
    _household("hh-ryz-7-3-601", "bld-ryz-7", "3单元601"),
    _household("hh-xyg-1-2-301", "bld-xyg-1", "2单元301"),
    _household("hh-xyg-2-1-101", "bld-xyg-2", "1单元101"),
    _household("hh-xyg-3-1-502", "bld-xyg-3", "1单元502"),
    _household("hh-ryz-shops-2-302", "bld-ryz-shops", "2单元302"),
    _household("hh-rydy-1-1-102", "bld-rydy-1", "1单元102"),
    _household("hh-rydy-5-2-201", "bld-rydy-5", "2单元201"),
    _household("hh-zn-dj-2-1-101", "bld-zn-dj-2", "1单元101"),
    _household("hh-zn-dj-2-2-301", "bld-zn-dj-2", "2单元301"),
    _household("hh-zn-xc-3-1-201", "bld-zn-xc-3", "1单元201"),
    _household("hh-zn-xc-1-3-402", "bld-zn-xc-1", "3单元402"),
    _household("hh-lglc-2-1-301", "bld-lglc-2", "1单元301"),
    _household("hh-lglc-4-2-502", "bld-lglc-4", "2单元502"),
    _household("hh-afy-a3-1-201", "bld-afy-a3", "1单元201"),
    _household("hh-afy-a3-2-401", "bld-afy-a3", "2单元401"),
    _household("hh-mzxdc-2-1-1502", "bld-mzxdc-2", "1单元1502"),
    _household("hh-mzxdc-3-2-302", "bld-mzxdc-3", "2单元302"),
]

RESIDENTS: list[DemoResident] = _records(DemoResident, "residents")


# --------------------------------------------------------------------------------------------
# Issues (诉求 / 工单)
# --------------------------------------------------------------------------------------------

ISSUES: list[DemoIssue] = _records(DemoIssue, "issues")


# --------------------------------------------------------------------------------------------
# 民情日记
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoOpen311Request:
    """A request a resident filed on the city's 12345 web portal, which forwards it over Open311."""

    service_code: str  # a category
    grid_code: str  # the point filed lies inside this grid
    description: str
    address: str
    last_name: str
    first_name: str
    phone: str
    hours_ago: int
    attributes: dict[str, str] = field(default_factory=dict, hash=False)


# The portal's integration account (its API key is created by the demo loader, never shown).
OPEN311_PORTAL = DemoUser("open311_portal", "阳泉市12345市民网站", "integration", CHENGQU)
OPEN311_REQUESTS: list[DemoOpen311Request] = [
    DemoOpen311Request(
        "lighting",
        grid(RUYIZHUANG, 1),
        "小区北门路灯不亮\n北门口的路灯已经坏了一周,晚上回家很黑。",
        "如意庄小区北门",
        "王",
        "女士",
        "13903531234",
        30,
        {"location_detail": "北门口第二盏路灯"},
    ),
    DemoOpen311Request(
        "environment",
        grid(RUYIZHUANG, 2),
        "垃圾站清运不及时\n5号楼旁垃圾站两天没有清运,气味很大。",
        "如意庄小区5号楼旁",
        "李",
        "先生",
        "13603532345",
        8,
    ),
    DemoOpen311Request(
        "safety_hazard",
        grid(XINYUAN, 1),
        "楼道堆放杂物\n2号楼1单元楼道堆满纸箱,堵住了消防通道。",
        "新源小区2号楼1单元",
        "赵",
        "先生",
        "13835343456",
        3,
        {"hazard_type": "fire_exit_blocked"},
    ),
]


DIARY_ENTRIES: list[DemoDiaryEntry] = _records(DemoDiaryEntry, "diary_entries")


# --------------------------------------------------------------------------------------------
# 矛盾纠纷调解
# --------------------------------------------------------------------------------------------

DISPUTES: list[DemoDispute] = _records(DemoDispute, "disputes")
