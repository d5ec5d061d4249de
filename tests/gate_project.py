"""A throwaway gate project for pytester runs: the repo's suites and thresholds in a tmp dir."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@dataclass
class GateRun:
    result: pytest.RunResult
    path: Path

    def cases(self) -> dict[str, dict[str, str]]:
        """JUnit testcase name -> its properties."""
        root = ET.parse(self.path / "junit.xml").getroot()
        return {case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
                for case in root.iter("testcase")}

    def report(self) -> dict:
        return json.loads((self.path / "report" / "report.json").read_text())

    def samples(self) -> list[dict]:
        return [json.loads(line) for line in (self.path / "report" / "samples.jsonl").read_text().splitlines()]


INI = "[pytest]\njunit_family = xunit1\nmarkers =\n    track(name): track\n"


def copy_project(root: Path) -> None:
    """The repo's suites (without snapshots), thresholds and plugin list, into `root`."""
    shutil.copytree(REPO / "suites", root / "suites", ignore=shutil.ignore_patterns("__snapshots__"))
    shutil.copytree(REPO / "thresholds", root / "thresholds")
    shutil.copy(REPO / "conftest.py", root / "conftest.py")   # the real plugin list, one home


class Gate:
    def __init__(self, pytester: pytest.Pytester, tiny_model_dir: Path, cache: Path) -> None:
        self.pytester, self.model, self.cache = pytester, tiny_model_dir, cache
        copy_project(pytester.path)
        pytester.makeini(INI)

    def run(self, *args: str, tiny: bool = True, snapshot_update: bool = True,
            cache: Path | None = None, path: str = "suites") -> GateRun:
        base = [path, "-p", "no:cacheprovider", "--junitxml", "junit.xml",
                "--medcheck-report-dir", "report", "--medcheck-cache-dir", str(cache or self.cache)]
        if tiny:
            base += ["--medcheck-model", f"tiny={self.model}"]
        if snapshot_update:
            base.append("--snapshot-update")
        return GateRun(self.pytester.runpytest_inprocess(*base, *args), self.pytester.path)


@pytest.fixture(scope="session", autouse=True)
def _import_once() -> None:
    """pytester's in-process runs drop modules imported during a run; bitsandbytes registers torch
    ops at import and cannot be imported twice, so it is imported here, outside any run."""
    import bitsandbytes  # noqa: F401
    import transformers.integrations.bitsandbytes  # noqa: F401


@pytest.fixture
def gate(pytester: pytest.Pytester, tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Gate:
    return Gate(pytester, tiny_model_dir, tmp_path_factory.mktemp("cache"))


@functools.cache
def plugin_help() -> str:
    """`pytest --help` in an empty project that has only the repo's conftest.py (the plugin list)."""
    with tempfile.TemporaryDirectory(prefix="medcheck-help-") as root:
        shutil.copy(REPO / "conftest.py", Path(root) / "conftest.py")
        env = {**os.environ, "COLUMNS": "200",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        done = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"], cwd=root, env=env,
                              capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
