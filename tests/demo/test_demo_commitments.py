"""The demo's 一年10件实事: the six lists of the county's notice, published with a year of work."""

from __future__ import annotations

import httpx

from app.demo import data
from app.demo.commitment_notice import NOTICE
from app.main import create_app
from tests.conftest import make_settings


async def test_the_six_lists_are_published_verbatim_with_their_targets(demo_db_url):
    app = create_app(make_settings(demo_db_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            token = (
                await client.post("/api/v1/auth/token", data={"username": "admin", "password": data.DEMO_PASSWORD})
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            areas = (await client.get("/api/v1/areas?limit=200", headers=headers)).json()["items"]
            by_code = {a["code"]: a for a in areas}
            county = by_code[data.ZHOUZHI]["id"]
            notice = (await client.get(f"/api/v1/public/commitments/{county}")).json()
            assert notice["summary"]["communities"] == 6 and notice["summary"]["items"] == 60
            lists = {x["area_id"]: x for x in notice["lists"]}
            for code, letters, texts in NOTICE:
                published = lists[by_code[code]["id"]]
                assert published["status"] == "published"
                assert [i["description"] for i in published["items"]] == texts
                classes = {"G": "governance", "C": "care", "S": "service"}
                assert [i["category"] for i in published["items"]] == [classes[c] for c in letters]
                assert all(i["ratings"]["total"] >= 2 for i in published["items"])
            anfuyuan = lists[by_code[data.ANFUYUAN]["id"]]["items"]
            assert anfuyuan[0]["schedule"] == {"kind": "range", "min": 1, "max": 2}  # 一年进行1-2次维护
            assert anfuyuan[2]["schedule"] == {"kind": "monthly", "day": 10}  # 每月10日组织社区清洁日
            assert anfuyuan[5]["schedule"] == {"kind": "at_least", "times": 5}  # 全年不少于5次
            assert anfuyuan[8]["budget_yuan"] == 1_000_000 and len(anfuyuan[8]["milestones"]) == 2
            mazhao = lists[by_code[data.MAZHAO]["id"]]["items"]
            assert mazhao[3]["schedule"] == {"kind": "season", "times": 2, "start": "07-01", "end": "08-31"}

            # the greenhouse came from a consultation's decision, linked both ways
            item = (
                await client.get(
                    f"/api/v1/commitment-lists/{lists[by_code[data.ANFUYUAN]['id']]['list_id']}", headers=headers
                )
            ).json()["items"][8]
            meetings = (await client.get("/api/v1/consultations", headers=headers)).json()["items"]
            (meeting,) = meetings
            decision = meeting["agenda"][0]["decision"]
            assert decision["outcome"] == "adopted" and decision["commitment_item_id"] == item["id"]
            assert item["decision_id"] == decision["id"]
            proposal = (
                await client.get(f"/api/v1/proposals/{meeting['agenda'][0]['proposal_id']}", headers=headers)
            ).json()
            assert proposal["status"] == "adopted"
