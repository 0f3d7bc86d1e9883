"""Demo stage: volunteers and community life in 如意庄社区, in the shape of the seed reports' figures —
a talent pool of 150 people by category (人才信息库), 214 Party members paired with 86 households in
need (帮扶对子) with 179 home visits and 800-odd scheduled phone calls (定时电话), a charity shop that
handed out 836 items to 142 people, small wishes (微心愿) at every stage, a time bank and students
ranked by how often they served (实践之星).

Everything is written through the services staff use, so the ledger's rules hold for the demo too.
Generated from a fixed seed: the same data every time.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.demo import data
from app.demo.issues import _principal
from app.grids.models import Area
from app.kit import clock
from app.residents import service as residents
from app.residents.models import Building, Household, Resident
from app.scope import in_subtree
from app.volunteers import pairings, shop, timebank, wishes
from app.volunteers import service as volunteers
from app.volunteers.workflow import SHANGHAI

TALENTS = 150
PARTY_MEMBERS = 214
HOUSEHOLDS = 86
HOME_VISITS = 179
PHONE_CALLS = 812
ITEMS_HANDED_OUT = 836
PEOPLE_SERVED_BY_SHOP = 142
STUDENTS = 24

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "建国秀英志强丽娟海燕文华玉兰桂芝国庆红梅晓东春生淑珍永红金凤德明凤英振华慧敏宏伟雪梅俊杰子涵浩然欣怡"
CATEGORIES = ("医疗卫生", "法律咨询", "教育辅导", "文艺体育", "家电维修", "心理疏导", "理发缝补", "信息技术")
SKILLS = {
    "医疗卫生": ["量血压", "健康讲座"],
    "法律咨询": ["法律咨询", "调解"],
    "教育辅导": ["作业辅导", "书法"],
    "文艺体育": ["广场舞", "合唱"],
    "家电维修": ["电器维修", "水电维修"],
    "心理疏导": ["心理疏导", "陪伴聊天"],
    "理发缝补": ["理发", "缝补"],
    "信息技术": ["智能手机教学", "电脑维修"],
}
SHOP = [
    ("大米(5kg)", 60, "共建单位 阳泉银行赛鱼支行"),
    ("食用油(5L)", 80, "共建单位 赛鱼街道供销社"),
    ("洗衣液", 25, "爱心商户 如意便民超市"),
    ("毛巾", 10, "爱心商户 如意便民超市"),
    ("牙膏", 8, "共建单位 区卫健局"),
    ("挂面", 12, "爱心商户 赛鱼粮油店"),
    ("鸡蛋(30枚)", 30, "共建单位 阳泉银行赛鱼支行"),
    ("保温杯", 40, "共建单位 区总工会"),
]
WISHES = [  # (the kind of beneficiary it suits, title, category, budget)
    ("elderly_alone", "一台收音机", "daily", 120),
    ("elderly_alone", "一副老花镜", "health", 80),
    ("empty_nest", "陪同去医院复查", "company", 50),
    ("low_income", "一床冬被", "daily", 200),
    ("left_behind_child", "一个新书包", "study", 100),
    ("left_behind_child", "一套课外读物", "study", 150),
    ("empty_nest", "安装扶手", "health", 300),
    ("elderly_alone", "一个电热水壶", "daily", 90),
    ("low_income", "一件羽绒服", "daily", 260),
    ("empty_nest", "教我用智能手机视频", "company", 20),
]
NEED_TAGS = ("low_income", "elderly_alone", "empty_nest", "disabled", "left_behind_child")


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))


async def load_volunteers(session: AsyncSession, ctx: dict[str, Any]) -> None:
    rng = random.Random(20261202)
    areas, users, settings = ctx["areas"], ctx["users"], ctx["settings"]
    areas_by_id = {a.id: a for a in areas.values()}
    community = areas[data.RUYIZHUANG]
    admin = _principal(users["community_ruyizhuang"], areas_by_id)
    grids = [areas[data.grid(data.RUYIZHUANG, n)] for n in range(1, 7)]
    worker = {g.id: _principal(users[f"grid_ruyizhuang_{n}"], areas_by_id) for n, g in enumerate(grids, start=1)}
    now = clock.now()
    this_year = now.astimezone(SHANGHAI).year

    async def volunteer(kind: str, area: Area, **extra: Any) -> Any:
        body = {"kind": kind, "name": extra.pop("name", None) or _name(rng), "area_id": area.id, **extra}
        return await volunteers.create_volunteer(session, worker[area.id], body, settings)

    # 人才信息库: 150 people by category.
    talents = []
    for i in range(TALENTS):
        category = CATEGORIES[i % len(CATEGORIES)]
        talents.append(
            await volunteer(
                "resident",
                grids[i % len(grids)],
                talent_category=category,
                skills=SKILLS[category],
                availability=rng.choice(("周末", "工作日晚上", "随时")),
            )
        )
    # 在职党员 / 双报到: 214 Party members.
    members = [
        await volunteer(
            "party_member", grids[i % len(grids)], party_registration=("in_service", "double", "local")[i % 3]
        )
        for i in range(PARTY_MEMBERS)
    ]
    students = [await volunteer("student", grids[i % len(grids)]) for i in range(STUDENTS)]
    units = [
        await volunteer("unit", grids[0], name=name)
        for name in ("阳泉银行赛鱼支行", "区卫健局", "赛鱼街道供销社", "区总工会")
    ]

    # 86 households in need (the archive's own, then new ones in the community's buildings).
    in_need = sa.select(Household).where(in_subtree(Household.area_id, community.path)).order_by(Household.address)
    households = list((await session.execute(in_need)).scalars())[:HOUSEHOLDS]
    buildings = list(
        (await session.execute(sa.select(Building).where(in_subtree(Building.area_id, community.path)))).scalars()
    )
    n = 0
    while len(households) < HOUSEHOLDS:
        n += 1
        building = buildings[n % len(buildings)]
        who = worker.get(building.area_id) or admin
        household = await residents.create_household(
            session, who, {"building_id": building.id, "address": f"{building.name}{n % 4 + 1}单元{100 + n}室"}
        )
        households.append(household)
    # The wishes are for the archive's residents of the community, those with a tag of need first.
    people = sa.select(Resident).where(in_subtree(Resident.area_id, community.path)).order_by(Resident.name)
    archive = list((await session.execute(people)).scalars())
    beneficiaries = [r for r in archive if set(r.tags) & set(NEED_TAGS)] + [r for r in archive if not r.tags]

    # 帮扶对子: 214 Party members with 86 households (two or three helpers each), weekly to monthly.
    made = []
    for i, member in enumerate(members):
        household = households[i % len(households)]
        frequency = ("weekly", "monthly", "festival")[i % 3] if i % 7 else "weekly"
        made.append(
            await pairings.create(
                session,
                admin,
                {
                    "household_id": household.id,
                    "helper_id": member.id,
                    "frequency": frequency,
                    "started_on": (now - dt.timedelta(days=200)).date(),
                },
            )
        )
    # 179 home visits and 800-odd scheduled calls (定时电话), spread over the past half year; about one
    # pairing in six is left without a recent visit, so the due / overdue lists have something to show.
    active = [p for i, p in enumerate(made) if i % 6]
    for k in range(HOME_VISITS + PHONE_CALLS):
        p = active[k % len(active)]
        days_ago = rng.randint(0, 40) if k % 3 else rng.randint(0, 180)
        at = now - dt.timedelta(days=days_ago, hours=rng.randint(0, 8))
        await pairings.add_visit(
            session,
            worker.get(p.area_id) or admin,
            p,
            {"visited_at": at, "mode": "home" if k < HOME_VISITS else "phone", "notes": None},
        )

    # Service records, verified: every talent, student and Party member has served; students more often.
    servers = [*talents, *students, *members[:60]]
    for i, v in enumerate(servers):
        times = rng.randint(4, 12) if v in students else rng.randint(1, 4)
        for t in range(times):
            day = (now - dt.timedelta(days=3 + t * 9 + i % 5)).astimezone(SHANGHAI).date()
            start = dt.datetime.combine(day, dt.time(8 + (i % 6)), tzinfo=SHANGHAI)
            record = await volunteers.create_record(
                session,
                worker[v.area_id],
                {
                    "volunteer_id": v.id,
                    "activity_type": "elderly_care" if t % 2 else "cleaning",
                    "activity": "陪伴独居老人" if t % 2 else "楼道清扫",
                    "started_at": start,
                    "ended_at": start + dt.timedelta(hours=rng.choice((2, 3, 4))),
                },
            )
            if t or i % 10:  # a few records wait for verification
                await volunteers.verify_record(session, admin, record)
    await volunteers.put_rules(
        session,
        admin,
        community.id,
        {
            "points_per_hour": {"default": 10, "elderly_care": 15},
            "daily_cap_minutes": 480,
            "wish_claim_days": 14,
            "wish_points": 20,
            "points_expiry_days": None,
        },
    )

    # 爱心超市: donations in, 836 items handed out to 142 people.
    items = []
    for name, points, donor in SHOP:
        item = await shop.create_item(
            session, admin, {"area_id": community.id, "name": name, "points": points, "stock": 0}
        )
        items.append(await shop.donate(session, admin, item, {"donor": donor, "quantity": 400}))
    takers = servers[:PEOPLE_SERVED_BY_SHOP]
    quantities = [ITEMS_HANDED_OUT // PEOPLE_SERVED_BY_SHOP] * PEOPLE_SERVED_BY_SHOP
    for i in range(ITEMS_HANDED_OUT - sum(quantities)):
        quantities[i] += 1
    for v, quantity in zip(takers, quantities, strict=True):
        await volunteers.grant(session, admin, v, quantity * 12, "爱心超市兑换积分(年度活动奖励)")
        first = rng.randint(1, quantity - 1)  # two of the everyday goods (at most 12 points each)
        for k, q in enumerate((first, quantity - first)):
            item = items[3 + (k + rng.randint(0, 2)) % 3]
            await shop.redeem(session, admin, {"volunteer_id": v.id, "item_id": item.id, "quantity": q})

    # 微心愿 at every stage.
    for i, (_, title, category, budget) in enumerate(WISHES):
        beneficiary = beneficiaries[i % len(beneficiaries)]
        wish = await wishes.create(
            session,
            worker.get(beneficiary.area_id) or admin,
            {"resident_id": beneficiary.id, "title": title, "category": category, "budget_cap": budget},
        )
        claimer = (units + members)[i]
        if i % 5 == 4:
            continue  # open on the wall
        wish = await wishes.claim(session, admin, wish, claimer.id)
        if i % 5 == 3:
            continue
        wish = await wishes.fulfil(session, wish, f"wishes/{wish.id}.jpg")
        if i % 5 != 2:
            await wishes.confirm(session, admin, wish, "grid_worker" if i % 2 else "beneficiary")

    # 幸福交换站: a few requests paid in hours.
    for i in range(6):
        requester, helper = talents[i + 1], talents[i + 21]
        req = await timebank.create(
            session,
            admin,
            {"requester_id": requester.id, "title": ("接送孩子", "修理水龙头", "代买药品")[i % 3], "minutes": 60},
        )
        if i % 3 == 2:
            continue
        req = await timebank.claim(session, admin, req, helper.id)
        if i % 3 == 0:
            await timebank.confirm(session, admin, req)
    ctx["volunteers_year"] = this_year
