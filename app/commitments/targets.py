"""Reading a recurring target out of a commitment's wording, as the county's notices phrase them.

``每月10日组织社区清洁日`` → monthly on the 10th; ``每季度末向居民公示`` → quarterly; ``全年割除杂草5次`` /
``全年不少于5次`` → at least 5 a year; ``暑期…不少于2次`` → twice in July–August; ``一年进行1-2次维护``
→ between 1 and 2 a year; ``每月对…检查`` → monthly (by the month's end); ``开展1次`` / ``开展两次`` →
at least that many; ``实现10户残疾人微心愿`` → 10 (one per household). The first rule that matches
wins, in that order; no match: done once within the year. A suggestion for the person drawing up
the list (imports and the demo use it), never applied over a schedule given explicitly.
"""

from __future__ import annotations

import re
from typing import Any

_NUMERALS = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_N = r"(\d+|[一两二三四五六七八九十])"

SUMMER = {"start": "07-01", "end": "08-31"}


def _n(text: str) -> int:
    return int(text) if text.isdigit() else _NUMERALS[text]


def parse(text: str) -> dict[str, Any] | None:
    if m := re.search(rf"一年(?:进行)?{_N}\s*[-~—至到]\s*{_N}次", text):
        low, high = _n(m[1]), _n(m[2])
        return {"kind": "range", "min": min(low, high), "max": max(low, high)}
    if m := re.search(rf"暑期[^。;;]*?不少于{_N}次", text):
        return {"kind": "season", "times": _n(m[1]), **SUMMER}
    if m := re.search(r"每月(\d{1,2})日", text):
        return {"kind": "monthly", "day": min(int(m[1]), 31)}
    if m := re.search(rf"全年[^。;;]*?{_N}次", text):
        return {"kind": "at_least", "times": _n(m[1])}
    if "每季度" in text:
        return {"kind": "quarterly"}
    if "每月" in text:
        return {"kind": "monthly", "day": 31}
    if m := re.search(rf"(?:开展|组织|举办){_N}次", text):
        return {"kind": "at_least", "times": _n(m[1])}
    if m := re.search(rf"实现{_N}户", text):
        return {"kind": "at_least", "times": _n(m[1])}
    return None


def split(text: str) -> tuple[str, str]:
    """A notice's item as (title, description): the first sentence or clause is the title."""
    m = re.match(r"(.{4,60}?[。;;])", text)
    if m and len(m[1]) < len(text):
        return m[1][:-1], text
    head = re.split(r"[,,]", text, maxsplit=1)[0]
    return (head if len(head) <= 60 else head[:60]).rstrip("。"), text


def budget_yuan(text: str) -> int | None:
    """``项目预计投入100万元资金`` → 1,000,000."""
    if m := re.search(r"(\d+(?:\.\d+)?)\s*万元", text):
        return round(float(m[1]) * 10_000)
    return None
