"""--medcheck-budget: multiple-choice datasets scored in looks, each stopped once its verdict is
decided; the looks are in the JUnit properties and report.json, and `verify` replays them."""

from __future__ import annotations

import subprocess
import sys

from medcheck import datasets


def _looks(case: dict[str, str]) -> tuple[list[int], list[tuple[int, str]]]:
    sizes = [int(x) for x in case["looks"].split(",")]
    history = [(int(n), o) for n, o in (h.split(":") for h in case["look_history"].split(","))]
    return sizes, history


def test_budget_scores_in_looks_and_stops_once_decided(gate):
    budget = min(40, datasets.load("medqa").n)
    run = gate.run("--medcheck-budget", str(budget), "--medcheck-compression", "bnb-int8",
                   "-k", "test_cps and medqa and not gen",
                   "--medcheck-no-cache")
    case = next(c for name, c in run.cases().items() if name.endswith("medqa]"))
    sizes, history = _looks(case)
    assert sizes == [n for n in (10, 20, 40) if n < budget] + [budget]
    assert all(o == "inconclusive" for _, o in history[:-1])        # every look before the last was open
    assert int(case["n"]) == history[-1][0] == sizes[int(case["look"]) - 1]
    assert case["stopped"] == ("decided" if history[-1][1] != "inconclusive" else "budget")
    assert case["outcome"] == history[-1][1]
    row = next(v for v in run.report()["verdicts"] if v["subject"] == "medqa")
    assert row["looks"]["look_history"] == case["look_history"]
    done = subprocess.run([sys.executable, "-m", "medcheck", "verify", str(run.path / "report")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr    # the looks replay from the records


def test_an_explicit_limit_is_one_look(gate):
    run = gate.run("--medcheck-limit", "12", "--medcheck-compression", "bnb-int8",
                   "-k", "test_cps and medqa and not gen",
                   "--medcheck-no-cache")
    case = next(c for name, c in run.cases().items() if name.endswith("medqa]"))
    assert "looks" not in case and case["n"] == "12"


def test_a_seconds_budget_stops_before_the_next_look_and_verify_takes_the_stop_as_recorded(gate):
    # 0.001 s: spent by the first look, so a dataset still undecided there stops at it ("seconds")
    run = gate.run("--medcheck-budget", "40,0.001s", "--medcheck-compression", "bnb-int8",
                   "-k", "test_cps and medqa and not gen", "--medcheck-no-cache")
    case = next(c for name, c in run.cases().items() if name.endswith("medqa]"))
    sizes, history = _looks(case)
    assert len(history) == 1 and int(case["n"]) == sizes[0] == 10
    assert case["stopped"] == ("decided" if history[0][1] != "inconclusive" else "seconds")
    done = subprocess.run([sys.executable, "-m", "medcheck", "verify", str(run.path / "report")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_budget_that_is_no_budget_is_a_usage_error(gate):
    run = gate.run("--medcheck-budget", "forty", "-k", "medqa")
    out = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret != 0 and "--medcheck-budget" in out and "600s" in out
