"""The demo data set: places, people and cases from the seed reports, as plain Python data.

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

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

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

RESIDENTS: list[DemoResident] = [
    # 如意庄社区
    DemoResident(
        "res-sun-xiuzhi",
        "hh-ryz-12-2-402",
        "孙秀芝",
        "female",
        date(1958, 1, 7),
        "13934561782",
        "14030219580107410X",
        "head",
    ),
    DemoResident(
        "res-liu-zhenshan",
        "hh-ryz-12-2-502",
        "刘振山",
        "male",
        date(1962, 4, 15),
        "13513470926",
        "140302196204153138",
        "head",
    ),
    DemoResident(
        "res-chen-yumei",
        "hh-ryz-12-2-502",
        "陈玉梅",
        "female",
        date(1964, 9, 23),
        "15035326184",
        "140302196409239103",
        "spouse",
    ),
    DemoResident(
        "res-zhou-guiling",
        "hh-ryz-7-3-601",
        "周贵领",
        "male",
        date(1948, 3, 12),
        "13603536427",
        "140302194803121438",
        "head",
        ("empty_nest",),
    ),
    DemoResident(
        "res-wang-guilan",
        "hh-ryz-7-3-601",
        "王桂兰",
        "female",
        date(1950, 6, 28),
        "13753302915",
        "140302195006282321",
        "spouse",
        ("empty_nest",),
    ),
    DemoResident(
        "res-zhang-jinhua",
        "hh-xyg-1-2-301",
        "张金花",
        "female",
        date(1938, 8, 16),
        "15234187360",
        "140302193808164627",
        "head",
        ("elderly_alone",),
    ),
    DemoResident(
        "res-wu-suqin",
        "hh-xyg-2-1-101",
        "武素琴",
        "female",
        date(1969, 11, 5),
        "18734952013",
        "140302196911053427",
        "head",
        ("disabled", "low_income"),
    ),
    DemoResident(
        "res-hou-junfeng",
        "hh-xyg-2-1-101",
        "侯俊峰",
        "male",
        date(1967, 2, 19),
        "18635274109",
        "140302196702197870",
        "spouse",
        ("low_income",),
    ),
    DemoResident(
        "res-zhao-jianmin",
        "hh-xyg-3-1-502",
        "赵建民",
        "male",
        date(1965, 7, 1),
        "13903537714",
        "140302196507019956",
        "head",
        ("party_member",),
    ),
    DemoResident(
        "res-li-cuiping",
        "hh-xyg-3-1-502",
        "李翠萍",
        "female",
        date(1966, 3, 30),
        "13835326058",
        "140302196603308029",
        "spouse",
    ),
    DemoResident(
        "res-han-yumei",
        "hh-ryz-shops-2-302",
        "韩玉梅",
        "female",
        date(1978, 9, 25),
        "15525341976",
        "140302197809255107",
        "head",
        ("low_income",),
    ),
    DemoResident(
        "res-han-siyu",
        "hh-ryz-shops-2-302",
        "韩思雨",
        "female",
        date(2012, 6, 4),
        None,
        "140302201206041600",
        "child",
        ("low_income",),
    ),
    DemoResident(
        "res-chen-zhigang",
        "hh-rydy-1-1-102",
        "陈志刚",
        "male",
        date(1972, 5, 14),
        "13485320697",
        "14030219720514721X",
        "head",
        ("disabled", "low_income"),
    ),
    DemoResident(
        "res-li-fengying",
        "hh-rydy-1-1-102",
        "李凤英",
        "female",
        date(1932, 2, 8),
        None,
        "140302193202082707",
        "parent",
        ("low_income",),
    ),
    DemoResident(
        "res-gao-shouyi",
        "hh-rydy-5-2-201",
        "高守义",
        "male",
        date(1941, 10, 1),
        "13613531248",
        "140302194110018294",
        "head",
        ("elderly_alone", "veteran", "party_member"),
    ),
    # 终南社区
    DemoResident(
        "res-li-changgeng",
        "hh-zn-dj-2-1-101",
        "李长庚",
        "male",
        date(1936, 4, 18),
        "13892047315",
        "610124193604186218",
        "head",
        ("elderly_alone", "veteran"),
    ),
    DemoResident(
        "res-zhao-guifang",
        "hh-zn-dj-2-2-301",
        "赵桂芳",
        "female",
        date(1940, 1, 12),
        "15291637248",
        "610124194001121209",
        "head",
        ("elderly_alone",),
    ),
    DemoResident(
        "res-zhang-liang",
        "hh-zn-xc-3-1-201",
        "张亮",
        "male",
        date(1990, 7, 16),
        "18191276430",
        "610124199007169572",
        "head",
        ("disabled",),
    ),
    DemoResident(
        "res-zhang-baoshan",
        "hh-zn-xc-3-1-201",
        "张宝山",
        "male",
        date(1960, 5, 9),
        "13709185264",
        "610124196005093793",
        "parent",
    ),
    DemoResident(
        "res-liu-caixia",
        "hh-zn-xc-1-3-402",
        "刘彩霞",
        "female",
        date(1979, 8, 7),
        "17791425863",
        "610124197908076120",
        "head",
        ("low_income",),
    ),
    DemoResident(
        "res-liu-xinyi",
        "hh-zn-xc-1-3-402",
        "刘欣怡",
        "female",
        date(2015, 3, 21),
        None,
        "610124201503214280",
        "child",
        ("low_income",),
    ),
    # 楼观社区 (楼观台实验林场小区)
    DemoResident(
        "res-wang-desheng",
        "hh-lglc-2-1-301",
        "王德胜",
        "male",
        date(1952, 8, 20),
        "13991358702",
        "610124195208204196",
        "head",
        ("empty_nest", "party_member"),
    ),
    DemoResident(
        "res-liu-xiuzhen",
        "hh-lglc-2-1-301",
        "刘秀珍",
        "female",
        date(1954, 2, 11),
        "15829047163",
        "610124195402111022",
        "spouse",
        ("empty_nest",),
    ),
    DemoResident(
        "res-yang-xiaojun",
        "hh-lglc-4-2-502",
        "杨小军",
        "male",
        date(1988, 6, 13),
        "18992063547",
        "610124198806131795",
        "head",
    ),
    # 安富园社区: grandparents raising children whose parents work in 西安
    DemoResident(
        "res-ma-xiulan",
        "hh-afy-a3-1-201",
        "马秀兰",
        "female",
        date(1956, 9, 27),
        "13572946108",
        "610124195609276086",
        "grandparent",
    ),
    DemoResident(
        "res-ma-xiaoyu",
        "hh-afy-a3-1-201",
        "马小雨",
        "female",
        date(2014, 4, 2),
        None,
        "610124201404023841",
        "grandchild",
        ("left_behind_child",),
    ),
    DemoResident(
        "res-ma-haoran",
        "hh-afy-a3-1-201",
        "马浩然",
        "male",
        date(2016, 11, 18),
        None,
        "610124201611186838",
        "grandchild",
        ("left_behind_child",),
    ),
    DemoResident(
        "res-wang-youfu",
        "hh-afy-a3-2-401",
        "王有福",
        "male",
        date(1951, 3, 5),
        "13186027453",
        "610124195103051074",
        "grandparent",
        ("low_income",),
    ),
    DemoResident(
        "res-wang-zihan",
        "hh-afy-a3-2-401",
        "王子涵",
        "male",
        date(2013, 8, 29),
        None,
        "610124201308297359",
        "grandchild",
        ("left_behind_child", "low_income"),
    ),
    # 辛家寨社区 (名筑新东城)
    DemoResident(
        "res-he-jun",
        "hh-mzxdc-2-1-1502",
        "何军",
        "male",
        date(1985, 1, 12),
        "18710658392",
        "610124198501121377",
        "head",
    ),
    DemoResident(
        "res-su-guilan",
        "hh-mzxdc-3-2-302",
        "苏桂兰",
        "female",
        date(1944, 7, 17),
        "15319407526",
        "610124194407177667",
        "head",
        ("empty_nest",),
    ),
]


# --------------------------------------------------------------------------------------------
# Issues (诉求 / 工单)
# --------------------------------------------------------------------------------------------

ISSUES: list[DemoIssue] = [
    # ---- 如意庄社区 -------------------------------------------------------------------------
    DemoIssue(
        ref="iss-ryz-pigeon",
        area_code=grid(RUYIZHUANG, 1),
        title="邻居家中饲养鸽子,粪便臭味严重",
        description=(
            "网格员入户走访时,12号楼2单元住户反映楼上邻居在家中饲养鸽子,天气转热后鸽子粪便臭味"
            "愈发浓烈,窗台常落有羽毛和粪便,无法开窗通风。"
        ),
        kind="complaint",
        category="dispute",
        channel="diary",
        priority="normal",
        reporter_name="孙秀芝",
        reporter_phone="13934561782",
        reporter_resident_ref="res-sun-xiuzhi",
        address=f"{_RYZ_ADDR}如意庄小区12号楼2单元",
        days_ago=45,
        target_status="closed",
        resolved_after_hours=96,
        resolve_outcome="solved",
        resolution=(
            "网格员多次与鸽子主人沟通协调,鸽子主人同意将鸽子羽毛剪短,保证其不能飞出窗外,并每两天清理一次鸽笼。"
        ),
        rating="satisfied",
        solved=True,
        feedback="现在窗台干净了,臭味也没了,谢谢网格员。",
    ),
    DemoIssue(
        ref="iss-ryz-roof-leak",
        area_code=grid(RUYIZHUANG, 2),
        title="顶层住户房顶漏水,雨天屋内漏雨",
        description=(
            "居民家住7号楼顶层,每逢雨季屋外下大雨、屋内下小雨,墙皮脱落,严重影响老两口正常生活。"
            "房顶有违建,防水层多处破损。"
        ),
        kind="help",
        category="property",
        channel="walk_in",
        priority="high",
        reporter_name="周贵领",
        reporter_phone="13603536427",
        reporter_resident_ref="res-zhou-guiling",
        address=f"{_RYZ_ADDR}如意庄小区7号楼3单元601",
        days_ago=58,
        target_status="closed",
        dispatch_to_unit="yuntan_property",
        escalated_to="community",
        resolved_after_hours=240,
        resolve_outcome="solved",
        resolution="网格员多次联系相关部门,协调物业拆除房顶违建并重新做好防水措施,经雨天检验无渗漏。",
        rating="satisfied",
        solved=True,
        feedback="多亏你们的协调,房顶漏水的问题终于解决了,我和老伴真是太谢谢你们啦!",
    ),
    DemoIssue(
        ref="iss-ryz-roof-leak-dup",
        area_code=grid(RUYIZHUANG, 2),
        title="7号楼顶层漏水(重复反映)",
        description="12345热线转来:7号楼顶层住户房顶漏水,雨天屋内漏雨。",
        kind="complaint",
        category="property",
        channel="hotline",
        priority="normal",
        reporter_name="周贵领",
        reporter_phone="13603536427",
        reporter_resident_ref="res-zhou-guiling",
        address=f"{_RYZ_ADDR}如意庄小区7号楼3单元601",
        days_ago=56,
        target_status="rejected",
        reject_reason="duplicate",
        status_note="与社区首问窗口已受理的房顶漏水工单重复,已告知来电人在原工单跟进。",
    ),
    DemoIssue(
        ref="iss-ryz-wall-seepage",
        area_code=grid(RUYIZHUANG, 3),
        title="悬窑沟3号楼对面菜窖上方墙体渗水",
        description="悬窑沟3号楼对面菜窖上方墙体渗水多年,流出的污水漫到楼前通道,严重影响居民生活。",
        kind="complaint",
        category="property",
        channel="patrol",
        priority="high",
        reporter_name="赵建民",
        reporter_phone="13903537714",
        reporter_resident_ref="res-zhao-jianmin",
        address=f"{_RYZ_ADDR}悬窑沟3号楼对面",
        days_ago=52,
        target_status="closed",
        dispatch_to_unit="yuntan_property",
        resolved_after_hours=150,
        resolve_outcome="solved",
        resolution="网格员多方联系,云潭物业公司清理渗水点、重做墙体防水并疏通排水沟。",
        rating="satisfied",
        solved=True,
        feedback="多年的老问题解决了,给网格员和物业点赞。",
    ),
    DemoIssue(
        ref="iss-ryz-sewage",
        area_code=grid(RUYIZHUANG, 4),
        title="沿街商铺楼后排污管道严重堵塞",
        description="沿街商铺楼后排污管道出现严重堵塞,污水从检查井外溢,楼上住户无法正常排水。",
        kind="complaint",
        category="sewage",
        channel="phone",
        priority="urgent",
        reporter_name="韩玉梅",
        reporter_phone="15525341976",
        reporter_resident_ref="res-han-yumei",
        address=f"{_RYZ_ADDR}赛鱼路沿街商铺楼后",
        days_ago=12,
        target_status="closed",
        dispatch_to_unit="chengqu_municipal",
        escalated_to="community",
        resolved_after_hours=30,
        resolve_outcome="solved",
        resolution="社区与市政部门实地勘察后制订维修计划,派排污车疏通管道并更换破损管段。",
        rating="basically_satisfied",
        solved=True,
        feedback="通了,就是等得有点久。",
    ),
    DemoIssue(
        ref="iss-ryz-stair-light",
        area_code=grid(RUYIZHUANG, 5),
        title="如意东苑1号楼楼道灯损坏",
        description="如意东苑1号楼1单元二至四层楼道灯不亮已一周,老人夜间上下楼不便。",
        kind="report",
        category="lighting",
        channel="app",
        priority="normal",
        reporter_name="陈志刚",
        reporter_phone="13485320697",
        reporter_resident_ref="res-chen-zhigang",
        address=f"{_RYZ_ADDR}如意东苑1号楼1单元",
        days_ago=20,
        target_status="closed",
        dispatch_to_unit="yuntan_property",
        resolved_after_hours=48,
        resolve_outcome="solved",
        resolution="物业更换声控节能灯3盏。",
        rating="satisfied",
        solved=True,
    ),
    DemoIssue(
        ref="iss-ryz-chen-care",
        area_code=grid(RUYIZHUANG, 5),
        title="肢体残疾居民无人照料,申请特困人员集中供养",
        description=(
            "居民陈志刚肢体二级残疾,生活无法自理,其母亲已年过九旬、行动不便,无力照顾,希望社区帮助联系养老院。"
        ),
        kind="help",
        category="welfare",
        channel="walk_in",
        priority="high",
        reporter_name="李凤英",
        reporter_phone="13485320697",
        reporter_resident_ref="res-li-fengying",
        address=f"{_RYZ_ADDR}如意东苑1号楼1单元102",
        days_ago=40,
        target_status="closed",
        escalated_to="street",
        resolved_after_hours=456,
        resolve_outcome="solved",
        resolution=(
            "经核实符合特困人员集中供养条件,社区上报街道、民政局,上下协调后联系到养老院,网格员亲自将其送至养老院。"
        ),
        rating="satisfied",
        solved=True,
        feedback="儿子在养老院有人照顾了,我也放心了。",
    ),
    DemoIssue(
        ref="iss-ryz-fire-lane",
        area_code=grid(RUYIZHUANG, 1),
        title="小区消防通道被私家车长期占用",
        description="如意庄小区10号楼与12号楼之间的消防通道长期停放私家车,消防车无法通行。",
        kind="report",
        category="safety_hazard",
        channel="app",
        priority="normal",
        reporter_name="孙秀芝",
        reporter_phone="13934561782",
        reporter_resident_ref="res-sun-xiuzhi",
        address=f"{_RYZ_ADDR}如意庄小区10号楼与12号楼之间",
        days_ago=3,
        target_status="dispatched",
        dispatch_to_unit="saiyu_police",
    ),
    DemoIssue(
        ref="iss-ryz-dog-noise",
        area_code=grid(RUYIZHUANG, 2),
        title="楼内住户饲养犬只夜间吠叫扰民",
        description="8号楼2单元有住户饲养大型犬,夜间频繁吠叫,影响邻居休息。",
        kind="complaint",
        category="dispute",
        channel="phone",
        priority="normal",
        reporter_name="侯丽娟",
        reporter_phone="15003536291",
        address=f"{_RYZ_ADDR}如意庄小区8号楼2单元",
        days_ago=0,
        target_status="reported",
    ),
    DemoIssue(
        ref="iss-ryz-dibao",
        area_code=grid(RUYIZHUANG, 3),
        title="咨询低保申请条件和办理流程",
        description="居民家中丈夫失业,咨询最低生活保障的申请条件、所需材料和办理流程。",
        kind="consultation",
        category="subsistence_allowance",
        channel="walk_in",
        priority="low",
        reporter_name="武素琴",
        reporter_phone="18734952013",
        reporter_resident_ref="res-wu-suqin",
        address=f"{_RYZ_ADDR}悬窑沟2号楼1单元101",
        days_ago=9,
        target_status="closed",
        resolved_after_hours=2,
        resolve_outcome="answered",
        resolution="首问窗口当场讲解低保政策和申请材料,并协助填写申请表。",
        rating="satisfied",
        solved=True,
    ),
    DemoIssue(
        ref="iss-ryz-elderly-medicine",
        area_code=grid(RUYIZHUANG, 6),
        title="独居老人行动不便,需定期代买药品",
        description="独居老人高守义腿脚不便,常用降压药即将吃完,子女在外地,需要帮助代买药品。",
        kind="help",
        category="elderly_care",
        channel="diary",
        priority="normal",
        reporter_name="高守义",
        reporter_phone="13613531248",
        reporter_resident_ref="res-gao-shouyi",
        address=f"{_RYZ_ADDR}如意东苑5号楼2单元201",
        days_ago=6,
        target_status="in_progress",
    ),
    DemoIssue(
        ref="iss-ryz-garbage",
        area_code=grid(RUYIZHUANG, 6),
        title="小区垃圾清运不及时,垃圾桶满溢",
        description="如意东苑5号楼附近垃圾桶连续多日未清运,垃圾满溢,气味难闻,招引蚊蝇。",
        kind="complaint",
        category="environment",
        channel="hotline",
        priority="normal",
        reporter_name="白建军",
        reporter_phone="18203539175",
        address=f"{_RYZ_ADDR}如意东苑5号楼旁",
        days_ago=14,
        target_status="dispatched",
        dispatch_to_unit="chengqu_municipal",
    ),
    # ---- 新源社区 ---------------------------------------------------------------------------
    DemoIssue(
        ref="iss-xy-lawn",
        area_code=grid(XINYUAN, 3),
        title="国电满庭春小区物业未按规定灌溉草坪",
        description="今年春季物业没有按规定定期对草坪灌溉,造成草坪没有及时返青,居民意见较大。",
        kind="complaint",
        category="property",
        channel="hotline",
        priority="normal",
        reporter_name="冯志强",
        reporter_phone="13834929016",
        address="山西省阳泉市城区蔡洼街道国电满庭春小区",
        days_ago=35,
        target_status="closed",
        dispatch_to_unit="guodian_property",
        resolved_after_hours=144,
        resolve_outcome="solved",
        resolution="业委会依合同约定对物业进行处理,物业及时整改,购买五千元草苗补种,并制订绿化改造计划。",
        rating="satisfied",
        solved=True,
    ),
    DemoIssue(
        ref="iss-xy-door",
        area_code=grid(XINYUAN, 6),
        title="晨光小区单元门禁损坏",
        description="晨光小区4号楼1单元门禁系统损坏,单元门无法关闭,外来人员随意进出。",
        kind="report",
        category="facility",
        channel="app",
        priority="normal",
        reporter_name="乔丽芳",
        reporter_phone="15135326740",
        address="山西省阳泉市城区蔡洼街道晨光小区4号楼1单元",
        days_ago=2,
        target_status="accepted",
    ),
    DemoIssue(
        ref="iss-xy-stairwell-clutter",
        area_code=grid(XINYUAN, 1),
        title="新源小区楼道堆放杂物,堵塞消防通道",
        description="新源小区2号楼楼道内堆放废旧家具和纸箱,堵塞疏散通道,存在火灾隐患。",
        kind="report",
        category="safety_hazard",
        channel="diary",
        priority="high",
        reporter_name="闫丽君",
        reporter_phone="13753389204",
        address="山西省阳泉市城区蔡洼街道新源小区2号楼",
        days_ago=8,
        target_status="verified",
        resolved_after_hours=20,
        resolve_outcome="solved",
        resolution="网格员联合党员志愿者和楼栋长入户劝导,住户自行清理,剩余杂物由志愿者清运。",
    ),
    DemoIssue(
        ref="iss-xy-dance-noise",
        area_code=grid(XINYUAN, 5),
        title="晨光小区广场舞音响噪音扰民",
        description="每晚晨光小区广场舞音响音量过大,持续到晚上九点半以后,影响周边住户休息。",
        kind="complaint",
        category="public_order",
        channel="phone",
        priority="normal",
        reporter_name="贾晓峰",
        reporter_phone="18635318462",
        address="山西省阳泉市城区蔡洼街道晨光小区广场",
        days_ago=25,
        target_status="closed",
        resolved_after_hours=72,
        resolve_outcome="solved",
        resolution="协调舞蹈队调低音量,活动时间限定在晚八点半前,并张贴文明公约。",
        rating="dissatisfied",
        solved=False,
        feedback="约定了时间,可九点以后还是有音乐,问题没有解决。",
    ),
    # ---- 终南社区 ---------------------------------------------------------------------------
    DemoIssue(
        ref="iss-zn-fire-check",
        area_code=grid(ZHONGNAN, 1),
        title="月度消防检查:沿街门店灭火器过期",
        description="月度消防安全检查中发现2家沿街门店灭火器过期,1家店内电动车违规充电。",
        kind="report",
        category="safety_hazard",
        channel="diary",
        priority="normal",
        reporter_name="王海燕",
        reporter_phone="13992874150",
        address=f"{_ZN_ADDR}终南街沿街门店",
        days_ago=27,
        target_status="closed",
        resolved_after_hours=60,
        resolve_outcome="solved",
        resolution="督促门店更换灭火器,电动车移至室外充电区,复查合格。",
        rating="satisfied",
        solved=True,
    ),
    DemoIssue(
        ref="iss-zn-station-charging",
        area_code=grid(ZHONGNAN, 2),
        title="红色驿站电动车充电插座不足",
        description="外卖、快递等新就业群体反映红色驿站电动车充电插座只有4个,高峰时段排队充电。",
        kind="suggestion",
        category="ev_charging",
        channel="app",
        priority="low",
        reporter_name="雷鹏",
        reporter_phone="17729065318",
        address=f"{_ZN_ADDR}终南社区红色驿站",
        days_ago=33,
        target_status="closed",
        dispatch_to_unit="zhouzhi_power",
        resolved_after_hours=168,
        resolve_outcome="solved",
        resolution="供电公司核定容量后增设8个智能充电插座。",
        rating="basically_satisfied",
        solved=True,
    ),
    DemoIssue(
        ref="iss-zn-heating",
        area_code=grid(ZHONGNAN, 3),
        title="独居老人冬季取暖困难",
        description="独居老人李长庚家中煤炉老旧,烟道漏烟,存在一氧化碳中毒风险,老人无力更换。",
        kind="help",
        category="elderly_care",
        channel="diary",
        priority="high",
        reporter_name="李长庚",
        reporter_phone="13892047315",
        reporter_resident_ref="res-li-changgeng",
        address=f"{_ZN_ADDR}东街家属院2号楼1单元101",
        days_ago=10,
        target_status="closed",
        resolved_after_hours=24,
        resolve_outcome="solved",
        resolution="社区协调为老人更换电暖器,拆除旧煤炉,志愿者每周上门查看一次。",
        rating="satisfied",
        solved=True,
    ),
    DemoIssue(
        ref="iss-zn-market-stalls",
        area_code=grid(ZHONGNAN, 4),
        title="集市日商贩占道摆摊,堵塞道路",
        description="逢集日终南街两侧商贩占道摆摊,机动车与行人混行,上午时段道路基本堵死。",
        kind="complaint",
        category="environment",
        channel="hotline",
        priority="normal",
        reporter_name="贺志伟",
        reporter_phone="13379201846",
        address=f"{_ZN_ADDR}终南街集市",
        days_ago=4,
        target_status="dispatched",
        dispatch_to_unit="zhouzhi_urban",
    ),
    DemoIssue(
        ref="iss-zn-assistive",
        area_code=grid(ZHONGNAN, 5),
        title="残疾人申请辅助器具适配",
        description="肢体残疾居民张亮的轮椅损坏,申请辅助器具适配和维修服务。",
        kind="help",
        category="welfare",
        channel="walk_in",
        priority="normal",
        reporter_name="张亮",
        reporter_phone="18191276430",
        reporter_resident_ref="res-zhang-liang",
        address=f"{_ZN_ADDR}终南新村3号楼1单元201",
        days_ago=18,
        target_status="resolved",
        resolved_after_hours=120,
        resolve_outcome="solved",
        resolution="联系县残联在社区辅助器具适配活动中现场检测、维修轮椅,并讲解使用注意事项。",
    ),
    DemoIssue(
        ref="iss-zn-fraud-call",
        area_code=grid(ZHONGNAN, 6),
        title="老人接到冒充公检法诈骗电话",
        description="居民反映母亲接到自称公安局的电话,要求把存款转入“安全账户”,家人担心老人被骗。",
        kind="report",
        category="public_order",
        channel="phone",
        priority="urgent",
        reporter_name="刘彩霞",
        reporter_phone="17791425863",
        reporter_resident_ref="res-liu-caixia",
        address=f"{_ZN_ADDR}终南新村1号楼3单元402",
        days_ago=1,
        target_status="dispatched",
        dispatch_to_unit="zhongnan_police",
    ),
    DemoIssue(
        ref="iss-zn-streetlight",
        area_code=grid(ZHONGNAN, 1),
        title="社区西北角路灯不亮",
        description="社区西北角党建文化宣传栏旁3盏路灯不亮,晚上锻炼的居民看不清路。",
        kind="report",
        category="lighting",
        channel="app",
        priority="normal",
        reporter_name="杜明",
        reporter_phone="15991762038",
        address=f"{_ZN_ADDR}终南社区西北角",
        days_ago=22,
        target_status="in_progress",
        dispatch_to_unit="zhouzhi_power",
    ),
    DemoIssue(
        ref="iss-zn-roof-seepage",
        area_code=grid(ZHONGNAN, 2),
        title="自建房屋顶渗水殃及邻居",
        description="邻居自建房屋顶排水不畅,雨水渗入相邻房屋墙体,需户主配合查看维修。",
        kind="complaint",
        category="dispute",
        channel="walk_in",
        priority="normal",
        reporter_name="田秀英",
        reporter_phone="13468921057",
        address=f"{_ZN_ADDR}终南社区二组",
        days_ago=16,
        target_status="suspended",
        status_note="户主在外地务工,约定月底回村后现场查看,期间暂停计时。",
    ),
    # ---- 楼观社区 / 新镇社区 ----------------------------------------------------------------
    DemoIssue(
        ref="iss-lg-ev-charging",
        area_code=grid(LOUGUAN, 1),
        title="楼观台实验林场小区电动车充电难",
        description="小区没有集中充电点,居民从楼道飞线给电动车充电,既不安全也影响通行。",
        kind="complaint",
        category="ev_charging",
        channel="app",
        priority="high",
        reporter_name="杨小军",
        reporter_phone="18992063547",
        reporter_resident_ref="res-yang-xiaojun",
        address="陕西省西安市周至县楼观镇楼观台实验林场小区",
        days_ago=55,
        target_status="closed",
        dispatch_to_unit="zhouzhi_power",
        escalated_to="community",
        resolved_after_hours=360,
        resolve_outcome="solved",
        resolution="结合小区实际设置安全、合理的集中充电点位,安装充电桩20个,清理楼道飞线。",
        rating="satisfied",
        solved=True,
        feedback="楼下就能充电,再也不用拉线了。",
    ),
    DemoIssue(
        ref="iss-lg-fitness",
        area_code=grid(LOUGUAN, 1),
        title="小区健身器材老化损坏",
        description="楼观台实验林场小区健身器材锈蚀,漫步机踏板断裂,存在安全隐患。",
        kind="report",
        category="facility",
        channel="patrol",
        priority="normal",
        reporter_name="王德胜",
        reporter_phone="13991358702",
        reporter_resident_ref="res-wang-desheng",
        address="陕西省西安市周至县楼观镇楼观台实验林场小区",
        days_ago=6,
        target_status="in_progress",
    ),
    DemoIssue(
        ref="iss-xz-vendors",
        area_code=grid(XINZHEN, 1),
        title="坤坤超市门口流动摊贩、占道经营和车辆乱停",
        description="坤坤超市门口流动摊贩聚集,周边商铺出店经营、占道经营,车辆乱停乱放,道路拥堵。",
        kind="complaint",
        category="environment",
        channel="hotline",
        priority="high",
        reporter_name="蔡文博",
        reporter_phone="13609183724",
        address="陕西省西安市周至县楼观镇新镇坤坤超市门口",
        days_ago=30,
        target_status="closed",
        dispatch_to_unit="zhouzhi_urban",
        escalated_to="street",
        resolved_after_hours=200,
        resolve_outcome="solved",
        resolution="联合城管执法及交管部门集中整治,划定临时摊位和停车位,安排专人劝导。",
        rating="satisfied",
        solved=True,
    ),
    DemoIssue(
        ref="iss-xz-water-purifier",
        area_code=grid(XINZHEN, 2),
        title="建议小区安装饮用水净化机",
        description="居民建议在小区内安装饮用水净化机,方便居民取用干净的饮用水。",
        kind="suggestion",
        category="facility",
        channel="app",
        priority="low",
        reporter_name="何秀云",
        reporter_phone="15129037586",
        address="陕西省西安市周至县楼观镇新镇社区",
        days_ago=44,
        target_status="closed",
        resolved_after_hours=312,
        resolve_outcome="solved",
        resolution="社区对接饮用水净化机公司,在小区广场旁安装净水机1台。",
        rating="satisfied",
        solved=True,
    ),
    # ---- 安富园社区 / 马召社区 --------------------------------------------------------------
    DemoIssue(
        ref="iss-afy-sewage",
        area_code=grid(ANFUYUAN, 1),
        title="排污管道堵塞,生活污水外溢",
        description="社区排污管道堵塞,生活污水从检查井外溢到路面,影响居民出行。",
        kind="complaint",
        category="sewage",
        channel="phone",
        priority="urgent",
        reporter_name="马秀兰",
        reporter_phone="13572946108",
        reporter_resident_ref="res-ma-xiulan",
        address="陕西省西安市周至县马召镇安富园小区A区",
        days_ago=7,
        target_status="closed",
        dispatch_to_unit="mazhao_work_team",
        resolved_after_hours=20,
        resolve_outcome="solved",
        resolution="联合驻村工作队疏通管道,并将排污管道纳入每年1-2次的定期维护。",
        rating="satisfied",
        solved=True,
    ),
    DemoIssue(
        ref="iss-afy-stair-light",
        area_code=grid(ANFUYUAN, 3),
        title="楼道照明灯损坏,夜间出行不便",
        description="B区5号楼楼道照明灯多处损坏,老人夜间上下楼看不清台阶。",
        kind="report",
        category="lighting",
        channel="diary",
        priority="normal",
        reporter_name="朱明辉",
        reporter_phone="18821906475",
        address="陕西省西安市周至县马召镇安富园小区B区5号楼",
        days_ago=19,
        target_status="closed",
        resolved_after_hours=72,
        resolve_outcome="solved",
        resolution="对楼道照明设施全面排查,更换节能LED灯具12盏。",
        rating="satisfied",
        solved=True,
    ),
    DemoIssue(
        ref="iss-afy-summer-care",
        area_code=grid(ANFUYUAN, 1),
        title="留守儿童暑期无人照看",
        description="孩子父母在西安务工,奶奶年纪大辅导不了作业,暑假期间孩子无人照看。",
        kind="help",
        category="welfare",
        channel="walk_in",
        priority="normal",
        reporter_name="马秀兰",
        reporter_phone="13572946108",
        reporter_resident_ref="res-ma-xiulan",
        address="陕西省西安市周至县马召镇安富园小区A区3号楼1单元201",
        days_ago=26,
        target_status="closed",
        resolved_after_hours=96,
        resolve_outcome="solved",
        resolution="安排两名孩子参加社区儿童服务站暑期课业辅导班,志愿者每周上门家访。",
        rating="satisfied",
        solved=True,
    ),
    DemoIssue(
        ref="iss-mz-charging-station",
        area_code=grid(MAZHAO, 1),
        title="社区门口缺少电瓶车充电站",
        description="居民反映社区门口没有电瓶车充电站,只能把电瓶拎回家充电。",
        kind="suggestion",
        category="ev_charging",
        channel="app",
        priority="normal",
        reporter_name="康晓辉",
        reporter_phone="13289106745",
        address="陕西省西安市周至县马召镇马召社区门口",
        days_ago=38,
        target_status="closed",
        dispatch_to_unit="zhouzhi_power",
        resolved_after_hours=300,
        resolve_outcome="solved",
        resolution="在社区门口安装电瓶车充电站1座,共10个充电口。",
        rating="satisfied",
        solved=True,
    ),
    DemoIssue(
        ref="iss-mz-job-training",
        area_code=grid(MAZHAO, 2),
        title="咨询就业培训和岗位信息",
        description="居民失业在家,咨询社区是否有就业培训和招聘岗位信息。",
        kind="consultation",
        category="employment",
        channel="walk_in",
        priority="low",
        reporter_name="罗建军",
        reporter_phone="15709183265",
        address="陕西省西安市周至县马召镇马召社区",
        days_ago=2,
        target_status="accepted",
    ),
    # ---- 辛家寨社区 -------------------------------------------------------------------------
    DemoIssue(
        ref="iss-xjz-wiring",
        area_code=grid(XINJIAZHAI, 2),
        title="居民私拉电线给电动车充电,存在火灾隐患",
        description="名筑新东城2号楼多户居民从窗户私拉电线到楼下给电动车充电,夜间无人看管,存在火灾隐患。",
        kind="report",
        category="safety_hazard",
        channel="diary",
        priority="urgent",
        reporter_name="韩磊",
        reporter_phone="15991307284",
        address="陕西省西安市周至县富仁镇名筑新东城2号楼",
        days_ago=24,
        target_status="closed",
        dispatch_to_unit="mingzhu_property",
        resolved_after_hours=36,
        resolve_outcome="solved",
        resolution="物业拆除私拉电线,网格员入户宣传用电安全,引导居民到临时充电点充电。",
        rating="basically_satisfied",
        solved=True,
        feedback="线是拆了,充电点还是太少。",
    ),
    DemoIssue(
        ref="iss-xjz-ev-parking",
        area_code=grid(XINJIAZHAI, 2),
        title="名筑新东城电动车停车难、充电难",
        description="小区没有电动车存放点和充电设备,居民建议增设存放点和充电桩。",
        kind="suggestion",
        category="ev_charging",
        channel="app",
        priority="normal",
        reporter_name="何军",
        reporter_phone="18710658392",
        reporter_resident_ref="res-he-jun",
        address="陕西省西安市周至县富仁镇名筑新东城",
        days_ago=1,
        target_status="reported",
    ),
    DemoIssue(
        ref="iss-xjz-weeds",
        area_code=grid(XINJIAZHAI, 3),
        title="小区环境卫生差,杂草丛生",
        description="小区绿化带杂草丛生,垃圾清运不及时,夏天蚊虫多。",
        kind="complaint",
        category="environment",
        channel="hotline",
        priority="normal",
        reporter_name="唐志明",
        reporter_phone="13772438619",
        address="陕西省西安市周至县富仁镇辛家寨社区",
        days_ago=17,
        target_status="closed",
        resolved_after_hours=120,
        resolve_outcome="solved",
        resolution="组织志愿者集中割除杂草,清运积存垃圾。",
        rating="dissatisfied",
        solved=False,
        feedback="草是割了,垃圾还是好几天才拉一次。",
    ),
    DemoIssue(
        ref="iss-xjz-registration",
        area_code=grid(XINJIAZHAI, 5),
        title="水岸东方三期新入住居民咨询信息登记",
        description="即将入住水岸东方三期的居民咨询在社区办理信息登记需要带哪些材料。",
        kind="consultation",
        category="other",
        channel="phone",
        priority="low",
        reporter_name="邓晓梅",
        reporter_phone="19829301746",
        address="陕西省西安市周至县富仁镇水岸东方三期",
        days_ago=0,
        target_status="reported",
    ),
]


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


DIARY_ENTRIES: list[DemoDiaryEntry] = [
    # 如意庄社区
    DemoDiaryEntry(
        ref="dry-ryz-01",
        area_code=grid(RUYIZHUANG, 1),
        worker_username="grid_ruyizhuang_1",
        days_ago=45,
        kind="complaint",
        content="入户走访12号楼,孙秀芝反映楼上邻居在家养鸽子,天热后鸽粪臭味浓烈,窗台常有羽毛和粪便。",
        measures="当日上门与鸽子主人初步沟通,登记为工单跟进。",
        result="已转工单。",
        status="escalated",
        tags=("邻里纠纷", "环境卫生"),
        resident_ref="res-sun-xiuzhi",
        escalates_to_issue_ref="iss-ryz-pigeon",
    ),
    DemoDiaryEntry(
        ref="dry-ryz-02",
        area_code=grid(RUYIZHUANG, 1),
        worker_username="grid_ruyizhuang_1",
        days_ago=20,
        kind="situation",
        content="回访孙秀芝,鸽子剪羽后未再飞出窗外,臭味明显减轻,双方见面能打招呼了。",
        measures="提醒鸽子主人坚持定期清理鸽笼。",
        result="矛盾化解,未反弹。",
        status="resolved",
        tags=("回访", "邻里纠纷"),
        resident_ref="res-sun-xiuzhi",
    ),
    DemoDiaryEntry(
        ref="dry-ryz-03",
        area_code=grid(RUYIZHUANG, 2),
        worker_username="grid_ruyizhuang_2",
        days_ago=8,
        kind="situation",
        content="回访周贵领老两口,房顶修复后经历两场大雨未再渗漏,老人送来感谢信。",
        measures="叮嘱物业雨季前再检查一次屋面防水。",
        result="居民满意。",
        status="resolved",
        tags=("回访", "物业"),
        resident_ref="res-zhou-guiling",
    ),
    DemoDiaryEntry(
        ref="dry-ryz-04",
        area_code=grid(RUYIZHUANG, 2),
        worker_username="grid_ruyizhuang_2",
        days_ago=15,
        kind="opinion",
        content="8号楼居民建议在楼前空地增设休闲座椅,方便老人晒太阳。",
        measures="向社区反映,纳入“民事民议”议题。",
        result="已答复:社区将在下次居民议事会上讨论。",
        status="answered",
        tags=("民事民议",),
    ),
    DemoDiaryEntry(
        ref="dry-ryz-05",
        area_code=grid(RUYIZHUANG, 3),
        worker_username="grid_ruyizhuang_3",
        days_ago=30,
        kind="situation",
        content="走访悬窑沟2号楼残疾居民武素琴,了解生活和康复需求,丈夫近期失业。",
        measures="协助申请残疾人两项补贴,联系志愿者每周上门帮助打扫。",
        result="补贴已申请,志愿者已结对。",
        status="resolved",
        tags=("残疾人", "困难家庭"),
        resident_ref="res-wu-suqin",
    ),
    DemoDiaryEntry(
        ref="dry-ryz-06",
        area_code=grid(RUYIZHUANG, 3),
        worker_username="grid_ruyizhuang_3",
        days_ago=10,
        kind="situation",
        content="回访悬窑沟3号楼对面墙体渗水处理情况,连续降雨后未再渗水,楼前通道干净。",
        measures="与云潭物业约定每季度巡查一次。",
        result="问题已解决。",
        status="resolved",
        tags=("回访", "物业"),
        resident_ref="res-zhao-jianmin",
    ),
    DemoDiaryEntry(
        ref="dry-ryz-07",
        area_code=grid(RUYIZHUANG, 4),
        worker_username="grid_ruyizhuang_4",
        days_ago=5,
        kind="complaint",
        content="沿街商铺楼上住户反映一楼饭店后厨油烟直排,夏天不敢开窗。",
        measures="已登记,约饭店负责人下周到社区协商加装油烟净化设备。",
        result=None,
        status="open",
        tags=("九小场所", "环境卫生"),
        resident_ref="res-han-yumei",
    ),
    DemoDiaryEntry(
        ref="dry-ryz-08",
        area_code=grid(RUYIZHUANG, 5),
        worker_username="grid_ruyizhuang_5",
        days_ago=41,
        kind="situation",
        content="陈志刚肢体二级残疾,生活不能自理,母亲年过九旬无力照顾,家中经济困难。",
        measures="核对特困人员集中供养条件,协助准备申报材料。",
        result="符合条件,已随首问窗口工单上报街道、民政局。",
        status="answered",
        tags=("残疾人", "特困供养"),
        resident_ref="res-chen-zhigang",
    ),
    DemoDiaryEntry(
        ref="dry-ryz-09",
        area_code=grid(RUYIZHUANG, 6),
        worker_username="grid_ruyizhuang_6",
        days_ago=6,
        kind="situation",
        content="走访独居老人高守义,老人腿脚不便,常用降压药即将吃完,子女在外地。",
        measures="登记为工单,联系党员志愿者代买药品。",
        result="已转工单。",
        status="escalated",
        tags=("独居老人", "养老"),
        resident_ref="res-gao-shouyi",
        escalates_to_issue_ref="iss-ryz-elderly-medicine",
    ),
    DemoDiaryEntry(
        ref="dry-ryz-10",
        area_code=grid(RUYIZHUANG, 6),
        worker_username="grid_ruyizhuang_6",
        days_ago=2,
        kind="opinion",
        content="几位老人希望社区组织一次防电信诈骗讲座,最近小区有人接到冒充客服的电话。",
        measures="已记录,报社区统筹安排,拟联系赛鱼派出所民警授课。",
        result=None,
        status="open",
        tags=("反诈", "平安建设"),
    ),
    # 新源社区
    DemoDiaryEntry(
        ref="dry-xy-01",
        area_code=grid(XINYUAN, 3),
        worker_username="grid_xinyuan_3",
        days_ago=36,
        kind="complaint",
        content="国电满庭春小区多名业主反映草坪一直没返青,物业没有按时浇水,有人说要拒交物业费。",
        measures="报社区,提交专委会会议协商,请业委会与物业对照合同。",
        result="物业整改补种,业主情绪平稳。",
        status="resolved",
        tags=("物业", "红色物业"),
    ),
    DemoDiaryEntry(
        ref="dry-xy-02",
        area_code=grid(XINYUAN, 1),
        worker_username="grid_xinyuan_1",
        days_ago=9,
        kind="situation",
        content="巡查新源小区2号楼,楼道内堆放废旧家具和纸箱,堵塞疏散通道。",
        measures="拍照留存,登记为工单,通知楼栋长。",
        result="已转工单。",
        status="escalated",
        tags=("消防安全",),
        escalates_to_issue_ref="iss-xy-stairwell-clutter",
    ),
    DemoDiaryEntry(
        ref="dry-xy-03",
        area_code=grid(XINYUAN, 7),
        worker_username="grid_xinyuan_7",
        days_ago=13,
        kind="opinion",
        content="老电厂摄影协会成员希望社区提供固定活动场地。",
        measures="协调党员活动室每周二、四下午供协会使用。",
        result="已答复并安排场地。",
        status="answered",
        tags=("社会组织", "文体活动"),
    ),
    # 终南社区
    DemoDiaryEntry(
        ref="dry-zn-01",
        area_code=grid(ZHONGNAN, 1),
        worker_username="grid_zhongnan_1",
        days_ago=27,
        kind="situation",
        content="月度消防安全检查,走访沿街门店12家,发现2家灭火器过期,1家店内给电动车充电。",
        measures="现场下发整改提醒,登记为工单跟踪复查。",
        result="已转工单。",
        status="escalated",
        tags=("消防安全", "九小场所"),
        escalates_to_issue_ref="iss-zn-fire-check",
    ),
    DemoDiaryEntry(
        ref="dry-zn-02",
        area_code=grid(ZHONGNAN, 3),
        worker_username="grid_zhongnan_3",
        days_ago=10,
        kind="situation",
        content="走访独居老人李长庚,家中煤炉老旧、烟道漏烟,老人一人居住,有一氧化碳中毒风险。",
        measures="当即开窗通风,登记为工单请社区协调更换取暖设备。",
        result="已转工单。",
        status="escalated",
        tags=("独居老人", "安全隐患"),
        resident_ref="res-li-changgeng",
        escalates_to_issue_ref="iss-zn-heating",
    ),
    DemoDiaryEntry(
        ref="dry-zn-03",
        area_code=grid(ZHONGNAN, 5),
        worker_username="grid_zhongnan_5",
        days_ago=19,
        kind="situation",
        content="残疾居民张亮轮椅损坏,出行困难,想了解辅助器具适配政策。",
        measures="讲解惠残助残政策,告知社区本月辅助器具适配活动时间。",
        result="已答复,居民已到首问窗口登记。",
        status="answered",
        tags=("残疾人",),
        resident_ref="res-zhang-liang",
    ),
    DemoDiaryEntry(
        ref="dry-zn-04",
        area_code=grid(ZHONGNAN, 2),
        worker_username="grid_zhongnan_2",
        days_ago=14,
        kind="opinion",
        content="秦腔爱好者希望社区增加戏曲展演场次,重阳节前办一场专场演出。",
        measures="报社区,纳入“戏窝窝”群众展演活动安排。",
        result="已答复:重阳节安排秦腔专场。",
        status="answered",
        tags=("文体活动",),
    ),
    DemoDiaryEntry(
        ref="dry-zn-05",
        area_code=grid(ZHONGNAN, 4),
        worker_username="grid_zhongnan_4",
        days_ago=9,
        kind="complaint",
        content="逢集日终南街商贩占道摆摊,沿街住户出门困难。",
        measures="劝导商贩退回摊位线内,向社区反映需城管执法配合。",
        result=None,
        status="open",
        tags=("占道经营",),
    ),
    DemoDiaryEntry(
        ref="dry-zn-06",
        area_code=grid(ZHONGNAN, 6),
        worker_username="grid_zhongnan_6",
        days_ago=3,
        kind="situation",
        content="困难家庭刘彩霞独自抚养女儿,孩子开学需要书包和学习用品。",
        measures="登记为“微心愿”,在社区公众号发布认领。",
        result=None,
        status="open",
        tags=("微心愿", "困难家庭"),
        resident_ref="res-liu-caixia",
    ),
    # 楼观社区 / 新镇社区
    DemoDiaryEntry(
        ref="dry-lg-01",
        area_code=grid(LOUGUAN, 1),
        worker_username="grid_louguan_1",
        days_ago=57,
        kind="complaint",
        content="楼观台实验林场小区多户居民从楼道飞线给电动车充电,居民担心起火。",
        measures="入户宣传用电安全,向社区提出设置集中充电点位的建议。",
        result="社区已将“优化充电点位”列入年度实事。",
        status="answered",
        tags=("充电难", "安全隐患"),
    ),
    DemoDiaryEntry(
        ref="dry-lg-02",
        area_code=grid(LOUGUAN, 1),
        worker_username="grid_louguan_1",
        days_ago=21,
        kind="situation",
        content="走访空巢老人王德胜、刘秀珍夫妇,二老身体尚可,希望社区多组织象棋比赛。",
        measures="邀请参加社区“元旦”象棋友谊赛筹备。",
        result="老人已报名。",
        status="resolved",
        tags=("空巢老人", "文体活动"),
        resident_ref="res-wang-desheng",
    ),
    DemoDiaryEntry(
        ref="dry-xz-01",
        area_code=grid(XINZHEN, 1),
        worker_username="grid_xinzhen_1",
        days_ago=12,
        kind="situation",
        content="回访坤坤超市门口整治情况,摊贩已进入临时摊位,车辆停放有序。",
        measures="每日早晚高峰巡查一次。",
        result="整治效果稳定。",
        status="resolved",
        tags=("占道经营", "回访"),
    ),
    # 安富园社区 / 马召社区
    DemoDiaryEntry(
        ref="dry-afy-01",
        area_code=grid(ANFUYUAN, 3),
        worker_username="grid_anfuyuan_3",
        days_ago=20,
        kind="complaint",
        content="B区5号楼居民反映楼道照明灯多处损坏,老人夜间上下楼看不清台阶。",
        measures="现场查看,登记为工单。",
        result="已转工单。",
        status="escalated",
        tags=("楼道照明",),
        escalates_to_issue_ref="iss-afy-stair-light",
    ),
    DemoDiaryEntry(
        ref="dry-afy-02",
        area_code=grid(ANFUYUAN, 1),
        worker_username="grid_anfuyuan_1",
        days_ago=28,
        kind="situation",
        content="走访留守儿童马小雨、马浩然,父母在西安务工,奶奶照看,暑假作业无人辅导。",
        measures="介绍社区儿童服务站暑期辅导班,协助报名。",
        result="两个孩子已入班。",
        status="resolved",
        tags=("留守儿童",),
        resident_ref="res-ma-xiaoyu",
    ),
    DemoDiaryEntry(
        ref="dry-afy-03",
        area_code=grid(ANFUYUAN, 4),
        worker_username="grid_anfuyuan_4",
        days_ago=4,
        kind="situation",
        content="月度房屋安全检查,C区2号楼外墙有一处裂缝,暂无脱落。",
        measures="拍照记录,设置警示标志,报社区请专业人员鉴定。",
        result=None,
        status="open",
        tags=("房屋安全",),
    ),
    DemoDiaryEntry(
        ref="dry-mz-01",
        area_code=grid(MAZHAO, 3),
        worker_username="grid_mazhao_3",
        days_ago=12,
        kind="situation",
        content="季度走访慰问困难党员和残疾人家庭3户,了解生活近况。",
        measures="送去米面油,为一户申请临时救助。",
        result="慰问完成,临时救助已发放。",
        status="resolved",
        tags=("走访慰问", "困难家庭"),
    ),
    # 辛家寨社区
    DemoDiaryEntry(
        ref="dry-xjz-01",
        area_code=grid(XINJIAZHAI, 2),
        worker_username="grid_xinjiazhai_2",
        days_ago=25,
        kind="situation",
        content="夜间巡查发现名筑新东城2号楼多户从窗户私拉电线给楼下电动车充电。",
        measures="当场劝导断电,登记为工单并通知物业。",
        result="已转工单。",
        status="escalated",
        tags=("私拉电线", "消防安全"),
        resident_ref="res-he-jun",
        escalates_to_issue_ref="iss-xjz-wiring",
    ),
    DemoDiaryEntry(
        ref="dry-xjz-02",
        area_code=grid(XINJIAZHAI, 2),
        worker_username="grid_xinjiazhai_2",
        days_ago=11,
        kind="situation",
        content="上门看望空巢老人苏桂兰,帮助打扫卫生,老人的养老资格认证需要本月完成。",
        measures="现场帮助老人完成养老资格认证。",
        result="已办结。",
        status="resolved",
        tags=("空巢老人", "上门服务"),
        resident_ref="res-su-guilan",
    ),
    DemoDiaryEntry(
        ref="dry-xjz-03",
        area_code=grid(XINJIAZHAI, 5),
        worker_username="grid_xinjiazhai_5",
        days_ago=1,
        kind="situation",
        content="水岸东方三期即将交房,首批约60户居民需要上门登记信息。",
        measures="制作登记表,排定上门时间。",
        result=None,
        status="open",
        tags=("信息登记",),
    ),
]


# --------------------------------------------------------------------------------------------
# 矛盾纠纷调解
# --------------------------------------------------------------------------------------------

DISPUTES: list[DemoDispute] = [
    DemoDispute(
        ref="dsp-ryz-pigeon",
        area_code=grid(RUYIZHUANG, 1),
        type="neighbour",
        title="楼上饲养鸽子引发邻里矛盾",
        description="12号楼住户在家中饲养鸽子,粪便和羽毛落到楼下窗台,天热后臭味浓烈,两家多次争吵。",
        risk_level="yellow",
        risk_reason="天热后矛盾有激化苗头,双方曾在楼道发生口角。",
        parties=(
            DemoParty("孙秀芝", "13934561782", "applicant"),
            DemoParty("刘振山", "13513470926", "respondent"),
        ),
        mediator_username="mediator_saiyu",
        days_ago=44,
        sessions=(
            DemoSession(
                days_ago=43,
                place="如意庄社区党群服务中心调解室",
                attendees=("段秀珍", "于润生", "孙秀芝", "刘振山"),
                notes="双方陈述情况,刘振山不愿处理鸽子,同意先清理窗台。",
            ),
            DemoSession(
                days_ago=42,
                place="刘振山家中",
                attendees=("段秀珍", "于润生", "刘振山", "陈玉梅"),
                notes="上门查看鸽笼,提出剪短羽毛、定期清理的办法,刘振山同意。",
            ),
        ),
        outcome="agreement",
        agreement_text="刘振山将鸽子羽毛剪短,保证鸽子不能飞出窗外,每两天清理一次鸽笼;孙秀芝对此表示认可。",
        follow_ups=(
            DemoFollowUp(30, True, "鸽子未再外飞,楼下窗台干净。"),
            DemoFollowUp(20, True, "双方关系缓和,见面能打招呼。"),
        ),
        issue_ref="iss-ryz-pigeon",
    ),
    DemoDispute(
        ref="dsp-ryz-leak",
        area_code=grid(RUYIZHUANG, 2),
        type="neighbour",
        title="楼上卫生间漏水殃及楼下",
        description="8号楼楼上住户卫生间防水失效,楼下天花板发霉脱落,双方就维修费用分担产生争议。",
        risk_level="green",
        risk_reason="双方情绪平稳,仅为费用分歧。",
        parties=(
            DemoParty("侯丽娟", "15003536291", "applicant"),
            DemoParty("石建国", "13994251037", "respondent"),
        ),
        mediator_username="mediator_saiyu",
        days_ago=34,
        sessions=(
            DemoSession(
                days_ago=32,
                place="如意庄社区党群服务中心调解室",
                attendees=("段秀珍", "梁爱莲", "侯丽娟", "石建国"),
                notes="楼上住户认可漏水,但拒绝承担楼下吊顶的重新装修费用。",
            ),
        ),
        outcome="failed",
        outcome_notes="双方对赔偿金额差距较大,未达成一致;已告知可向人民法院起诉,楼上已自行修复防水。",
        follow_ups=(DemoFollowUp(15, True, "漏水已停止,双方未再发生冲突。"),),
    ),
    DemoDispute(
        ref="dsp-xy-lawn",
        area_code=grid(XINYUAN, 3),
        type="property",
        title="国电满庭春小区业委会与物业服务纠纷",
        description="物业未按规定定期灌溉草坪,草坪没有及时返青;业主认为物业服务不到位,物业认为做了工作得不到认可。",
        risk_level="yellow",
        risk_reason="部分业主扬言拒交物业费,有集体投诉苗头。",
        parties=(
            DemoParty("冯志强(国电满庭春小区业主委员会)", "13834929016", "applicant"),
            DemoParty("赵宏亮(国电满庭春物业)", "13513532784", "respondent"),
            DemoParty("郭锦霞(新源社区)", "13835390426", "other"),
        ),
        mediator_username="mediator_caiwa",
        days_ago=34,
        sessions=(
            DemoSession(
                days_ago=33,
                place="新源社区党群服务中心",
                attendees=("常永福", "郭锦霞", "冯志强", "赵宏亮"),
                notes="共建专委会专题会议,由业委会主持,对照物业服务合同逐条核对。",
            ),
        ),
        outcome="agreement",
        agreement_text=(
            "物业按合同约定整改,购买五千元草苗补种,今年投入三万三千元进行绿化改造;"
            "业委会监督整改进度,每月专委会会议通报。"
        ),
        follow_ups=(
            DemoFollowUp(20, True, "草苗已补种,业主反映良好。"),
            DemoFollowUp(5, True, "绿化改造方案已公示,未再出现拒交物业费的说法。"),
        ),
        issue_ref="iss-xy-lawn",
    ),
    DemoDispute(
        ref="dsp-zn-family-care",
        area_code=grid(ZHONGNAN, 3),
        type="family",
        title="兄弟二人赡养老母亲责任纠纷",
        description="独居老人赵桂芳年过八旬、多病,两个儿子为轮流照顾和医疗费用分担互相推诿,多次争吵。",
        risk_level="orange",
        risk_reason="老人独居且身体多病,兄弟二人曾当众推搡,有激化风险。",
        parties=(
            DemoParty("王建设", "13772019384", "applicant"),
            DemoParty("王建国", "18829174652", "respondent"),
            DemoParty("赵桂芳", "15291637248", "other"),
        ),
        mediator_username="mediator_zhongnan",
        days_ago=24,
        sessions=(
            DemoSession(
                days_ago=23,
                place="终南社区调解室",
                attendees=("任淑贤", "张淑芳", "王建设", "王建国"),
                notes="分别听取兄弟二人意见,讲解赡养义务相关法律规定。",
            ),
            DemoSession(
                days_ago=18,
                place="赵桂芳家中",
                attendees=("任淑贤", "张淑芳", "王建设", "王建国", "赵桂芳"),
                notes="当着老人的面协商照顾方式和费用分担,双方同意按月轮流照顾。",
            ),
        ),
        outcome="agreement",
        agreement_text="兄弟二人按月轮流照顾母亲,医疗费用平摊,另各自每月支付生活费500元,由社区见证。",
        follow_ups=(DemoFollowUp(8, True, "本月由王建国照顾,老人表示满意。"),),
    ),
    DemoDispute(
        ref="dsp-xz-wages",
        area_code=grid(XINZHEN, 2),
        type="labour",
        title="装修工人追讨劳务费纠纷",
        description="6名装修工人在新镇某商铺装修完工后,包工头以业主未结款为由拖欠劳务费3.8万元。",
        risk_level="red",
        risk_reason="涉及多名务工人员,临近年关,工人扬言到镇政府聚集讨薪。",
        parties=(
            DemoParty("冯海涛(工人代表)", "15829361047", "applicant"),
            DemoParty("郑伟", "13892716405", "respondent"),
        ),
        mediator_username="mediator_zhouzhi",
        days_ago=21,
        sessions=(
            DemoSession(
                days_ago=20,
                place="楼观镇综治中心",
                attendees=("曹德明", "何建国", "冯海涛", "郑伟"),
                notes="核对用工记录和欠款清单,包工头承认欠款,提出分期支付。",
            ),
            DemoSession(
                days_ago=17,
                place="楼观镇综治中心",
                attendees=("曹德明", "冯海涛", "郑伟", "商铺业主"),
                notes="请业主到场,业主先行支付部分工程款用于发放工资。",
            ),
        ),
        outcome="agreement",
        agreement_text="包工头于协议签订当日支付2万元,余款1.8万元于15日内付清,逾期工人可申请司法确认强制执行。",
        follow_ups=(
            DemoFollowUp(14, True, "首期2万元已到账。"),
            DemoFollowUp(2, True, "余款已全部付清,工人无异议。"),
        ),
    ),
    DemoDispute(
        ref="dsp-afy-garden",
        area_code=grid(ANFUYUAN, 2),
        type="land",
        title="共享菜园地块划分争议",
        description="社区闲置空地开辟共享菜园后,两户居民对相邻地块边界有争议,互相拔了对方的菜苗。",
        risk_level="green",
        risk_reason="邻里间小摩擦,双方均愿意协商。",
        parties=(
            DemoParty("马秀兰", "13572946108", "applicant"),
            DemoParty("杜春花", "15191028436", "respondent"),
        ),
        mediator_username="mediator_zhouzhi",
        days_ago=15,
        sessions=(
            DemoSession(
                days_ago=14,
                place="安富园社区共享菜园",
                attendees=("曹德明", "胡秀英", "马秀兰", "杜春花"),
                notes="现场丈量,按划分时的登记图重新打桩定界。",
            ),
        ),
        outcome="agreement",
        agreement_text="按登记图重新定界,双方互不越界种植,被拔菜苗由双方各自补种。",
        follow_ups=(DemoFollowUp(6, True, "两家在菜园互相帮忙浇水。"),),
    ),
    DemoDispute(
        ref="dsp-lg-wall",
        area_code=grid(LOUGUAN, 3),
        type="land",
        title="宅基地院墙边界纠纷",
        description="两户村民因翻建院墙占用相邻宅基地约30厘米发生纠纷,双方各执一份不同年份的宅基地证明。",
        risk_level="orange",
        risk_reason="双方家族人员多次对峙,曾扬言动手拆墙。",
        parties=(
            DemoParty("周永刚", "13359207184", "applicant"),
            DemoParty("吴建平", "18091627350", "respondent"),
        ),
        mediator_username="mediator_zhouzhi",
        days_ago=40,
        sessions=(
            DemoSession(
                days_ago=38,
                place="楼观社区调解室",
                attendees=("曹德明", "周雅琴", "周永刚", "吴建平"),
                notes="双方对宅基地证明的效力各执一词,要求确权。",
            ),
            DemoSession(
                days_ago=31,
                place="纠纷现场",
                attendees=("曹德明", "周雅琴", "周永刚", "吴建平", "镇国土所工作人员"),
                notes="现场测量,因证明材料冲突无法在调解中确权。",
            ),
        ),
        outcome="referred",
        outcome_notes="涉及宅基地确权,引导当事人向镇政府申请确权处理;期间双方承诺暂停施工、不拆墙。",
        follow_ups=(
            DemoFollowUp(20, True, "已停工,双方未再对峙。"),
            DemoFollowUp(5, False, "吴建平家再次动工,已劝停并报镇综治中心关注。"),
        ),
    ),
    DemoDispute(
        ref="dsp-xjz-ev-fee",
        area_code=grid(XINJIAZHAI, 2),
        type="property",
        title="业主与物业因电动车临时充电点收费产生纠纷",
        description="私拉电线整治后,物业设置临时充电点并按小时收费,部分业主认为收费过高、拒绝使用。",
        risk_level="yellow",
        risk_reason="部分业主又开始私拉电线,存在消防隐患反弹风险。",
        parties=(
            DemoParty("何军(业主代表)", "18710658392", "applicant"),
            DemoParty("黄晓东(名筑新东城物业服务中心)", "13709286513", "respondent"),
        ),
        mediator_username="mediator_zhouzhi",
        days_ago=9,
        sessions=(
            DemoSession(
                days_ago=7,
                place="辛家寨社区党群服务中心",
                attendees=("曹德明", "苏文斌", "何军", "黄晓东"),
                notes="物业提供电费和设备成本测算,双方约定下次会议前由社区联系供电公司核算。",
            ),
        ),
        outcome=None,
    ),
]
