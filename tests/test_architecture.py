"""The package's shape: sub-packages in data order, imports pointing back along the data path.

Read from the source with ``ast`` (nothing is imported). An import inside ``if TYPE_CHECKING:``
is for annotations only and runs never, so it is left out; every other import counts, at
module level or inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "identmatch"

LAYERS = (
    ("_types", "_exceptions", "_config", "_sql"),
    ("_charts",),
    ("_prepare",),
    ("_candidates",),
    ("_model",),
    ("_batch",),
    ("_synthetic",),
    ("_index",),
    ("_service",),
    ("_cli",),
    ("comparisons", "standardisers", "testing", "__init__"),
)
"""Lowest first. A module may import its own layer's parts and any layer below, never above."""

PUBLIC = {"identmatch.comparisons", "identmatch.standardisers", "identmatch.testing"}
CALLERS_OF_THE_PUBLIC_API = ("_service", "_cli")
"""The service and the command call the public API (``identmatch`` and its public submodules)."""


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        found[".".join(("identmatch", *parts))] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, name: str) -> set[str]:
    """The identmatch modules ``path`` imports at run time (``from X import Y``: X, or X.Y
    when that is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    modules = _modules()
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("identmatch"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.startswith("identmatch"):
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    found.add(sub if sub in modules else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in modules and m != name}


def _graph() -> dict[str, set[str]]:
    return {name: _imports(path, name) for name, path in _modules().items()}


def _layer(module: str) -> int:
    top = module.split(".")[1]
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank
    pytest.fail(f"{module} is in no layer: add its package to LAYERS")


def test_every_module_has_a_layer() -> None:
    for module in _modules():
        _layer(module)


def test_lower_layers_never_import_higher_ones() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in sorted(targets)
        if _layer(target) > _layer(module)
        and not (target in PUBLIC and module.split(".")[1] in CALLERS_OF_THE_PUBLIC_API)
    ]
    assert wrong == []


def test_no_import_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the path, 2: done
    cycles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if nxt.endswith("__init__") or nxt == "identmatch":
                continue  # a package's init re-exports; importing it is not a dependency cycle
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert cycles == []


def test_module_sizes() -> None:
    """No module over 600 lines; at most 15 modules at the top of the package."""
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert long == {}
    top = list(PACKAGE.glob("*.py"))
    assert len(top) <= 15, sorted(p.name for p in top)


def test_each_sub_package_says_what_it_owns() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, init
        assert "May import" in doc, init


def test_the_newcomers_map_matches_the_tree() -> None:
    """docs/architecture.md has a section per sub-package and names every module in it."""
    doc = (PACKAGE.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = []
    for package in sorted(p.parent for p in PACKAGE.glob("*/__init__.py")):
        if f"## `{package.name}`" not in doc:
            missing.append(package.name)
        missing += [
            f"{package.name}.{m.stem}"
            for m in sorted(package.glob("*.py"))
            if m.stem != "__init__" and f"`{m.stem}`" not in doc
        ]
    assert missing == []
