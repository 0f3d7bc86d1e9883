import uuid

import asyncpg
import pytest

from app.kit.crypto import CryptoError, FieldCipher


async def test_audit_rows_cannot_be_changed_or_deleted(db_url):
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            "INSERT INTO audit_log (id, actor_username, actor_role, action, object_type, object_id, reason) "
            "VALUES ($1, 'admin', 'admin', 'resident.reveal', 'resident', $2, 'test')",
            uuid.uuid4(),
            uuid.uuid4(),
        )
        for sql in ("UPDATE audit_log SET reason = 'edited'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
            with pytest.raises(asyncpg.PostgresError, match="append-only"):
                await conn.execute(sql)
        assert await conn.fetchval("SELECT reason FROM audit_log") == "test"
    finally:
        await conn.close()


def test_field_cipher_round_trip_rotation_and_tamper():
    old, new = b"o" * 32, b"n" * 32
    before = FieldCipher(old, index_key=b"i" * 32)
    stored = before.encrypt("13812341234", context="resident.phone")
    assert before.encrypt("13812341234", context="resident.phone") != stored  # random nonce
    rotated = FieldCipher(new, [old], index_key=b"i" * 32)
    assert rotated.decrypt(stored, context="resident.phone") == "13812341234"
    assert rotated.needs_rotation(stored)
    with pytest.raises(CryptoError):
        rotated.decrypt(stored, context="resident.id_number")
    with pytest.raises(CryptoError):
        FieldCipher(new).decrypt(stored, context="resident.phone")
    assert before.blind_index("+86 138-1234-1234", kind="phone") == rotated.blind_index("13812341234", kind="phone")


async def test_audit_refusals_are_documented(client):
    """A refused role (403) and, on a path with an id, an unknown or out-of-scope one (404) are documented."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    operations = [
        (path, op)
        for path, item in paths.items()
        if path.startswith(tuple("/api/v1/audit".split(",")))
        for op in item.values()
    ]
    assert operations
    for path, op in operations:
        for status in "403".split(","):
            if status != "404" or "{" in path:
                assert op["responses"][status]["content"]["application/problem+json"], (path, status)
