"""Demo stage: a few residents' requests filed through Open311, so a GeoReport client sees something.

The city's 12345 web portal is an integration account with an API key (created here, its secret
never shown); each request goes through the same Open311 service as a real POST, at a point
inside its grid, and becomes an issue on the ``open311`` channel waiting to be accepted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shapely.geometry import shape

from app.auth.models import User
from app.auth.service import new_api_key
from app.demo import data
from app.demo.issues import frozen_clock
from app.integrations.open311 import format as fmt
from app.integrations.open311 import service as open311
from app.kit import clock
from app.scope import Principal


async def load_open311(session: Any, ctx: dict[str, Any]) -> None:
    areas, users = ctx["areas"], ctx["users"]
    portal: User = users[data.OPEN311_PORTAL.username]
    district = areas[data.OPEN311_PORTAL.area_code]
    key, plaintext = await new_api_key(
        session, name="12345市民网站 (Open311)", owner_id=portal.id, area_id=district.id, created_by=portal.id
    )
    principal = Principal.of(portal, district.id, district.path, api_key_id=key.id)
    boundaries = {a.code: a.boundary for a in data.AREAS}
    now = clock.now()
    for request in data.OPEN311_REQUESTS:
        point = shape(boundaries[request.grid_code]).representative_point()
        fields = {
            "api_key": plaintext,
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
