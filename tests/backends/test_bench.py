"""`medcheck bench` (scoring): one engine's log-likelihood worker, the command end to end, and the
comparison of engines that scored the same requests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from medcheck.bench import _print_engines
from medcheck.bench_generate import ROOT, WORKER
from tests.backends.test_hf import REQUESTS


def test_worker_scores_the_requests_it_is_given(tiny_model_dir: Path, tmp_path: Path):
    from medcheck.backends.hf import HFBackend
    from medcheck.compression import LoadOptions
    from medcheck.models import resolve

    spec = {"task": "loglikelihood", "engine": "hf", "model": str(tiny_model_dir), "compression": "dense",
            "cache_dir": str(tmp_path), "dtype": "float32", "device": "cpu", "items": 3, "warmup": 4,
            "requests": [[r.context, r.continuation] for r in REQUESTS], "batch_tokens": 8192, "repeats": 2,
            "threads": 1}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    subprocess.run([sys.executable, "-c", WORKER.read_text(), str(tmp_path / "spec.json"), str(tmp_path / "out.json")],
                   cwd=ROOT, check=True, capture_output=True)
    result = json.loads((tmp_path / "out.json").read_text())
    assert len(result["runs"]) == 2 and min(result["runs"]) <= result["items_per_s"] <= max(result["runs"])
    assert result["threads"] == 1 and result["dtype"] == "float32" and result["load_s"] > 0
    model = resolve(str(tiny_model_dir), tmp_path)
    here = HFBackend.load("tiny", model, "dense", LoadOptions("float32", "cpu")).backend
    assert result["logprobs"] == pytest.approx([r.logprob for r in here.loglikelihood(REQUESTS)], abs=1e-4)


def test_bench_prints_items_per_second_per_engine(tiny_model_dir: Path, tmp_path: Path):
    out = subprocess.run([sys.executable, "-m", "medcheck", "bench", "--dataset", "medqa,mmlu_anatomy", "--limit", "2",
                          "--model", str(tiny_model_dir), "--compression", "dense", "--engines", "hf",
                          "--repeats", "1", "--threads", "1", "--cache-dir", str(tmp_path),
                          "--dtype", "float32"],   # `auto` is bfloat16 on a CPU with AVX512-BF16
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    row = next(line for line in out.stdout.splitlines() if line.strip().startswith("hf "))
    assert "items/s" in row and "x1.00 of dense" in row and "float32 on cpu, 1 threads" in row
    assert "medqa (sample, n=2) + mmlu_anatomy (sample, n=2): 4 items, " in out.stdout


def test_bench_names_the_set_it_cannot_score(tmp_path: Path):
    out = subprocess.run([sys.executable, "-m", "medcheck", "bench", "--dataset", "medqa,hoc", "--limit", "2",
                          "--engines", "hf", "--cache-dir", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 2 and "medcheck bench: hoc: its answers are generated" in out.stderr


def test_engines_compare_speed_and_scores_on_the_same_items(capsys):
    base = {"items_per_s": 2.0, "logprobs": [-1.0, -2.0, -3.0, -0.5, -0.7]}   # items of 3 and 2 options
    other = {"items_per_s": 1.5, "logprobs": [-1.0, -2.0, -3.0, -0.9, -0.7]}  # picks the other option on item 2
    _print_engines([("hf", "dense", base), ("vllm", "dense", other), ("vllm", "bnb-nf4", {"refused": "no"})], [3, 2])
    line = capsys.readouterr().out.strip()
    assert line.startswith("dense: items/s relative to hf: vllm x0.75")
    assert "difference| 4.0e-01" in line and "same option on 1/2 items" in line
