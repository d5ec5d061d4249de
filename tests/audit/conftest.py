"""A real gate run on a tiny random model, made once per module in a subprocess (the real plugin,
the repo's suites and thresholds), and helpers to copy, tamper and re-seal its report dir."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from medcheck import audit
from tests.gate_project import INI, REPO, copy_project


def run_gate(project: Path, model: Path, cache: Path, *args: str, path: str = "suites") -> subprocess.CompletedProcess:
    """`pytest <path>` in `project` on the tiny model, JUnit XML written outside the report dir."""
    if not (project / "suites").is_dir():
        project.mkdir(parents=True, exist_ok=True)
        copy_project(project)
        (project / "pytest.ini").write_text(INI)
    command = [sys.executable, "-m", "pytest", path, "-q", "-p", "no:cacheprovider", "--junitxml", "junit.xml",
               "--medcheck-report-dir", "report", "--medcheck-cache-dir", str(cache),
               "--medcheck-model", f"tiny={model}",
               "--medcheck-compression", "bnb-int8", "--medcheck-limit", "6", "--snapshot-update", *args]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode in (0, 1), done.stdout[-4000:] + done.stderr[-4000:]
    return done


@pytest.fixture(scope="module")
def gate_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """The project dir of one finished run: junit.xml beside report/ (manifest, report, samples)."""
    project = tmp_path_factory.mktemp("audit-project")
    run_gate(project, tiny_model_dir, tmp_path_factory.mktemp("audit-cache"))
    return project


@pytest.fixture
def run_copy(gate_run: Path, tmp_path: Path) -> Path:
    """A copy of the run's report dir, free to tamper with."""
    target = tmp_path / "run"
    shutil.copytree(gate_run / "report", target)
    return target


def reseal(run_dir: Path) -> None:
    """Re-hash every listed file and the manifest's digest, as a forger covering their tracks would."""
    manifest = audit.load_manifest(run_dir)
    for name, entry in manifest["files"].items():
        entry["sha256"] = audit.sha256_file(run_dir / name)
    manifest["manifest_sha256"] = audit.digest(manifest)
    (run_dir / audit.MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
