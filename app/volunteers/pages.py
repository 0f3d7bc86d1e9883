"""Self-contained HTML pages: the public wish wall (心愿墙) and a printable yearly statement.

Rendered on the server with every value escaped; nothing is loaded from elsewhere and no script runs.
"""

from __future__ import annotations

from html import escape

from app.volunteers.models import WISH_CATEGORY_LABELS, WishCategory
from app.volunteers.schemas import StatementOut, WallOut

HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "X-Content-Type-Options": "nosniff",
}
KIND_LABELS = {
    "service": "志愿服务",
    "grant": "奖励",
    "redemption": "爱心超市兑换",
    "wish": "微心愿",
    "timebank_hold": "时间银行(预扣)",
    "timebank_pay": "时间银行(收入)",
    "timebank_release": "时间银行(退回)",
    "reversal": "冲正",
}
STYLE = """
body { font-family: "PingFang SC", "Noto Sans CJK SC", sans-serif; margin: 2em; color: #222; }
h1 { color: #c0392b; } table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: .4em .6em; text-align: left; }
.wish { display: inline-block; border: 2px solid #e74c3c; border-radius: 8px; padding: .8em; margin: .4em;
        min-width: 14em; background: #fff5f3; }
.status { color: #888; font-size: .9em; }
@media print { body { margin: 0; } }
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def wall_html(wall: WallOut) -> str:
    cards = "".join(
        f"<div class='wish' data-status='{escape(item.status)}'><div class='label'>{escape(item.label)}</div>"
        f"<div class='title'>{escape(item.title)}</div>"
        f"<div class='status'>{escape(WISH_CATEGORY_LABELS[WishCategory(item.category)])} · "
        f"{'待认领' if item.status == 'open' else '已认领'}</div></div>"
        for item in wall.items
    )
    empty = "" if wall.items else "<p id='empty'>暂无心愿</p>"
    return _page(
        f"{wall.area_name} 幸福心愿站",
        f"<h1>{escape(wall.area_name)} 幸福心愿站</h1><p>共 <span id='count'>{len(wall.items)}</span> 个微心愿</p>"
        f"<section id='wall'>{cards}{empty}</section>",
    )


def statement_html(out: StatementOut) -> str:
    v = out.volunteer
    rows = "".join(
        f"<tr><td>{e.posted_at:%Y-%m-%d}</td><td>{escape(KIND_LABELS.get(e.kind, e.kind))}</td>"
        f"<td>{escape(e.memo or '')}</td><td>{'积分' if e.unit == 'points' else '分钟'}</td>"
        f"<td class='amount'>{e.amount:+d}</td></tr>"
        for e in out.entries
    )

    def cell(d: dict[str, int], unit: str) -> str:
        return str(d.get(unit, 0)) if unit == "points" else f"{d.get(unit, 0) / 60:.2f}"

    summary = "".join(
        f"<tr><th>{label}</th><td id='{key}-points'>{cell(d, 'points')}</td><td>{cell(d, 'minutes')}</td></tr>"
        for key, label, d in (
            ("opening", "年初余额", out.opening),
            ("earned", "本年获得", out.earned),
            ("spent", "本年使用", out.spent),
            ("closing", "年末余额", out.closing),
        )
    )
    return _page(
        f"{v.name} {out.year} 年度志愿服务对账单",
        f"<h1>{escape(v.name)} · {out.year} 年度志愿服务对账单</h1>"
        f"<p>服务次数(已核实): <span id='services'>{out.services}</span></p>"
        f"<table id='summary'><tr><th></th><th>积分</th><th>时长(小时)</th></tr>{summary}</table>"
        f"<h2>明细</h2><table id='entries'><tr><th>日期</th><th>类别</th><th>说明</th><th>单位</th><th>数额</th></tr>"
        f"{rows}</table>",
    )
