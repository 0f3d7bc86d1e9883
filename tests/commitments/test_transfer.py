"""Lists from Excel and progress to Excel: import all or nothing with errors per row; export."""

from __future__ import annotations

import io

import xlsxwriter

from app.commitments.transfer import read_rows
from tests.commitments.helpers import CA, GW, Clock, activity, published
from tests.world import AREA

HEADER = "类别,事项,内容,责任人,预算,目标\n"
ROWS = (
    "小区治理类,社区清洁日,每月10日组织社区清洁日活动,社区党支部,,\n"
    '帮扶关爱类,市民课堂,定期举办市民课堂全年不少于5次,,"20,000",\n'
    "服务活动类,设施大棚,建设现代化设施大棚,党支部,100万,\n"
    "服务活动类,夏日送清凉,志愿服务,,,暑期不少于2次\n"
)


def _url(year: int = 2026, area: str = "C") -> str:
    return f"/api/v1/commitment-lists/import?year={year}&area_id={AREA[area].id}"


async def test_a_csv_list_is_imported_with_its_targets(client):
    files = {"file": ("清单.csv", (HEADER + ROWS).encode("utf-8-sig"), "text/csv")}
    r = await client.post(_url(), files=files, headers=CA)
    assert r.status_code == 201, r.text
    items = r.json()["items"]
    assert r.json()["status"] == "draft"
    assert [(i["category"], i["title"]) for i in items] == [
        ("governance", "社区清洁日"),
        ("care", "市民课堂"),
        ("service", "设施大棚"),
        ("service", "夏日送清凉"),
    ]
    assert [i["schedule"] for i in items] == [
        {"kind": "monthly", "day": 10},
        {"kind": "at_least", "times": 5},
        None,
        {"kind": "season", "times": 2, "start": "07-01", "end": "08-31"},
    ]
    assert [i["budget_yuan"] for i in items] == [None, 20_000, 1_000_000, None]
    assert items[0]["responsible"] == "社区党支部"


async def test_an_import_with_errors_imports_nothing_and_names_each_row(client):
    bad = HEADER + "治理,清洁日,,,,\n小区治理类,,内容,,,\n服务活动类,x,,,一百,\n服务活动类,y,,,,每周二\n"
    r = await client.post(_url(), files={"file": ("x.csv", bad.encode(), "text/csv")}, headers=CA)
    assert r.status_code == 422 and r.json()["code"] == "import_invalid"
    fields = [e["field"] for e in r.json()["errors"]]
    assert fields == ["rows.2.category", "rows.3.title", "rows.4.budget_yuan", "rows.5.target"]
    r = await client.get(f"/api/v1/commitment-lists?area_id={AREA['C'].id}", headers=CA)
    assert r.json()["items"] == []
    eleven = HEADER + "".join(f"服务活动类,事项{n},,,,\n" for n in range(11))
    r = await client.post(_url(), files={"file": ("x.csv", eleven.encode(), "text/csv")}, headers=CA)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rows"
    r = await client.post(_url(), files={"file": ("x.xlsx", b"PK not a zip", "application/zip")}, headers=CA)
    assert r.status_code == 422 and r.json()["code"] == "unreadable_file"


async def test_an_xlsx_list_is_imported(client):
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    for r, line in enumerate((HEADER + ROWS).splitlines()):
        cells = next(__import__("csv").reader([line]))
        for c, value in enumerate(cells):
            if value.isdigit():
                sheet.write_number(r, c, int(value))
            else:
                sheet.write_string(r, c, value)
    book.close()
    files = {"file": ("清单.xlsx", out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
    r = await client.post(_url(2027), files=files, headers=CA)
    assert r.status_code == 201, r.text
    assert [i["title"] for i in r.json()["items"]] == ["社区清洁日", "市民课堂", "设施大棚", "夏日送清凉"]


async def test_progress_is_exported_as_xlsx(client, monkeypatch):
    Clock(monkeypatch).at("2026-03-11 09:00")
    lst = await published(client)
    await activity(client, [lst["items"][0]["id"]], "2026-01-10T09:00:00+08:00")
    r = await client.get(f"/api/v1/commitment-lists/{lst['id']}/export.xlsx", headers=GW)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = read_rows(r.content, "x.xlsx")
    assert rows[0][0] == "测试社区2026年一年10件实事进度"
    assert rows[1][:9] == ["序号", "类别", "事项", "预算(元)", "计划次数", "应办", "已办", "完成度(%)", "进度"]
    assert rows[2][:9] == ["1", "小区治理类", "每月10日组织社区清洁日", "", "12", "3", "1", "8", "进度滞后"]
    r = await client.get(f"/api/v1/commitment-lists/{lst['id']}/export.xlsx", headers={**CA})
    assert r.status_code == 200
