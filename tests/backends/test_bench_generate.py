"""`medcheck bench --generate`: the gate's generative prompts, and one engine's worker process
(run as the parent runs it: the worker file's text through `python -c`, in the tree measured)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from medcheck.bench_generate import ROOT, WORKER, prompts


def test_prompts_are_the_gates_rendered_generative_prompts():
    from medcheck import datasets
    from medcheck.strategies import Strategy, user_prompt

    texts = prompts(["bionlp"], 1, "zero-shot", None, 1234)
    hoc = datasets.info("hoc")
    item = datasets.load("hoc", None, 1).items[0]
    expected = user_prompt(hoc, item, Strategy("zero-shot"), hoc.instruction(datasets.data_root(None)))
    assert expected in texts and len(texts) == len(set(texts)) >= 5
    few = prompts(["bionlp"], 1, "few-shot", None, 1234)
    assert len(few) == len(texts) and sum(map(len, few)) > sum(map(len, texts))   # shots are included


def test_worker_generates_exactly_the_new_tokens(tiny_model_dir: Path, tmp_path: Path):
    spec = {"engine": "hf", "model": str(tiny_model_dir), "compression": "dense", "cache_dir": str(tmp_path),
            "dtype": "float32", "device": "cpu", "prompts": ["The kidney is", "Aspirin inhibits"],
            "new_tokens": 5, "batch_tokens": 8192, "repeats": 2, "threads": 1}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    subprocess.run([sys.executable, "-c", WORKER.read_text(), str(tmp_path / "spec.json"), str(tmp_path / "out.json")],
                   cwd=ROOT, check=True, capture_output=True)
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["new_tokens"] == result["computed_tokens"] == 10 and len(result["runs"]) == 2
    assert result["new_per_s"] > 0 and result["peak_rss"] > 0 and result["max_rss"] >= result["peak_rss"] // 2
    assert result["threads"] == 1 and result["dtype"] == "float32"
