"""CSV and XLSX exports of an issue list (导出): same filters and scope as the list, masked.

Rows are bounded by :data:`MAX_ROWS`; larger requests get 422 ``export_too_large`` so a partial
file is never mistaken for a complete one. CSV streams from a server-side cursor in a session of
its own (the request's transaction has committed by then) and starts with a UTF-8 BOM so Excel
opens Chinese text correctly. XLSX is written by xlsxwriter in ``constant_memory`` mode in a
worker thread, then streamed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import sqlalchemy as sa
import xlsxwriter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.issues.workflow import (
    CHANNEL_LABELS,
    KIND_LABELS,
    OUTCOME_LABELS,
    PRIORITY_LABELS,
    RATING_LABELS,
    STATUS_LABELS,
    TIER_LABELS,
)
from app.kit.masking import mask_name, mask_phone

MAX_ROWS = 50_000
BATCH = 500

HEADERS = [
    "编号",
    "标题",
    "类型",
    "分类",
    "渠道",
    "紧急程度",
    "状态",
    "处置层级",
    "所属网格",
    "地址",
    "反映人",
    "联系电话",
    "上报时间",
    "响应时限",
    "办结时限",
    "办结时间",
    "结案时间",
    "办理结果",
    "评价",
    "是否解决",
]

_LABELS: list[dict[Any, str] | None] = [
    None,
    None,
    {k.value: v for k, v in KIND_LABELS.items()},
    None,
    {k.value: v for k, v in CHANNEL_LABELS.items()},
    {k.value: v for k, v in PRIORITY_LABELS.items()},
    {k.value: v for k, v in STATUS_LABELS.items()},
    {k.value: v for k, v in TIER_LABELS.items()},
    None,
    None,
    None,
    None,
    None,
    None,
    None,
    None,
    None,
    {k.value: v for k, v in OUTCOME_LABELS.items()},
    {k.value: v for k, v in RATING_LABELS.items()},
    None,
]


def format_row(row: Sequence[Any], tz: ZoneInfo, categories: dict[str, str]) -> list[str]:
    out: list[str] = []
    for i, value in enumerate(row):
        if i == 3:
            value = categories.get(value, value)
        elif i == 10:
            value = mask_name(value)
        elif i == 11:
            value = mask_phone(value)
        elif isinstance(value, dt.datetime):
            value = value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        elif isinstance(value, bool):
            value = "是" if value else "否"
        labels = _LABELS[i]
        if labels is not None and value is not None:
            value = labels.get(value, value)
        out.append("" if value is None else _safe_cell(str(value)))
    return out


def _safe_cell(value: str) -> str:
    # Spreadsheet formula injection: a cell starting with = + - @ is shown as text.
    return "'" + value if value[:1] in {"=", "+", "-", "@"} else value


async def _rows(
    sessionmaker: async_sessionmaker[AsyncSession], stmt: sa.Select[Any]
) -> AsyncIterator[Sequence[Sequence[Any]]]:
    async with sessionmaker() as session, session.begin():
        result = await session.stream(stmt.execution_options(yield_per=BATCH))
        async for partition in result.partitions(BATCH):
            yield partition


async def csv_stream(
    sessionmaker: async_sessionmaker[AsyncSession], stmt: sa.Select[Any], tz: ZoneInfo, categories: dict[str, str]
) -> AsyncIterator[bytes]:
    yield "\ufeff".encode()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    yield buffer.getvalue().encode()
    async for partition in _rows(sessionmaker, stmt):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(format_row(r, tz, categories) for r in partition)
        yield buffer.getvalue().encode()


def _write_xlsx(path: str, rows: Iterable[list[str]]) -> None:
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = workbook.add_worksheet("诉求")
    bold = workbook.add_format({"bold": True})
    sheet.write_row(0, 0, HEADERS, bold)
    for r, row in enumerate(rows, start=1):
        sheet.write_row(r, 0, row)
    workbook.close()


async def xlsx_file(
    sessionmaker: async_sessionmaker[AsyncSession], stmt: sa.Select[Any], tz: ZoneInfo, categories: dict[str, str]
) -> str:
    """Build the workbook in a temporary file (caller deletes it); rows are at most MAX_ROWS."""
    rows: list[list[str]] = []
    async for partition in _rows(sessionmaker, stmt):
        rows.extend(format_row(r, tz, categories) for r in partition)
    fd, path = tempfile.mkstemp(prefix="minqing-export-", suffix=".xlsx")
    os.close(fd)
    await anyio.to_thread.run_sync(_write_xlsx, path, rows)
    return path


async def file_chunks(path: str, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    try:
        async with await anyio.open_file(path, "rb") as f:
            while data := await f.read(chunk):
                yield data
    finally:
        await anyio.Path(path).unlink(missing_ok=True)
