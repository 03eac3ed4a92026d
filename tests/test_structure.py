"""The domain folders of ``src/memberkit`` import each other one way only (docs/architecture.md).

Read from the source with ``ast``, without importing it. Imports inside functions count (a
lazy import hides a cycle, it does not break it); imports under ``if TYPE_CHECKING:`` do not,
since they never run. Imports of the REST face (``memberkit.api``) from a domain's
``endpoints.py``, and of the staff pages' face (``memberkit.faces``) from its ``views.py``, do
not count either: those modules are the face's routes kept beside their domain, and the face
in turn needs ``auth`` or ``staff`` (who is calling) and ``program`` (its configuration).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import memberkit

ROOT = Path(memberkit.__file__).parent
NOT_DOMAINS = {"migrations", "locale", "__pycache__"}
#: A face's routes kept beside their domain: a domain's ``endpoints.py`` importing the REST
#: face, its ``views.py`` importing the staff pages' face.
FACE_ROUTES = {("api", "endpoints.py"), ("faces", "views.py")}
#: Mutual imports still to be broken; this test fails once one is gone, so it is removed here.
KNOWN: set[tuple[str, str]] = {("ledger", "member")}


def _folders() -> set[str]:
    return {p.name for p in ROOT.iterdir() if p.is_dir() and p.name not in NOT_DOMAINS}


def _typing_only(tree: ast.Module) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(sub) for sub in ast.walk(node))
    return skipped


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module]
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return []


def folder_imports() -> dict[tuple[str, str], set[str]]:
    """Return, per (folder, folder it imports at run time), the modules that do it."""
    folders = _folders()
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if len(parts) < 2 or parts[0] not in folders:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _typing_only(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            for module in _imported(node):
                names = module.split(".")
                if len(names) < 2 or names[0] != "memberkit" or names[1] not in folders:
                    continue
                if names[1] == parts[0] or (names[1], path.name) in FACE_ROUTES:
                    continue
                edges[(parts[0], names[1])].add("/".join(parts))
    return edges


def _mutual(edges: dict[tuple[str, str], set[str]]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in edges if a < b and (b, a) in edges}


def test_no_two_domain_folders_import_each_other() -> None:
    """Given the source, when folder imports are collected, then no new pair imports both ways."""
    edges = folder_imports()

    mutual = _mutual(edges)

    described = {
        f"{a} <-> {b}: {sorted(edges[(a, b)])} | {sorted(edges[(b, a)])}" for a, b in mutual - KNOWN
    }
    assert not described, "domain folders importing each other: " + "; ".join(sorted(described))
    assert mutual == KNOWN, f"fixed, so drop from KNOWN: {sorted(KNOWN - mutual)}"


def test_domain_folders_form_no_cycle() -> None:
    """Given the source, when folder imports are followed, then no chain comes back to its start."""
    edges = {edge for edge in folder_imports() if tuple(sorted(edge)) not in KNOWN}
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    state: dict[str, int] = {}
    path: list[str] = []
    cycles: list[str] = []

    def visit(folder: str) -> None:
        state[folder] = 1
        path.append(folder)
        for after in sorted(graph[folder]):
            if state.get(after) == 1:
                cycles.append(" -> ".join([*path[path.index(after) :], after]))
            elif after not in state:
                visit(after)
        path.pop()
        state[folder] = 2

    for folder in sorted(graph):
        if folder not in state:
            visit(folder)

    assert cycles == []
