"""民事民提 → 民事民议 → 民事民决 → 民事民办: proposals, a consultation meeting, its vote and the
commitment its decision creates."""

from __future__ import annotations

from fractions import Fraction

import asyncpg
import pytest

from app.consultation.workflow import DecisionOutcome, Majority, decide
from tests.commitments.helpers import CA, GW, SA, make_list
from tests.conftest import auth
from tests.issues.helpers import create
from tests.world import AREA

TWO_THIRDS = Fraction(2, 3)


@pytest.mark.parametrize(
    ("invited", "present", "votes", "majority", "expected"),
    [
        (9, 6, [4, 2], Majority.MORE_THAN_HALF, (DecisionOutcome.ADOPTED, 0)),  # quorum exactly two thirds
        (9, 5, [5, 0], Majority.MORE_THAN_HALF, (DecisionOutcome.NO_QUORUM, None)),
        (9, 6, [3, 3], Majority.MORE_THAN_HALF, (DecisionOutcome.REJECTED, None)),  # a tie
        (9, 6, [3, 1], Majority.MORE_THAN_HALF, (DecisionOutcome.REJECTED, None)),  # half is not more than half
        (9, 6, [1, 4], Majority.MORE_THAN_HALF, (DecisionOutcome.ADOPTED, 1)),
        (9, 9, [6, 3], Majority.TWO_THIRDS, (DecisionOutcome.ADOPTED, 0)),  # two thirds exactly
        (9, 9, [5, 4], Majority.TWO_THIRDS, (DecisionOutcome.REJECTED, None)),
        (3, 0, [0, 0], Majority.MORE_THAN_HALF, (DecisionOutcome.NO_QUORUM, None)),
    ],
)
def test_the_quorum_and_majority_rule(invited, present, votes, majority, expected):
    assert decide(invited=invited, present=present, votes=votes, quorum=TWO_THIRDS, majority=majority) == expected


async def _proposal(client, title: str, content: str, headers=GW, **kw) -> dict:
    r = await client.post("/api/v1/proposals", json={"title": title, "content": content, **kw}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_proposals_are_collected_found_similar_and_merged(client):
    a = await _proposal(
        client, "小区增设电动车充电桩", "居民反映小区电动车充电难,建议增设充电桩", proposer_name="周贵领"
    )
    b = await _proposal(client, "增设电动车充电桩", "电动车充电难,希望小区增设充电桩")
    await _proposal(client, "修缮健身器材", "广场健身器材老化")
    assert a["proposer_name"] == "周贵领" and a["supporters"] == 1 and a["source"] == "staff"
    r = await client.get(f"/api/v1/proposals/{a['id']}", headers=auth("viewer"))
    assert r.json()["proposer_name"] == "周**"
    r = await client.get(f"/api/v1/proposals/{a['id']}/similar", headers=GW)
    assert [s["proposal"]["id"] for s in r.json()] == [b["id"]] and r.json()[0]["score"] > 0.1
    r = await client.post(f"/api/v1/proposals/{a['id']}/support", headers=GW)
    assert r.json()["supporters"] == 2
    r = await client.post(f"/api/v1/proposals/{b['id']}/merge-into/{a['id']}", headers=GW)
    assert r.status_code == 200 and r.json()["id"] == a["id"] and r.json()["supporters"] == 3
    r = await client.get(f"/api/v1/proposals/{b['id']}", headers=GW)
    assert r.json()["status"] == "merged" and r.json()["merged_into_id"] == a["id"]
    r = await client.post(f"/api/v1/proposals/{b['id']}/merge-into/{a['id']}", headers=GW)
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    # another district's staff never see it
    r = await client.get(f"/api/v1/proposals/{a['id']}", headers=auth("other_admin"))
    assert r.status_code == 404


async def test_residents_propose_without_logging_in_and_staff_promote_suggestions(client):
    r = await client.post(
        f"/api/v1/public/proposals/{AREA['C'].id}",
        json={"title": "加装电梯", "content": "老楼加装电梯", "name": "李四"},
    )
    assert r.status_code == 201 and r.json()["status"] == "open"
    r = await client.get(f"/api/v1/proposals/{r.json()['id']}", headers=auth("viewer"))
    assert r.json()["source"] == "public" and r.json()["proposer_name"] == "李*"
    r = await client.post(f"/api/v1/public/proposals/{AREA['S'].id}", json={"title": "x", "content": "y"})
    assert r.status_code == 404

    suggestion = await create(client, kind="suggestion", title="建议增设休息座椅")
    r = await client.post(f"/api/v1/issues/{suggestion['id']}/proposal", headers=GW)
    assert r.status_code == 201 and r.json()["issue_id"] == suggestion["id"] and r.json()["source"] == "issue"
    complaint = await create(client)
    r = await client.post(f"/api/v1/issues/{complaint['id']}/proposal", headers=GW)
    assert r.status_code == 409 and r.json()["code"] == "not_a_suggestion"

    entry = {
        "visited_at": "2026-11-23T09:30:00+08:00",
        "kind": "situation",
        "content": "居民希望开设老年食堂\n详见走访",
    }
    r = await client.post("/api/v1/diary-entries", json=entry, headers=GW)
    r = await client.post(f"/api/v1/diary-entries/{r.json()['id']}/proposal", headers=GW)
    assert r.status_code == 201 and r.json()["title"] == "居民希望开设老年食堂" and r.json()["source"] == "diary"


def _meeting(proposal_id: str, **kw) -> dict:
    return {
        "area_id": str(AREA["C"].id),
        "title": "老旧小区改造民主协商会",
        "held_at": "2026-03-01T15:00:00+08:00",
        "place": "社区会议室",
        "convener": "社区党支部书记",
        "invited": 9,
        "participants": [
            {"name": "张三丰", "role": "resident_rep"},
            {"name": "王五", "role": "party_member_rep"},
            {"name": "物业经理", "role": "property"},
            {"name": "超市店主", "role": "merchant", "present": False},
        ],
        "agenda": [{"title": "老旧小区改造方案", "options": ["方案一", "方案二"], "proposal_id": proposal_id}],
        **kw,
    }


async def test_a_consultations_decision_creates_a_commitment_linked_both_ways(client, db_url):
    proposal = await _proposal(client, "老旧小区改造", "楼道破损、管网老化,建议整体改造")
    lst = await make_list(client, items=[])
    r = await client.post("/api/v1/consultations", json=_meeting(proposal["id"]), headers=CA)
    assert r.status_code == 201, r.text
    meeting = r.json()
    assert meeting["quorum"] == "2/3" and meeting["majority"] == "more_than_half"
    assert (await client.get(f"/api/v1/proposals/{proposal['id']}", headers=GW)).json()["status"] == "on_agenda"
    r = await client.get(f"/api/v1/consultations/{meeting['id']}", headers=auth("viewer"))
    assert r.json()["participants"][0]["name"] == "张**"

    url = f"/api/v1/consultations/{meeting['id']}/agenda/1/decisions"
    body = {
        "present": 7,
        "votes": [2, 5],
        "create_commitment": {"list_id": lst["id"], "category": "governance", "budget_yuan": 500_000},
    }
    r = await client.post(url, json=body, headers=CA)
    assert r.status_code == 201, r.text
    decision = r.json()["agenda"][0]["decision"]
    assert decision["outcome"] == "adopted" and decision["chosen_option"] == 1
    r = await client.get(f"/api/v1/commitment-lists/{lst['id']}", headers=CA)
    (item,) = r.json()["items"]
    assert item["title"] == "老旧小区改造方案" and item["budget_yuan"] == 500_000
    assert item["decision_id"] == decision["id"] and decision["commitment_item_id"] == item["id"]
    adopted = (await client.get(f"/api/v1/proposals/{proposal['id']}", headers=GW)).json()
    assert adopted["status"] == "adopted"
    # the commitment answers the proposal on the agenda, and the proposal shows what it led to
    assert item["proposal_ids"] == [proposal["id"]] and adopted["commitment_item_ids"] == [item["id"]]

    # never edited: a second decision is a correction with a reason, and supersedes the first
    r = await client.post(url, json={"present": 7, "votes": [3, 4]}, headers=CA)
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    r = await client.post(url, json={"present": 7, "votes": [3, 4], "reason": "计票有误,更正"}, headers=CA)
    assert r.status_code == 201
    agenda = r.json()["agenda"][0]
    assert [d["votes"] for d in agenda["history"]] == [[2, 5], [3, 4]]
    assert agenda["decision"]["supersedes_id"] == decision["id"] and agenda["decision"]["reason"] == "计票有误,更正"
    assert agenda["history"][0] == decision  # the first stands as it was
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        actions = [
            r[0]
            for r in await conn.fetch("SELECT action FROM audit_log WHERE action LIKE 'consultation.%' ORDER BY id")
        ]
    finally:
        await conn.close()
    assert actions == ["consultation.create", "consultation.decide", "consultation.correct"]


async def test_a_decision_without_quorum_creates_nothing(client):
    proposal = await _proposal(client, "加装电梯", "老楼加装电梯")
    lst = await make_list(client, items=[])
    r = await client.post("/api/v1/consultations", json=_meeting(proposal["id"]), headers=CA)
    url = f"/api/v1/consultations/{r.json()['id']}/agenda/1/decisions"
    body = {"present": 5, "votes": [4, 1], "create_commitment": {"list_id": lst["id"], "category": "service"}}
    r = await client.post(url, json=body, headers=CA)
    assert r.status_code == 409 and r.json()["code"] == "decision_not_adopted"
    r = await client.post(url, json={"present": 5, "votes": [4, 1]}, headers=CA)
    assert r.status_code == 201 and r.json()["agenda"][0]["decision"]["outcome"] == "no_quorum"
    assert (await client.get(f"/api/v1/proposals/{proposal['id']}", headers=GW)).json()["status"] == "on_agenda"
    for bad, code in (
        ({"present": 10, "votes": [1, 1]}, "present_exceeds_invited"),
        ({"present": 6, "votes": [5, 5]}, "votes_exceed_present"),
        ({"present": 6, "votes": [5]}, "votes_mismatch"),
    ):
        r = await client.post(url, json={**bad, "reason": "更正"}, headers=CA)
        assert r.status_code == 422 and r.json()["code"] == code


async def test_a_meeting_names_only_what_belongs_to_its_area(client):
    other = await _proposal(client, "邻居社区的建议", "内容", headers=auth("grid_worker_g3"))
    r = await client.post("/api/v1/consultations", json=_meeting(other["id"]), headers=CA)
    assert r.status_code == 422 and r.json()["code"] == "unknown_proposal"
    assert r.json()["errors"][0]["field"] == "agenda.0.proposal_id"
    r = await client.post("/api/v1/consultations", json=_meeting(other["id"]), headers=SA)
    assert r.status_code == 422 and r.json()["code"] == "unknown_proposal"  # of C2, not of the meeting's C


async def test_an_adopted_decision_files_an_issue(client):
    proposal = await _proposal(client, "楼道照明更换", "楼道灯具老化")
    r = await client.post("/api/v1/consultations", json=_meeting(proposal["id"]), headers=CA)
    url = f"/api/v1/consultations/{r.json()['id']}/agenda/1/decisions"
    body = {"present": 8, "votes": [6, 2], "create_issue": {"category": "lighting", "kind": "help"}}
    r = await client.post(url, json=body, headers=CA)
    assert r.status_code == 201, r.text
    decision = r.json()["agenda"][0]["decision"]
    issue = (await client.get(f"/api/v1/issues/{decision['issue_id']}", headers=CA)).json()
    assert issue["title"] == "老旧小区改造方案" and issue["area_id"] == str(AREA["C"].id)
    assert issue["status"] == "reported" and "老旧小区改造民主协商会" in issue["description"]


async def test_the_minutes_are_edited_with_if_match_and_the_decisions_stay_as_taken(client, db_url):
    proposal = await _proposal(client, "加装电梯", "老楼加装电梯")
    r = await client.post("/api/v1/consultations", json=_meeting(proposal["id"], minutes="初稿"), headers=CA)
    meeting = r.json()
    url = f"/api/v1/consultations/{meeting['id']}"
    r = await client.post(f"{url}/agenda/1/decisions", json={"present": 7, "votes": [5, 2]}, headers=CA)
    decided = r.json()["agenda"]
    got = await client.get(url, headers=CA)
    etag = got.headers["ETag"]

    r = await client.patch(url, json={"minutes": "经协商,同意方案一"}, headers=CA)
    assert r.status_code == 428
    r = await client.patch(url, json={"minutes": "经协商,同意方案一"}, headers={**CA, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["minutes"] == "经协商,同意方案一" and r.headers["ETag"] != etag
    assert r.json()["agenda"] == decided  # the decision stands as it was taken
    r = await client.patch(url, json={"minutes": "再改"}, headers={**CA, "If-Match": etag})
    assert r.status_code == 412
    # a decision or the agenda are not part of the edit
    new_etag = (await client.get(url, headers=CA)).headers["ETag"]
    for body in ({"minutes": "x", "agenda": [{"title": "改议题"}]}, {"minutes": "x", "decision": {"votes": [0, 7]}}):
        r = await client.patch(url, json=body, headers={**CA, "If-Match": new_etag})
        assert r.status_code == 422
    # grid workers read meetings but do not edit them; another community's administrator does not find it
    r = await client.patch(url, json={"minutes": "x"}, headers={**GW, "If-Match": new_etag})
    assert r.status_code == 403
    r = await client.patch(url, json={"minutes": "x"}, headers={**auth("other_admin"), "If-Match": new_etag})
    assert r.status_code == 404
    after = (await client.get(url, headers=CA)).json()
    assert after["minutes"] == "经协商,同意方案一" and after["agenda"] == decided
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch("SELECT action, object_id FROM audit_log WHERE action = 'consultation.minutes'")
    finally:
        await conn.close()
    assert [(r["action"], str(r["object_id"])) for r in rows] == [("consultation.minutes", meeting["id"])]
