"""argon2 runs in worker threads, never on the event loop, and a hash made with older parameters is
replaced on the next successful sign-in."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import asyncpg
import pytest
from argon2 import PasswordHasher, profiles

from app.auth import security
from tests import world
from tests.conftest import auth


class RecordingHasher(PasswordHasher):
    """The service's hasher (its own parameters, not the suite's cheap ones), noting the thread each call
    runs on; ``verify`` can be held until released."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[tuple[str, int]] = []
        self.verifying = threading.Event()
        self.released = threading.Event()
        self.hold = False

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.threads.append(("verify", threading.get_ident()))
        self.verifying.set()
        if self.hold:
            # Bounded: on the event loop nothing could ever release it.
            self.released.wait(10)
        return super().verify(hash, password)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.threads.append(("hash", threading.get_ident()))
        return super().hash(password, salt=salt)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> RecordingHasher:
    recording = RecordingHasher()
    monkeypatch.setattr(security, "_hasher", recording)
    return recording


async def _login(client, username: str, password: str = world.PASSWORD):
    return await client.post("/api/v1/auth/token", data={"username": username, "password": password})


async def _stored_hash(db_url: str, username: str) -> str:
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return await conn.fetchval("SELECT password_hash FROM users WHERE username = $1", username)
    finally:
        await conn.close()


async def test_other_requests_are_served_while_a_sign_in_verifies(client, hasher: RecordingHasher):
    hasher.hold = True
    order: list[str] = []

    async def sign_in() -> int:
        r = await _login(client, "grid_worker")
        order.append("signed in")
        return r.status_code

    signing_in = asyncio.create_task(sign_in())
    for _ in range(1000):  # until the verification has started (bounded)
        if hasher.verifying.is_set():
            break
        await asyncio.sleep(0.01)
    # The verification is under way and held: the loop must still answer another request.
    assert (await client.get("/health")).status_code == 200
    order.append("health answered")
    hasher.released.set()
    assert await signing_in == 200
    assert order == ["health answered", "signed in"]
    loop_thread = threading.get_ident()
    assert hasher.threads and all(thread != loop_thread for _, thread in hasher.threads)


async def test_unknown_users_and_new_passwords_are_hashed_off_the_loop(client, hasher: RecordingHasher):
    assert (await _login(client, "nobody")).status_code == 401  # verified against the dummy hash
    body = {
        "username": "new_worker",
        "display_name": "新网格员",
        "password": "a-strong-password",
        "role": "grid_worker",
        "home_area_id": str(world.AREA["G2"].id),
    }
    created = await client.post("/api/v1/users", json=body, headers=auth("admin"))
    assert created.status_code == 201, created.text
    changed = await client.patch(
        f"/api/v1/users/{created.json()['id']}",
        json={"password": "another-strong-password"},
        headers={**auth("admin"), "If-Match": created.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    assert (await _login(client, "new_worker", "another-strong-password")).status_code == 200
    calls = [name for name, _ in hasher.threads]
    assert calls.count("hash") == 2 and calls.count("verify") == 2
    loop_thread = threading.get_ident()
    assert all(thread != loop_thread for _, thread in hasher.threads)


def test_the_service_hashes_with_its_own_parameters():
    """The suite hashes cheaply (tests/conftest.py); the service, imported afresh, does not."""
    code = (
        "from app.auth import security; h = security._hasher; "
        "print(h.type.name, h.time_cost, h.memory_cost, h.parallelism, security.hash_password('x').split('$')[3], "
        "security._DUMMY_HASH.split('$')[3])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    p = profiles.RFC_9106_LOW_MEMORY
    params = f"m={p.memory_cost},t={p.time_cost},p={p.parallelism}"
    assert out.stdout.split() == ["ID", str(p.time_cost), str(p.memory_cost), str(p.parallelism), params, params]
    assert (p.memory_cost, p.time_cost) == (65536, 3)  # 64 MiB, three passes


async def test_a_hash_with_old_parameters_is_renewed_on_sign_in(client, db_url, hasher: RecordingHasher):
    # ``hasher``: the service's own parameters (the suite's cheap ones are old parameters too).
    old = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(world.PASSWORD)
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("UPDATE users SET password_hash = $1 WHERE username = 'grid_worker'", old)
    finally:
        await conn.close()

    assert (await _login(client, "grid_worker", "wrong password")).status_code == 401
    assert await _stored_hash(db_url, "grid_worker") == old  # only a successful sign-in renews it

    assert (await _login(client, "grid_worker")).status_code == 200
    renewed = await _stored_hash(db_url, "grid_worker")
    today = PasswordHasher()
    assert renewed != old and not today.check_needs_rehash(renewed)
    assert today.verify(renewed, world.PASSWORD)

    assert (await _login(client, "grid_worker")).status_code == 200
    assert await _stored_hash(db_url, "grid_worker") == renewed  # current parameters: left alone
