"""`medcheck verify` recomputes the fidelity of generated answers from samples.jsonl: a real run of
one trust dimension (a sharpened tiny Llama and its rtn-w2 copy, both teacher-forced on the dense
answers) verifies untouched, and a changed teacher-forced log-probability is found, re-sealed or not."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from medcheck.__main__ import main
from tests.audit.conftest import reseal, run_gate
from tests.gate_project import INI, copy_project
from tests.plugin.test_generated_fidelity import sharp_model_dir  # noqa: F401  (fixture)

FLOORS = "fidelity:\n  default: {kl_max: 0.05, same_top_min: 0.6}\n"


@pytest.fixture(scope="module")
def generated_run(tmp_path_factory: pytest.TempPathFactory, sharp_model_dir: Path) -> Path:  # noqa: F811
    project = tmp_path_factory.mktemp("generated-project")
    copy_project(project)
    (project / "pytest.ini").write_text(INI)
    trust = project / "thresholds" / "trust.yaml"   # this run's floors, whatever the repo's file says
    trust.write_text(re.sub(r"(?ms)^fidelity:.*?(?=^\S|\Z)", "", trust.read_text()) + FLOORS)
    run_gate(project, sharp_model_dir, tmp_path_factory.mktemp("generated-cache"), "--medcheck-compression", "rtn-w2",
             "--medcheck-limit", "4", path="suites/trust/test_robustness.py")
    return project / "report"


def _verify(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["verify", str(run_dir)])
    return code, capsys.readouterr().out


def _tamper(run_dir: Path) -> None:
    """The dense model's log-probability of its own top token at an answer's first position."""
    lines = (run_dir / "samples.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    k = next(k for k, r in enumerate(rows) if r["pair"].endswith("/dense") and r["teacher"]["tokens"])
    rows[k]["teacher"]["top_logprobs"][0][0] -= 1.0
    lines[k] = json.dumps(rows[k])
    (run_dir / "samples.jsonl").write_text("\n".join(lines) + "\n")


def test_verify_recomputes_the_fidelity_of_generated_answers(generated_run: Path, capsys):
    record = json.loads((generated_run / "report.json").read_text())
    gated = [v for v in record["verdicts"] if v.get("fidelity")]
    assert gated and all("fidelity_kl" in v["fidelity"] for v in gated)
    assert all("fidelity_kl" in s["fidelity"] for s in record["scores"])   # per dataset, in the score rows
    code, out = _verify(generated_run, capsys)
    assert code == 0, out


@pytest.mark.parametrize("sealed", [False, True])
def test_a_changed_teacher_forced_logprob_is_found(generated_run: Path, tmp_path: Path, capsys, sealed: bool):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(generated_run, run)
    _tamper(run)
    if sealed:
        reseal(run)
    code, out = _verify(run, capsys)
    first = out.splitlines()[0]
    assert code == 1
    if sealed:   # the numbers no longer follow from the samples: the verdict's fidelity is named
        assert first.startswith("medcheck verify: FAILED: report.json, ") and ".fidelity.fidelity_kl" in first, out
    else:
        assert first.startswith("medcheck verify: FAILED: samples.jsonl, -, sha256, recorded "), out
