"""A data dir made of symbolic links, as teams lay out benchmarks kept on shared storage.

Links are followed; each dataset records the release files its loader read with their given path,
resolved path and sha256, and the audit manifest carries them. The real data is linked to, never
copied: tests that need `../shared/data` skip where it is absent.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from medcheck import datasets
from tests.datasets.generative_checks import REAL_DATA

needs_real_data = pytest.mark.skipif(not REAL_DATA.is_dir(), reason=f"no shared data at {REAL_DATA}")
pytestmark = pytest.mark.filterwarnings("ignore:.*entirely NaN:UserWarning")   # CareQA's all-NaN rows


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """<tmp>/data/<folder> -> <shared data>/<folder>, for each top-level folder of the shared data."""
    root = tmp_path / "data"
    root.mkdir()
    for folder in sorted(REAL_DATA.iterdir()):
        if folder.is_dir():
            (root / folder.name).symlink_to(folder, target_is_directory=True)
    return root


def test_a_file_linked_out_of_the_data_dir_is_followed_and_identified(tmp_path: Path) -> None:
    """A link to a link to the release file elsewhere: read, and recorded as given and as resolved."""
    stored = tmp_path / "shared" / "medmcqa-v1" / "dev.json"
    stored.parent.mkdir(parents=True)
    shutil.copyfile(datasets.SAMPLES_DIR / "medmcqa" / "dev.json", stored)
    hop = tmp_path / "current.json"
    hop.symlink_to(stored)
    given = tmp_path / "data" / "medmcqa" / "dev.json"
    given.parent.mkdir(parents=True)
    given.symlink_to(hop)
    ds = datasets.load("medmcqa", data_dir=tmp_path / "data")
    assert ds.sha256 == datasets.load("medmcqa").sha256          # the same items as the file itself
    (file,) = ds.files
    assert (file.path, file.resolved, file.sha256) == (str(given), str(stored.resolve()), _sha256(stored))


@needs_real_data
def test_the_application_loaders_read_a_data_dir_of_links(linked: Path) -> None:
    present = [d for d in datasets.by_track("application") if datasets.available(d, linked)]
    assert {"medmcqa", "careqa", "medxpertqa_reasoning", "medexqa_speech_pathologist"} <= set(present)
    for dataset_id in present:
        ds = datasets.load(dataset_id, data_dir=linked, limit=5)
        assert ds.source == "real" and ds.n == 5 and ds.files, dataset_id
        assert ds.sha256 == datasets.load(dataset_id, data_dir=REAL_DATA, limit=5).sha256
        for file in ds.files:
            assert Path(file.path).is_relative_to(linked) and Path(file.resolved).is_relative_to(REAL_DATA.resolve())
            assert file.sha256 == _sha256(Path(file.resolved))


@needs_real_data
def test_the_application_track_runs_on_a_data_dir_of_links(gate: Any, linked: Path) -> None:
    run = gate.run("--medcheck-data-dir", str(linked), "--medcheck-limit", "2", "--medcheck-compression", "rtn-w8",
                   path="suites/application")
    output = run.result.stdout.str()
    assert "outside the data dir" not in output, output[-3000:]
    report = run.report()        # JMED and MedBullets are not in the shared data: their tests fail, saying so
    present = {d for d in datasets.by_track("application") if datasets.available(d, linked)}
    assert set(report["datasets"]) == present and {d["source"] for d in report["datasets"].values()} == {"real"}
    assert {r["dataset"] for r in report["runs"]} == present
    manifest = json.loads((run.path / "report" / "manifest.json").read_text())
    assert set(manifest["datasets"]) == set(report["datasets"])
    for dataset_id, entry in manifest["datasets"].items():
        assert entry["files"], dataset_id
        for file in entry["files"]:
            assert Path(file["path"]).is_relative_to(linked)
            assert Path(file["resolved"]).is_relative_to(REAL_DATA.resolve())
            assert file["sha256"] == _sha256(Path(file["resolved"]))
