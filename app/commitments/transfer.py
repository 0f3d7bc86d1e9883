"""Officials keep their lists in Excel: reading a list from CSV or XLSX, writing progress as XLSX.

A sheet has a header row and one row per item. Columns (Chinese or English names):
类别 / category (小区治理类 · 帮扶关爱类 · 服务活动类, or governance · care · service), 事项 / title,
内容 / description, 责任人 / responsible, 预算 / budget_yuan (yuan; ``100万`` too), 目标 / target (the
recurring target in words, e.g. ``每月10日`` or ``全年不少于5次``; empty: read from the description).
An import is all or nothing: every row is checked and each error names its row and column.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any
from xml.etree import ElementTree

import xlsxwriter

from app.commitments import targets
from app.commitments.models import CATEGORY_LABELS, Category
from app.commitments.public import Summary
from app.commitments.schemas import ListDetail
from app.errors import ValidationFailed, field_error

COLUMNS = {
    "category": ("类别", "category", "实事类型"),
    "title": ("事项", "title", "名称", "实事"),
    "description": ("内容", "description", "具体内容"),
    "responsible": ("责任人", "responsible", "责任单位"),
    "budget_yuan": ("预算", "budget_yuan", "预算(元)"),
    "target": ("目标", "target", "频次"),
}
CATEGORY_NAMES = {
    **{label: c.value for c, label in CATEGORY_LABELS.items()},
    **{label.removesuffix("类"): c.value for c, label in CATEGORY_LABELS.items()},
    **{c.value: c.value for c in Category},
}
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
MAX_ROWS = 200


def _bad_file(message: str) -> ValidationFailed:
    return ValidationFailed(message, code="unreadable_file", errors=[field_error("file", message)])


def _xlsx_rows(data: bytes) -> list[list[str]]:
    """The first sheet's cells as text (shared and inline strings, numbers), row by row."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            shared: list[str] = []
            if "xl/sharedStrings.xml" in names:
                root = ElementTree.fromstring(z.read("xl/sharedStrings.xml"))
                shared = [
                    "".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t")) for si in root.findall("m:si", _NS)
                ]
            sheet = "xl/worksheets/sheet1.xml"
            if sheet not in names:
                raise _bad_file("the workbook has no first sheet")
            root = ElementTree.fromstring(z.read(sheet))
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError) as exc:
        raise _bad_file("not a readable XLSX workbook") from exc
    rows: list[list[str]] = []
    for row in root.iter(f"{{{_NS['m']}}}row"):
        cells: dict[int, str] = {}
        for c in row.findall("m:c", _NS):
            ref = c.get("r", "")
            letters = re.match(r"[A-Z]+", ref)
            col = 0
            for ch in letters[0] if letters else "A":
                col = col * 26 + ord(ch) - 64
            kind, v = c.get("t"), c.find("m:v", _NS)
            if kind == "s" and v is not None and v.text is not None and v.text.isdigit() and int(v.text) < len(shared):
                cells[col - 1] = shared[int(v.text)]
            elif kind == "inlineStr":
                cells[col - 1] = "".join(t.text or "" for t in c.iter(f"{{{_NS['m']}}}t"))
            elif v is not None and v.text is not None:
                text = v.text
                cells[col - 1] = text[:-2] if text.endswith(".0") else text
        if cells:
            rows.append([cells.get(i, "") for i in range(max(cells) + 1)])
    return rows


def _csv_rows(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _bad_file("CSV must be UTF-8 or GB18030 text")
    if "\x00" in text:
        raise _bad_file("CSV must not contain NUL characters")
    return [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]


def read_rows(data: bytes, filename: str | None) -> list[list[str]]:
    is_xlsx = data[:2] == b"PK" or (filename or "").lower().endswith(".xlsx")
    return _xlsx_rows(data) if is_xlsx else _csv_rows(data)


def _budget(text: str) -> int:
    text = text.replace(",", "").replace(",", "").replace("元", "").strip()
    if m := re.fullmatch(r"(\d+(?:\.\d+)?)\s*万", text):
        return round(float(m[1]) * 10_000)
    value = float(text)
    if not 0 <= value <= 10**12:
        raise ValueError(text)
    return round(value)


def items_from_rows(rows: list[list[str]], max_items: int) -> list[dict[str, Any]]:
    """The items of a sheet, or 422 ``import_invalid`` listing every row's errors."""
    if not rows:
        raise _bad_file("the file has no rows")
    header = [h.strip().lower() for h in rows[0]]
    index: dict[str, int] = {}
    for key, names in COLUMNS.items():
        for i, h in enumerate(header):
            if h in {n.lower() for n in names}:
                index[key] = i
    missing = [COLUMNS[k][0] for k in ("category", "title") if k not in index]
    if missing:
        raise ValidationFailed(
            f"The header row needs the columns {', '.join(missing)}.",
            code="import_invalid",
            errors=[field_error("rows.1", f"missing column {m}") for m in missing],
        )
    body = rows[1:]
    errors: list[dict[str, Any]] = []
    if len(body) > min(max_items, MAX_ROWS):
        errors.append(field_error("rows", f"at most {max_items} items"))
    items: list[dict[str, Any]] = []
    for n, row in enumerate(body[:MAX_ROWS], start=2):

        def cell(key: str, row: list[str] = row) -> str:
            i = index.get(key)
            return row[i].strip() if i is not None and i < len(row) else ""

        item: dict[str, Any] = {"description": cell("description"), "responsible": cell("responsible") or None}
        category = CATEGORY_NAMES.get(cell("category"))
        if category is None:
            errors.append(field_error(f"rows.{n}.category", "小区治理类 / 帮扶关爱类 / 服务活动类"))
        item["category"] = category
        title = cell("title")
        if not title or len(title) > 200:
            errors.append(field_error(f"rows.{n}.title", "required, at most 200 characters"))
        item["title"] = title
        if len(item["description"]) > 10_000:
            errors.append(field_error(f"rows.{n}.description", "at most 10,000 characters"))
        if cell("budget_yuan"):
            try:
                item["budget_yuan"] = _budget(cell("budget_yuan"))
            except ValueError:
                errors.append(field_error(f"rows.{n}.budget_yuan", "an amount in yuan, e.g. 1000000 or 100万"))
        target = cell("target")
        item["schedule"] = targets.parse(target or item["description"] or title)
        if target and item["schedule"] is None:
            errors.append(field_error(f"rows.{n}.target", "not understood; e.g. 每月10日, 每季度, 全年不少于5次"))
        if any("\x00" in str(v) for v in item.values() if v):
            errors.append(field_error(f"rows.{n}", "must not contain NUL characters"))
        items.append(item)
    if errors:
        raise ValidationFailed(
            f"The file has {len(errors)} errors; nothing was imported.", code="import_invalid", errors=errors
        )
    return items


STATUS_TEXT = {"on_track": "按计划推进", "behind": "进度滞后", "done": "已完成"}


def progress_xlsx(detail: ListDetail, summary: Summary) -> bytes:
    """One sheet: each item's class, target, progress and ratings, then the totals."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("实事进度")
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, [f"{detail.area_name}{detail.year}年一年10件实事进度"], bold)
    head = [
        "序号",
        "类别",
        "事项",
        "预算(元)",
        "计划次数",
        "应办",
        "已办",
        "完成度(%)",
        "进度",
        "满意",
        "基本满意",
        "不满意",
    ]
    sheet.write_row(2, 0, head, bold)
    for r, item in enumerate(detail.items, start=3):
        p, rt = item.progress, item.ratings
        sheet.write_row(
            r,
            0,
            [
                item.position,
                CATEGORY_LABELS[Category(item.category)],
                item.title,
                item.budget_yuan if item.budget_yuan is not None else "",
                p.total,
                p.expected,
                p.done,
                p.percent,
                STATUS_TEXT[p.status],
                rt.satisfied,
                rt.basically_satisfied,
                rt.dissatisfied,
            ],
        )
    last = 3 + len(detail.items) + 1
    sheet.write_row(
        last,
        0,
        [
            "合计",
            "",
            f"{summary.items}项",
            "",
            "",
            "",
            "",
            "",
            f"滞后{summary.behind} 完成{summary.done}",
            summary.satisfied,
            summary.basically_satisfied,
            summary.dissatisfied,
        ],
        bold,
    )
    sheet.set_column(2, 2, 40)
    book.close()
    return out.getvalue()
