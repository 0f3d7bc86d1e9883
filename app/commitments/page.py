"""The public notice as a self-contained HTML page: rendered on the server from the same figures as
the JSON (no script, no external resources), printable, readable on a phone."""

from __future__ import annotations

from html import escape

from app.commitments.models import CATEGORY_LABELS, Category
from app.commitments.public import PublicList, PublicNotice, Summary
from app.commitments.workflow import STATUS_LABELS, ListStatus

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "X-Content-Type-Options": "nosniff",
}
STATUS_TEXT = {"on_track": "按计划推进", "behind": "进度滞后", "done": "已完成"}
STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:16px;color:#222}
body{background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:24px 0 8px}
.muted{color:#666;font-size:13px}
table{border-collapse:collapse;width:100%;background:#fff;margin:8px 0}
th,td{border:1px solid #ddd;padding:6px 8px;font-size:14px;text-align:left;vertical-align:top}
th{background:#f0f0f0}
.on_track{color:#1a7f37}.behind{color:#c62828;font-weight:bold}.done{color:#0b5cad}
.bar{background:#eee;height:8px;width:100px;display:inline-block;vertical-align:middle}
.bar span{display:block;height:8px;background:#1a7f37}
.n{text-align:right;font-variant-numeric:tabular-nums}
"""


def _pct(share: str | None) -> str:
    return "—" if share is None else f"{float(share) * 100:.2f}%"


def _summary_row(label: str, s: Summary, extra: str = "") -> str:
    cells = [
        escape(label),
        *(str(v) for v in (s.items, s.on_track, s.behind, s.done, s.rated_items, s.ratings)),
        _pct(s.on_course_rate),
        _pct(s.satisfaction),
    ]
    first, *rest = cells
    return f"<tr{extra}><td>{first}</td>" + "".join(f'<td class="n">{c}</td>' for c in rest) + "</tr>"


SUMMARY_HEAD = (
    "<tr><th></th><th>公示事项</th><th>按计划</th><th>滞后</th><th>已完成</th><th>已评价事项</th>"
    "<th>评价数</th><th>推进率</th><th>满意率</th></tr>"
)


def _list_section(entry: PublicList) -> str:
    status = STATUS_LABELS.get(ListStatus(entry.status), entry.status)
    rows = []
    for item in entry.items:
        p, r = item.progress, item.ratings
        budget = f"{item.budget_yuan:,} 元" if item.budget_yuan is not None else ""
        rows.append(
            f'<tr data-position="{item.position}" data-status="{p.status}">'
            f'<td class="n">{item.position}</td>'
            f"<td>{escape(CATEGORY_LABELS.get(Category(item.category), item.category))}</td>"
            f"<td><b>{escape(item.title)}</b><div class=muted>{escape(item.description)}</div></td>"
            f'<td class="n">{escape(budget)}</td>'
            f'<td class="n" data-field="done">{p.done}</td><td class="n" data-field="expected">{p.expected}</td>'
            f'<td class="n" data-field="total">{p.total}</td>'
            f'<td><span class=bar><span style="width:{p.percent}%"></span></span> '
            f'<span data-field="percent">{p.percent}</span>%</td>'
            f'<td class="{p.status}">{STATUS_TEXT[p.status]}</td>'
            f'<td class="n" data-field="ratings">{r.satisfied}/{r.basically_satisfied}/{r.dissatisfied}</td>'
            "</tr>"
        )
    return (
        f'<section data-area="{entry.area_id}"><h2>第{entry.rank}名 · {escape(entry.area_name)} · '
        f"{escape(entry.title)} <span class=muted>({escape(status)})</span></h2>"
        f"<table><tr><th>#</th><th>类别</th><th>事项</th><th>预算</th><th>已办</th><th>应办</th><th>计划</th>"
        f"<th>完成度</th><th>进度</th><th>满意/基本满意/不满意</th></tr>{''.join(rows)}</table></section>"
    )


def render(notice: PublicNotice) -> str:
    streets = "".join(_summary_row(s.area_name, s.summary) for s in notice.streets)
    communities = "".join(_summary_row(f"{e.rank}. {e.area_name}", e.summary) for e in notice.lists)
    empty = "" if notice.lists else "<p>暂无公示清单。</p>"
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(notice.area_name)}{notice.year}年一年10件实事公示</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(notice.area_name)}{notice.year}年“一年10件实事”公示</h1>"
        f'<p class=muted>进度截至 <time id="as-of">{notice.as_of.isoformat()}</time>(北京时间),'
        "按计划应办与已办次数计算。</p>"
        f'<table id="summary">{SUMMARY_HEAD}{_summary_row("合计", notice.summary, " id=total")}{streets}</table>'
        f'<h2>社区排名</h2><table id="ranking">{SUMMARY_HEAD}{communities}</table>'
        f"{empty}{''.join(_list_section(e) for e in notice.lists)}"
        "</body></html>"
    )
