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


async def test_dashboard_page_is_self_contained(client):
    r = await client.get("/dashboard")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "响应率" in html and "满意率" in html and "解决率" in html
    # no third-party hosts: government networks are often offline
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
