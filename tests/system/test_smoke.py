from tests.conftest import auth


async def test_health_and_ready(client):
    r = await client.get("/health")
    assert r.status_code == 200
    r = await client.get("/ready")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ready"


async def test_me(client):
    r = await client.get("/api/v1/me", headers=auth("grid_worker"))
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "grid_worker"
    assert r.json()["home_area_name"] == "第一网格"
