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
