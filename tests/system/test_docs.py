"""The documents the code cites are in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CITED = re.compile(r"(?<![\w/.-])((?:[\w-]+/)*[\w-]+\.md)\b")


def test_every_cited_markdown_document_exists():
    sources = [
        *ROOT.joinpath("app").rglob("*.py"),
        *ROOT.joinpath("migrations").rglob("*.py"),
        *ROOT.joinpath("tests").rglob("*.py"),
        *ROOT.joinpath("bench").rglob("*.py"),
        ROOT / "README.md",
        *ROOT.joinpath("docs").rglob("*.md"),
        ROOT / "bench" / "README.md",
    ]
    # A bare file name (``latest.md``) may name any document of the repository.
    names = {p.name for p in ROOT.rglob("*.md") if ".venv" not in p.parts and "var" not in p.parts}
    missing = set()
    for source in sources:
        for cited in CITED.findall(source.read_text(encoding="utf-8")):
            found = (ROOT / cited).exists() or (source.parent / cited).exists() or ("/" not in cited and cited in names)
            if not found:
                missing.add(f"{source.relative_to(ROOT)} cites {cited}")
    assert sorted(missing) == []
