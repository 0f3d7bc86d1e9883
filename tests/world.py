"""A small, fixed world every test starts from (loaded once into a template database).

测试区 (district D)
└── 测试街道 (street S)
    ├── 测试社区 (community C)  ── grid G1 (west half), grid G2 (east half)
    │                               └── micro-grid M1 inside G1
    └── 邻居社区 (community C2) ── grid G3
另一区 (district X) ── street XS  (another jurisdiction entirely)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.auth.roles import Role


def _id(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"minqing-test/{name}")


def rect(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@dataclass(frozen=True)
class AreaSpec:
    key: str
    code: str
    name: str
    level: str
    parent: str | None
    boundary: dict

    @property
    def id(self) -> uuid.UUID:
        return _id("area/" + self.key)


AREAS = [
    AreaSpec("D", "T01", "测试区", "district", None, rect(108.0, 34.0, 108.4, 34.4)),
    AreaSpec("S", "T0101", "测试街道", "street", "D", rect(108.0, 34.0, 108.2, 34.2)),
    AreaSpec("C", "T010101", "测试社区", "community", "S", rect(108.0, 34.0, 108.1, 34.1)),
    AreaSpec("G1", "T01010101", "第一网格", "grid", "C", rect(108.0, 34.0, 108.05, 34.1)),
    AreaSpec("G2", "T01010102", "第二网格", "grid", "C", rect(108.05, 34.0, 108.1, 34.1)),
    AreaSpec("M1", "T0101010101", "1号楼", "micro_grid", "G1", rect(108.0, 34.0, 108.01, 34.01)),
    AreaSpec("C2", "T010102", "邻居社区", "community", "S", rect(108.1, 34.0, 108.2, 34.1)),
    AreaSpec("G3", "T01010201", "邻居网格", "grid", "C2", rect(108.1, 34.0, 108.2, 34.1)),
    AreaSpec("X", "X01", "另一区", "district", None, rect(113.0, 37.0, 113.4, 37.4)),
    AreaSpec("XS", "X0101", "另一街道", "street", "X", rect(113.0, 37.0, 113.2, 37.2)),
]
AREA = {a.key: a for a in AREAS}

UNIT_ID = _id("unit/property")
OTHER_UNIT_ID = _id("unit/police")
UNITS = [
    (UNIT_ID, "U01", "测试物业公司", "property_company", "S"),
    (OTHER_UNIT_ID, "U02", "测试派出所", "police_station", "S"),
]

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class UserSpec:
    key: str
    role: Role
    area: str
    unit: uuid.UUID | None = None

    @property
    def id(self) -> uuid.UUID:
        return _id("user/" + self.key)

    @property
    def username(self) -> str:
        return self.key


USERS = [
    UserSpec("admin", Role.ADMIN, "D"),
    UserSpec("street_admin", Role.STREET_ADMIN, "S"),
    UserSpec("community_admin", Role.COMMUNITY_ADMIN, "C"),
    UserSpec("grid_worker", Role.GRID_WORKER, "G1"),
    UserSpec("grid_worker_g2", Role.GRID_WORKER, "G2"),
    UserSpec("grid_worker_g3", Role.GRID_WORKER, "G3"),
    UserSpec("mediator", Role.MEDIATOR, "C"),
    UserSpec("viewer", Role.VIEWER, "D"),
    UserSpec("department", Role.DEPARTMENT, "S", UNIT_ID),
    UserSpec("department_police", Role.DEPARTMENT, "S", OTHER_UNIT_ID),
    UserSpec("integration", Role.INTEGRATION, "D"),
    UserSpec("other_admin", Role.ADMIN, "X"),
]
USER = {u.key: u for u in USERS}


async def load(session) -> None:  # type: ignore[no-untyped-def]
    from app.auth.models import Unit, User
    from app.auth.security import hash_password
    from app.grids.models import Area
    from app.grids.service import _apply_boundary

    paths: dict[str, str] = {}
    for spec in AREAS:
        path = spec.id.hex if spec.parent is None else f"{paths[spec.parent]}.{spec.id.hex}"
        paths[spec.key] = path
        area = Area(
            id=spec.id,
            code=spec.code,
            name=spec.name,
            level=spec.level,
            parent_id=AREA[spec.parent].id if spec.parent else None,
            path=path,
        )
        _apply_boundary(area, spec.boundary)
        session.add(area)
    await session.flush()
    for uid, code, name, kind, area_key in UNITS:
        session.add(Unit(id=uid, code=code, name=name, kind=kind, area_id=AREA[area_key].id))
    await session.flush()
    pw = hash_password(PASSWORD)
    for u in USERS:
        session.add(
            User(
                id=u.id,
                username=u.username,
                display_name=f"测试{u.key}",
                password_hash=pw,
                role=u.role.value,
                home_area_id=AREA[u.area].id,
                unit_id=u.unit,
            )
        )
    await session.flush()
