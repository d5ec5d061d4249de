"""CCS is held against its floor on an interval (each setting's exact paired bounds), never on
its point: a handful of items cannot pass it, and verify recomputes the verdict."""

from __future__ import annotations

import subprocess
import sys


def test_ccs_is_decided_on_an_interval(gate):
    run = gate.run("--medcheck-compression", "bnb-int8", "--medcheck-limit", "4", "-k", "test_ccs",
                   "--medcheck-no-cache")
    (case,) = [c for name, c in run.cases().items() if name.startswith("test_ccs")]
    assert case["decision_rule"] == "catch-damage@0.95", case
    low, high = float(case["ci_low"]), float(case["ci_high"])
    assert low < float(case["ccs"]) < high and high - low > 0.1
    assert case["outcome"] != "pass"           # 4 items a dataset cannot exclude the loss the floor tolerates
    row = next(v for v in run.report()["verdicts"] if v["metric"] == "CCS")
    assert row["outcome"] == case["outcome"]
    done = subprocess.run([sys.executable, "-m", "medcheck", "verify", str(run.path / "report")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
