"""Which parts of ``app`` may import which: the shared layers (``kit``, the errors, the settings, the
database, the request middleware) import no domain, no domain imports another's endpoints, and the
dependencies between domains that would close a loop stay out. Imports inside functions count too:
a lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
DOMAINS = frozenset(
    {
        "audit",
        "auth",
        "commitments",
        "consultation",
        "demo",
        "diary",
        "events",
        "grids",
        "integrations",
        "issues",
        "mediation",
        "residents",
        "stats",
        "sync",
        "system",
        "volunteers",
    }
)
SHARED = ("kit", "errors", "config", "db", "middleware", "observability", "replicas")


def _module(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "app":
                found.update(f"app.{alias.name}" for alias in node.names)
            elif node.module.startswith("app."):
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("app."))
    return found


def _graph() -> dict[str, set[str]]:
    return {_module(path): _imports(path) for path in APP.rglob("*.py")}


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def test_the_graph_is_read() -> None:
    graph = _graph()
    assert "app.kit.routes" in graph and "app.issues.intake" in graph
    assert "app.scope" in graph["app.kit.routes"]  # the reader sees `from app.scope import Principal`


@pytest.mark.parametrize("layer", SHARED)
def test_shared_layers_import_no_domain(layer: str) -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        if _part(module) == layer
        for target in targets
        if _part(target) in DOMAINS
    )
    assert upward == []


def test_no_module_imports_another_domains_endpoints() -> None:
    crossing = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        if _part(module) in DOMAINS
        for target in targets
        if target.rsplit(".", 1)[-1] == "endpoints" and _part(target) != _part(module)
    )
    assert crossing == []


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        ("issues", "diary"),  # the diary reacts to issue events; issues know nothing of the diary
        ("auth", "integrations"),
        ("auth", "grids"),
        ("sync", "issues"),
    ],
)
def test_a_lower_domain_does_not_import_a_higher_one(lower: str, upper: str) -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        if _part(module) == lower
        for target in targets
        if _part(target) == upper
    )
    assert upward == []


def test_endpoints_call_services_not_repositories() -> None:
    """An endpoint reads and writes through its domain's services: it imports no repository and
    reaches none through a service module (``service.repository.…``)."""
    reaching = []
    for path in APP.rglob("endpoints.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
                reaching += [f"{_module(path)} imports {n}" for n in names if n.rsplit(".", 1)[-1] == "repository"]
            elif isinstance(node, ast.Attribute) and node.attr == "repository":
                reaching.append(f"{_module(path)}:{node.lineno} reaches .repository")
    assert reaching == []


def _runs_sql(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    on, name = node.func.value, node.func.attr
    if name in {"execute", "scalar", "scalars", "exec_driver_sql", "stream"}:
        return True
    return (
        isinstance(on, ast.Name)
        and on.id in {"sa", "sqlalchemy"}
        and name in {"select", "text", "insert", "update", "delete"}
    )


def test_endpoints_and_the_command_line_run_no_sql() -> None:
    """No statement is built or run in an endpoint module or in the ``minqing`` command: SQL lives
    in repositories and queries."""
    running = [
        f"{_module(path)}:{node.lineno} runs SQL"
        for path in [*APP.rglob("endpoints.py"), APP / "cli.py"]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _runs_sql(node)
    ]
    assert running == []


def _module_graph() -> dict[str, set[str]]:
    """Module → the modules of ``app`` it imports (``from app.issues import reading`` names the
    module ``app.issues.reading``; ``from app.errors import NotFound`` the module ``app.errors``)."""
    modules = {_module(path): path for path in APP.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        found = {resolve(name) for name in _imports(path)}
        graph[module] = {target for target in found if target and target != module and target != "app"}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_modules_import_each_other_in_a_loop() -> None:
    """Every module of ``app`` stands above what it imports (lazy imports inside functions count):
    the layers can be read from the bottom up."""
    assert _cycles(_module_graph()) == []
