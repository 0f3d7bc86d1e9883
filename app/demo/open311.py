"""Demo stage: a few residents' requests filed through Open311, so a GeoReport client sees something.

The city's 12345 web portal is an integration account with an API key (created here, its secret
never shown); each request goes through the same Open311 service as a real POST, at a point
inside its grid, and becomes an issue on the ``open311`` channel waiting to be accepted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shapely.geometry import shape

from app.auth.models import ApiKey, User
from app.auth.roles import Role
from app.auth.security import generate_api_key
from app.demo import data
from app.demo.issues import frozen_clock
from app.integrations.open311 import format as fmt
from app.integrations.open311 import service as open311
from app.kit import clock
from app.kit.signing import generate_secret
from app.scope import Principal


async def load_open311(session: Any, ctx: dict[str, Any]) -> None:
    areas, users = ctx["areas"], ctx["users"]
    portal: User = users[data.OPEN311_PORTAL.username]
    district = areas[data.OPEN311_PORTAL.area_code]
    material = generate_api_key()
    key = ApiKey(
        name="12345市民网站 (Open311)",
        user_id=portal.id,
        area_id=district.id,
        prefix=material.prefix,
        key_hash=material.key_hash,
        signing_secret=generate_secret(),
        created_by=portal.id,
    )
    session.add(key)
    await session.flush()
    principal = Principal(
        user_id=portal.id,
        username=portal.username,
        display_name=portal.display_name,
        role=Role.INTEGRATION,
        area_id=district.id,
        area_path=district.path,
        api_key_id=key.id,
    )
    boundaries = {a.code: a.boundary for a in data.AREAS}
    now = clock.now()
    for request in data.OPEN311_REQUESTS:
        point = shape(boundaries[request.grid_code]).representative_point()
        fields = {
            "api_key": material.plaintext,
            "service_code": request.service_code,
            "lat": f"{point.y:.6f}",
            "long": f"{point.x:.6f}",
            "address_string": request.address,
            "description": request.description,
            "last_name": request.last_name,
            "first_name": request.first_name,
            "phone": request.phone,
            **{f"attribute[{code}]": value for code, value in request.attributes.items()},
        }
        form = fmt.parse_post_form({name: [value] for name, value in fields.items()})
        with frozen_clock(now - dt.timedelta(hours=request.hours_ago)):
            await open311.post_request(session, ctx["settings"], principal, district, form)
