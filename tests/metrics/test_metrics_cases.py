"""Data-driven worked examples for medcheck.metrics, read from cases.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from medcheck.metrics import ccs, ces, cps, twy

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).with_name("cases.yaml")).read_text(encoding="utf-8")
)["cases"]
METRICS = {"cps": cps, "ccs": ccs, "twy": twy, "ces": ces}


def _flatten(nested: dict) -> dict:
    """{model: {setting: value}} -> {(model, setting): value}."""
    return {(m, s): v for m, inner in nested.items() for s, v in inner.items()}


def _call(case: dict[str, Any]) -> float:
    metric = case["metric"]
    if metric == "cps":
        args: tuple = (case["dense"], case["compressed"])
    elif metric == "ccs":
        args = (case["dense"], _flatten(case["compressed"]))
    else:
        extra = case["exponents"] if metric == "twy" else case["higher_is_better"]
        args = (_flatten(case["dense"]), _flatten(case["compressed"]), extra)
    return METRICS[metric](*args)


def _params(kind: str) -> list:
    return [pytest.param(c, id=c["id"]) for c in CASES if kind in c]


def test_cases_file_is_well_formed() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    for case in CASES:
        assert case["metric"] in METRICS, case["id"]
        assert ("expected" in case) != ("raises" in case), case["id"]


@pytest.mark.parametrize("case", _params("expected"))
def test_worked_example(case: dict[str, Any]) -> None:
    assert _call(case) == pytest.approx(case["expected"], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("case", _params("raises"))
def test_invalid_input_raises(case: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as err:
        _call(case)
    for fragment in case["raises"]:
        assert fragment in str(err.value), (fragment, str(err.value))
