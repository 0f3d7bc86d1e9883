"""Summarise py-spy's collapsed stacks (``BENCH_PROFILE=var/profile make bench …``): the share of
samples spent inside each function (inclusive) and in its own code (self), over all workers of one
scenario. ``python -m bench.profile var/profile/create-issue.*.txt [--top 40] [--match app/]``."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import typer

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def _short(frame: str) -> str:
    m = FRAME.match(frame)
    if not m:
        return frame
    file = m["file"]
    for marker in ("site-packages/", "/app/", "/bench/", "lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1] if marker != "/app/" else "app/" + file.split(marker, 1)[1]
            break
    return f"{m['func']} ({file})"


def main(
    files: list[Path],
    top: int = typer.Option(40, help="rows per table"),
    match: str = typer.Option("", help="only functions whose file contains this (e.g. app/)"),
) -> None:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = [_short(f) for f in stack.split(";")]
            for f in set(frames):
                inclusive[f] += n
            own[frames[-1]] += n
    if not total:
        raise SystemExit("no samples")
    print(f"{total} samples in {len(files)} files")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"\n{title}:")
        rows = [(f, n) for f, n in counter.most_common() if match in f][:top]
        for f, n in rows:
            print(f"{100 * n / total:6.1f} %  {f}")


if __name__ == "__main__":
    typer.run(main)
