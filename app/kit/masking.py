"""Masking of personal data (个人信息去标识化) for every response by default."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str | None:
    """``13812341234`` → ``138****1234``; short or odd numbers keep only their last two digits."""
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) <= 2:
        return "*" * len(digits)
    return "*" * (len(digits) - 2) + digits[-2:]


def mask_id_number(value: str | None) -> str | None:
    """``61012419800101123X`` → ``610***********123X`` (first 3 and last 4 kept)."""
    if not value:
        return value
    v = value.strip()
    if len(v) <= 7:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


def mask_name(name: str | None) -> str | None:
    """``周贵领`` → ``周**``: the surname alone is kept."""
    if not name:
        return name
    n = name.strip()
    return n[:1] + "*" * max(len(n) - 1, 1)
