"""The house: layers, no import cycles, routers that import no router, one unit of work.

Layers, from the bottom (docs/ARCHITECTURE.md):
- core: pure rules (counts, rates, classification, periods, time, access, errors as exceptions);
- store: models, engines, the unit of work, the SQL of the rollups, what differs between stores;
- domain: services (ingest, validation, metrics, reports, the portal mapping, reference data);
- http (app/api): routers (app/api/routers), the app, middlewares, OpenAPI, request dependencies;
- entry: the command line (may use anything).
A module imports only from its own layer or the layers below.
"""

from __future__ import annotations

import re
from pathlib import Path

import grimp
import pytest

APP = Path(__file__).resolve().parent.parent / "app"

CORE = ("app.core", "app.config", "app.runtime", "app.logs")
STORE = ("app.models", "app.store", "app.migrate")
HTTP = ("app.api", "app.main", "app.asgi", "app.openapi_export")
ENTRY = ("app.cli", "app.server")  # and every app.cli_* module (the subcommands)
ORDER = ("core", "store", "domain", "http", "entry")


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def is_router(module: str) -> bool:
    return module.startswith("app.api.routers.")


def layer(module: str) -> str:
    if _within(module, CORE):
        return "core"
    if _within(module, STORE):
        return "store"
    if _within(module, HTTP):
        return "http"
    if _within(module, ENTRY) or module.startswith("app.cli_"):
        return "entry"
    return "domain"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("app", cache_dir=None)


def edges(graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    return sorted(
        (m, imported)
        for m in graph.modules
        for imported in graph.find_modules_directly_imported_by(m)
        if imported.startswith("app")
    )


def test_a_module_imports_only_its_own_layer_and_those_below(graph: grimp.ImportGraph) -> None:
    wrong = [
        f"{m} ({layer(m)}) imports {i} ({layer(i)})"
        for m, i in edges(graph)
        if ORDER.index(layer(i)) > ORDER.index(layer(m))
    ]
    assert wrong == []


def test_routers_never_import_routers(graph: grimp.ImportGraph) -> None:
    assert [(m, i) for m, i in edges(graph) if is_router(m) and is_router(i)] == []


def test_models_import_no_service(graph: grimp.ImportGraph) -> None:
    assert [
        (m, i) for m, i in edges(graph) if m.startswith("app.models") and layer(i) not in ("core", "store")
    ] == []


def _cycles(nodes: set[str], links: list[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in links:
        if a != b:
            succ[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in succ[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for n in sorted(nodes):
        if n not in index:
            visit(n)
    return out


def test_no_import_cycle_between_modules(graph: grimp.ImportGraph) -> None:
    assert _cycles(set(graph.modules), edges(graph)) == []


def package(module: str) -> str:
    """The package a module belongs to: app.X (a module directly in app is its own)."""
    return ".".join(module.split(".")[:2])


def test_no_import_cycle_between_packages(graph: grimp.ImportGraph) -> None:
    links = [(package(a), package(b)) for a, b in edges(graph) if package(a) != package(b)]
    assert _cycles({package(m) for m in graph.modules}, links) == []


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a", "b", "c"}, [("a", "b"), ("b", "c"), ("c", "a")]) == [["a", "b", "c"]]
    assert _cycles({"a", "b"}, [("a", "b")]) == []


UNIT_OF_WORK = APP / "store" / "uow.py"
TRANSACTION_CALL = re.compile(r"\.(begin|commit)\(\)|sqlite_immediate=True")


def test_nothing_but_the_unit_of_work_begins_or_commits() -> None:
    found = [
        f"{path.relative_to(APP.parent)}:{n}: {line.strip()}"
        for path in sorted(APP.rglob("*.py"))
        if path != UNIT_OF_WORK
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if TRANSACTION_CALL.search(line)
    ]
    assert found == []
