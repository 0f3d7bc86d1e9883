"""Where an inbound request (a 12345 ticket, an Open311 request) lands in the area tree.

1. **Coordinates** → the deepest grid or micro-grid whose boundary holds the point, inside the
   caller's scope. A point outside that scope is refused by the caller (``None`` here).
2. **Address only** → the deepest street or community in scope whose name appears in the address
   (``…测试街道测试社区3号楼`` → 测试社区). Grid and building names (``第一网格``, ``1号楼``) are
   not matched: they are short and collide with house numbers.
3. **Neither** → the caller's home area (the key's area). The issue's tier follows that area's
   level, so a street's (or district's) dispatch desk triages it like any unlocated report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.grids import repository as areas
from app.grids import service as grids
from app.grids.models import Area, Level

ADDRESS_LEVELS = (Level.STREET.value, Level.COMMUNITY.value)


@dataclass(frozen=True)
class Routed:
    area: Area
    by: Literal["location", "address", "home"]


async def route(
    session: AsyncSession,
    home: Area,
    *,
    lat: float | None,
    lng: float | None,
    address: str | None,
) -> Routed | None:
    """The area for a request within ``home``'s subtree; ``None`` when its point lies outside."""
    if lat is not None and lng is not None:
        found = await grids.locate(session, lng, lat, home.path)
        return Routed(found, "location") if found is not None else None
    if address:
        named = await areas.named_in(session, address, home.path, ADDRESS_LEVELS)
        if named is not None:
            return Routed(named, "address")
    return Routed(home, "home")
