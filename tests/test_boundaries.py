"""Architecture boundaries: the library never imports pytest, and `import medcheck` stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parents[1] / "medcheck"


def test_library_never_imports_pytest():
    offenders = []
    for path in LIBRARY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(LIBRARY.parent)}:{node.lineno}" for n in names
                          if n.split(".")[0] in ("pytest", "_pytest", "syrupy")]
    assert not offenders


@pytest.mark.parametrize("module", ["medcheck", "medcheck.gate", "medcheck.metrics", "medcheck.thresholds",
                                    "medcheck.datasets", "medcheck.pairs", "medcheck.report"])
def test_import_is_light(module):
    code = (f"import sys, {module}; heavy = [m for m in ('torch', 'transformers', 'pytest', 'bitsandbytes') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import {module} pulled in {out.stdout.strip()}"


def test_modules_stay_short():
    long = [f"{p.relative_to(LIBRARY.parent)} ({n})" for p in LIBRARY.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400]
    assert not long


# Where a track's or a task kind's behaviour may be chosen: their own definitions. Dataset modules
# *declare* their track and kind (`track = "bionlp"`); they never compare against one.
OWNERS = ("tracks", "task_kinds.py", "datasets")


def _names() -> set[str]:
    from medcheck import task_kinds, tracks

    return set(tracks.TRACKS) | set(task_kinds.KINDS) | {"dataset", "track"}   # and the result kinds


def _compared_names(tree: ast.AST, names: set[str]) -> list[int]:
    """Lines that compare something with a track, task-kind or result-kind name (==, !=, in, not in)."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        for left, op, right in zip([node.left, *node.comparators], node.ops, node.comparators):
            if isinstance(op, (ast.Eq, ast.NotEq)):
                sides = [left, right]                  # x == "trust", "trust" != x
            elif isinstance(op, (ast.In, ast.NotIn)):
                sides = [right]                        # x in ("dataset", "track"); not `"track" in params`
            else:
                continue
            if any(isinstance(v, str) and v in names for side in sides for v in _literals(side)):
                lines.append(node.lineno)
    return lines


def _literals(node: ast.AST) -> list[object]:
    """A string operand itself, or the members of a literal tuple, list or set."""
    if isinstance(node, ast.Constant):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant)]
    return []


def test_only_tracks_and_task_kinds_branch_on_their_names():
    names, offenders = _names(), []
    for path in LIBRARY.rglob("*.py"):
        relative = path.relative_to(LIBRARY)
        if relative.parts[0] in OWNERS:
            continue
        offenders += [f"medcheck/{relative}:{line}" for line in _compared_names(ast.parse(path.read_text()), names)]
    assert not offenders, "only medcheck/tracks/ and medcheck/task_kinds.py may branch on these names: " + \
        ", ".join(offenders)


def test_the_branch_detector_finds_a_branch():
    tree = ast.parse('if result.kind == "trust":\n    pass\nif spec.kind in ("generate",):\n    pass\n')
    assert _compared_names(tree, _names()) == [1, 3]


def _module_name(path: Path) -> str:
    parts = path.relative_to(LIBRARY.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(tree: ast.Module, module: str, is_package: bool) -> set[str]:
    """The medcheck modules `module` imports while it is itself being imported."""
    modules = {_module_name(p) for p in LIBRARY.rglob("*.py")}
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If):
                test = ast.unparse(node.test)
                if test not in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                for block in (node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody):
                    visit(block)
            elif isinstance(node, (ast.With, ast.For, ast.While)):
                visit(node.body)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:   # relative: from the package that holds `module`
                    package = module.split(".") if is_package else module.split(".")[:-1]
                    package = package[:len(package) - node.level + 1]
                    base = ".".join([*package, *([base] if base else [])])
                for alias in node.names:   # `from pkg import sub` imports the submodule
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)

    visit(tree.body)
    return {m for m in found if m in modules and m != module}


def import_graph() -> dict[str, set[str]]:
    """medcheck module -> the medcheck modules it imports at module level."""
    return {_module_name(p): _top_level_imports(ast.parse(p.read_text()), _module_name(p), p.name == "__init__.py")
            for p in sorted(LIBRARY.rglob("*.py"))}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (first module repeated at the end) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def connect(v: str) -> None:   # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_cycle_in(graph, group) for group in groups]


def _cycle_in(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """The shortest cycle through the group's first module (breadth first, inside the group)."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & group):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    raise AssertionError(f"no cycle through {start}")


def test_no_import_cycles():
    """No circle of module-level imports inside medcheck/: data and calls flow down the layers.

    Counted: `import` and `from ... import` statements a module runs while it is imported (also in a
    module-level `if`/`try`). Not counted: imports under `if TYPE_CHECKING:` (never run) and inside
    functions (run on first use; the library keeps heavy or late imports there). `from pkg import
    sub` is an edge to the submodule; importing `pkg.sub` is not counted as importing `pkg`'s own
    __init__ (which would tie every package to what its __init__ re-exports)."""
    cycles = import_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert import_cycles(graph) == [["a", "b", "c", "a"]]
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from medcheck import gate\n"
                     "from medcheck.report import tables\n\ndef f():\n    from medcheck import record\n")
    assert _top_level_imports(tree, "medcheck.x", False) == {"medcheck.report.tables"}
