"""Runs of engines that live in different environments are compared through saved files."""

from __future__ import annotations

import pytest

from medcheck.backends.agreement import Agreement, Scored, load, save

SETTINGS = {"dataset": "medqa", "compression": "gptq-w4", "dtype": "bfloat16", "limit": 100}


def test_a_saved_run_comes_back_and_is_compared(tmp_path):
    hf = Scored("hf", "transformers 5", ("A", "B", "C"), ((-1.0, -2.0), (-3.0, -0.5), (-0.1, -0.2)), 0.7, 3.0)
    save(hf, 3, tmp_path / "hf.json", **SETTINGS)
    again, n = load(tmp_path / "hf.json", **SETTINGS)
    assert (again, n) == (hf, 3)
    vllm = Scored("vllm", "vllm 0.32", ("A", "C", "C"), ((-1.1, -2.0), (-3.0, -0.4), (-0.1, -0.2)), 0.3, 9.0)
    result = Agreement("medqa", 3, "option-text", "bfloat16", (again, vllm), "gptq-w4")
    assert result.agreement == pytest.approx(2 / 3) and result.max_abs_diff == pytest.approx(0.1)
    assert "gptq-w4, n=3" in result.lines()[0]


def test_a_run_saved_with_other_settings_is_refused(tmp_path):
    hf = Scored("hf", "v", ("A",), ((-1.0,),), 1.0, 1.0)
    save(hf, 1, tmp_path / "hf.json", **SETTINGS)
    with pytest.raises(SystemExit, match="saved with other settings.*compression"):
        load(tmp_path / "hf.json", **{**SETTINGS, "compression": "awq-w4"})
