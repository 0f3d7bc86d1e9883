"""A migration that would lose data is refused.

Every revision declares what it destroys, at module level:

    destructive = ["old_table", "issues.legacy_note"]          # upgrade() drops or narrows these
    destructive_downgrade = ["issues"]                          # downgrade() drops these

An entry is a table (the whole table goes) or ``table.column`` (the column is dropped or its type
narrowed). Before alembic runs any step, :func:`check` looks at the declared tables and columns:
when one of them still holds data (a row, or a non-NULL value in the column) the run is refused
with :class:`DataLossRefused`, unless the caller allowed data loss (``minqing migrate
--allow-data-loss``, or ``alembic -x allow_data_loss=true``). Empty tables pass, so a fresh
database migrates and round-trips freely.

Downgrades drop what their upgrade created, so they are destructive by nature: they declare it like
upgrades and are refused the same way once real data exists.

``tests/system/test_migration_guard.py`` reads every revision's source and requires a declaration
for each ``drop_table``, ``drop_column`` and ``alter_column(type_=…)`` (and raw ``DROP TABLE``,
``DROP COLUMN``, ``ALTER COLUMN … TYPE``), except on tables created by the same function.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


class DataLossRefused(RuntimeError):
    """The migration would drop or narrow data that exists; rerun with --allow-data-loss to accept."""


@dataclass(frozen=True)
class Loss:
    revision: str
    direction: str
    target: str
    rows: int

    def __str__(self) -> str:
        return f"{self.direction} {self.revision}: {self.target} holds {self.rows} row(s)"


def declared(module: ModuleType, *, upgrade: bool) -> list[str]:
    return list(getattr(module, "destructive" if upgrade else "destructive_downgrade", []) or [])


def _rows_at_risk(connection: Connection, target: str) -> int:
    table, _, column = target.partition(".")
    if connection.execute(sa.text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
        return 0
    quoted = connection.dialect.identifier_preparer.quote
    sql = f"SELECT count(*) FROM (SELECT 1 FROM {quoted(table)}"
    if column:
        exists = connection.execute(
            sa.text("SELECT 1 FROM information_schema.columns WHERE table_name = :t AND column_name = :c"),
            {"t": table, "c": column},
        ).scalar()
        if exists is None:
            return 0
        sql += f" WHERE {quoted(column)} IS NOT NULL"
    # Counting stops early: the message needs "holds data", not an exact size of a large table.
    return int(connection.execute(sa.text(sql + " LIMIT 1000) AS sample")).scalar() or 0)


def losses(connection: Connection, steps: Iterable[Any]) -> list[Loss]:
    """What the alembic ``steps`` (``RevisionStep``s) would destroy in this database."""
    found: list[Loss] = []
    for step in steps:
        module = step.revision.module
        direction = "upgrade" if step.is_upgrade else "downgrade"
        for target in declared(module, upgrade=step.is_upgrade):
            rows = _rows_at_risk(connection, target)
            if rows:
                found.append(Loss(step.revision.revision, direction, target, rows))
    return found


def check(connection: Connection, steps: Iterable[Any], *, allow_data_loss: bool) -> list[Loss]:
    """Refuse the run when a step would destroy data, unless ``allow_data_loss``; return what is lost."""
    found = losses(connection, steps)
    if found and not allow_data_loss:
        listing = "\n  ".join(str(loss) for loss in found)
        raise DataLossRefused(
            f"This migration would lose data:\n  {listing}\n"
            "Back up the database, then rerun with --allow-data-loss (alembic: -x allow_data_loss=true)."
        )
    return found


# --- static scan of revision sources (used by the tests) ---------------------------------------

_RAW_DESTRUCTIVE = re.compile(
    r"\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?P<drop_table>\w+)"
    r"|\bALTER\s+TABLE\s+(?P<alter_table>\w+)\s+(?:DROP\s+COLUMN\s+(?:IF\s+EXISTS\s+)?(?P<drop_col>\w+)"
    r"|ALTER\s+COLUMN\s+(?P<type_col>\w+)\s+(?:SET\s+DATA\s+)?TYPE\b)",
    re.IGNORECASE,
)


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _arg(call: ast.Call, index: int, name: str) -> str | None:
    if len(call.args) > index:
        return _literal(call.args[index])
    return next((_literal(k.value) for k in call.keywords if k.arg == name), None)


def destructive_operations(function: Callable[..., Any]) -> set[str]:
    """Tables and ``table.column``s that ``function`` (an upgrade or downgrade) drops or retypes.

    Tables the same function creates are left out: changing a table made a moment ago loses nothing.
    A call whose names are not string literals is reported as ``"?"`` so the test asks for a look.
    """
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    created: set[str] = set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name = node.func.attr
        if name == "create_table":
            created.add(_arg(node, 0, "table_name") or "?")
        elif name == "drop_table":
            found.add(_arg(node, 0, "table_name") or "?")
        elif name == "drop_column":
            table, column = _arg(node, 0, "table_name"), _arg(node, 1, "column_name")
            found.add(f"{table}.{column}" if table and column else "?")
        elif name == "alter_column" and any(k.arg == "type_" for k in node.keywords):
            table, column = _arg(node, 0, "table_name"), _arg(node, 1, "column_name")
            found.add(f"{table}.{column}" if table and column else "?")
        elif name == "execute":
            sql = _literal(node.args[0]) if node.args else None
            for m in _RAW_DESTRUCTIVE.finditer(sql or ""):
                if m["drop_table"]:
                    found.add(m["drop_table"])
                elif m["drop_col"]:
                    found.add(f"{m['alter_table']}.{m['drop_col']}")
                elif m["type_col"]:
                    found.add(f"{m['alter_table']}.{m['type_col']}")
    return {target for target in found if target.partition(".")[0] not in created}


def undeclared(module: ModuleType) -> dict[str, set[str]]:
    """Destructive operations of a revision module that its declarations do not cover."""
    missing: dict[str, set[str]] = {}
    for direction, upgrade in (("upgrade", True), ("downgrade", False)):
        covered = set(declared(module, upgrade=upgrade))
        if not upgrade:
            # Tables holding only the revision's own seed rows (configuration it created) are
            # dropped with it without a check: the rows come back with the upgrade.
            covered |= set(getattr(module, "seeded_downgrade", []) or [])
        ops = destructive_operations(getattr(module, direction))
        # Declaring a table covers its columns.
        gap = {t for t in ops if t not in covered and t.partition(".")[0] not in covered}
        if gap:
            missing[direction] = gap
    return missing
