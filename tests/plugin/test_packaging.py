"""medcheck as an installed package: every package listed, the plugin's entry point and the console
script, and a wheel installed into a fresh virtual environment giving `pytest --help` the options and
`medcheck ls` every dataset in an empty folder (no checkout on the path)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import tomllib

from medcheck import datasets
from tests.gate_project import plugin_help

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_pyproject_lists_every_package():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "medcheck").rglob("__init__.py")}
    found.add("medcheck_pytest")
    assert not found - listed, (f"packages missing from [tool.setuptools] packages in pyproject.toml: "
                                f"{sorted(found - listed)} (an installed medcheck would lack them: add them)")
    assert not listed - found, f"pyproject.toml lists packages that do not exist: {sorted(listed - found)}"
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"medcheck_pytest": "fixtures"}


def test_plugin_registers_every_fixtures_module():
    from fixtures.plugin import MODULES, pytest_plugins

    modules = {p.stem for p in (REPO / "fixtures").glob("*.py")} - {"__init__", "plugin"}
    assert set(MODULES) == modules, f"fixtures/plugin.py's MODULES should be {sorted(modules)}"
    assert pytest_plugins == [f"fixtures.{m}" for m in MODULES]


def test_entry_points_name_the_plugin_and_the_console_script():
    assert PYPROJECT["project"]["entry-points"]["pytest11"] == {"medcheck": "medcheck_pytest.plugin"}
    assert PYPROJECT["project"]["scripts"] == {"medcheck": "medcheck.__main__:main"}


def test_help_lists_every_option_group_once():
    text = plugin_help()
    assert text.count("medcheck release gate:") == 1 and "--medcheck-backend={hf,vllm,openai}" in text


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MEDCHECK_DATA_DIR")}
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(map(str, args))}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_wheel_in_a_fresh_venv_gives_the_options_and_ls(tmp_path):
    source = tmp_path / "source"   # a copy, so the build leaves nothing (egg-info, build/) in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for folder in ("medcheck", "fixtures"):
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path / "dist",
         source)
    wheel = next((tmp_path / "dist").glob("medcheck-*.whl"))
    top = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert "medcheck_pytest" in top and "fixtures" not in top, top

    env = tmp_path / "venv"   # the dependencies (torch, pytest, ...) come from this interpreter's site-packages
    venv.create(env, system_site_packages=True, with_pip=False)
    python = env / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel)
    empty = tmp_path / "empty"
    empty.mkdir()
    help_text = _run(python, "-m", "pytest", "--help", "-p", "no:cacheprovider", cwd=empty)
    assert "--medcheck-profile" in help_text and "--medcheck-backend={hf,vllm,openai}" in help_text
    listing = _run(env / "bin" / "medcheck", "ls", "datasets", cwd=empty)
    assert all(f"\n  {d} " in listing for d in datasets.dataset_ids())
    assert str(env) in _run(env / "bin" / "medcheck", "--version", cwd=empty)
