"""Every third-party module the library and the plugin import is a declared requirement: the
README's quick run installs `.[cpu,bnb]` into a bare environment, where an undeclared import
(scipy once came only through the test extra's scikit-learn) errors every test that reaches it."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[2]
# imported only where their extra is installed (each import is guarded and says which extra)
OPTIONAL = {"bitsandbytes": "bnb", "gptqmodel": "gptq", "optimum": "gptq", "compressed_tensors": "ct",
            "vllm": "vllm", "selenium": "test"}
# a module whose distribution has another name
DISTRIBUTION = {"yaml": "pyyaml", "medcheck_pytest": "medcheck", "_pytest": "pytest", "xdist": "pytest-xdist"}


def imported(root: Path) -> dict[str, str]:
    """Top-level module -> the first file that imports it."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            for name in names:
                out.setdefault(name.split(".")[0], str(path.relative_to(REPO)))
    return out


def requirement_names(specs: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", s, maxsplit=1)[0].lower().replace("_", "-") for s in specs}


def test_every_third_party_import_is_a_declared_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    required = requirement_names(project["dependencies"]) | {"medcheck"}
    extras = {k: requirement_names(v) for k, v in project["optional-dependencies"].items()}
    missing = []
    for module, where in {**imported(REPO / "medcheck"), **imported(REPO / "fixtures")}.items():
        if module in sys.stdlib_module_names or module in {"medcheck", "fixtures", "__future__"}:
            continue
        dist = DISTRIBUTION.get(module, module).lower().replace("_", "-")
        if module in OPTIONAL:
            assert dist in extras[OPTIONAL[module]], f"{module} ({where}) is not in the {OPTIONAL[module]} extra"
        elif dist not in required:
            missing.append(f"{module} (imported by {where})")
    assert not missing, "imported but not in pyproject's dependencies: " + ", ".join(missing)
