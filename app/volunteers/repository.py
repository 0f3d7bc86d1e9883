"""Scoped reads of the volunteers' rows: what the caller may see of their area's subtree, with
the 404 ``<thing>_not_found`` of an id in a path and the 422 ``unknown_<thing>`` of one in a body."""

from __future__ import annotations

from app.kit.repository import ScopedRepository
from app.volunteers.models import LedgerPosting, Pairing, ServiceRecord, ShopItem, TimebankRequest, Volunteer, Wish

volunteers = ScopedRepository(Volunteer, thing="volunteer")
records = ScopedRepository(ServiceRecord, thing="service_record")
postings = ScopedRepository(LedgerPosting, thing="posting", order=(LedgerPosting.posted_at, LedgerPosting.id))
shop_items = ScopedRepository(ShopItem, thing="shop_item", label="item", within="your area's shop")
timebank_requests = ScopedRepository(TimebankRequest, thing="timebank_request", label="time-bank request")
wishes = ScopedRepository(Wish, thing="wish")
pairings = ScopedRepository(Pairing, thing="pairing")
