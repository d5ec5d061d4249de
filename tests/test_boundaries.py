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
