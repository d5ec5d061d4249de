"""medcheck.efficiency through the backend interface: the hf backend on a tiny random Llama, and a
backend with known sleeps (an engine stand-in: the interface is all efficiency may touch).

Only orderings and structure are asserted, never absolute speeds; the stub's sleeps give lower
bounds that cannot flake.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import threading
import time

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from medcheck.backends import Footprint, Generation
from medcheck.backends.hf import HFBackend
from medcheck.backends.memory import TENSOR_KIND, RssSampler, peak_memory
from medcheck.efficiency import DIMENSIONS, PROMPTS, Efficiency, ces_of, measure, ratios

NEW = 4


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


def _load(path, dtype, tokenizer) -> HFBackend:
    return HFBackend(AutoModelForCausalLM.from_pretrained(path, dtype=dtype).eval(), tokenizer)


@pytest.fixture(scope="module")
def tiny_eff(tiny_model_dir, tokenizer) -> Efficiency:
    return measure(_load(tiny_model_dir, torch.float32, tokenizer), max_new_tokens=NEW, repeats=3, warmup=1,
                   prompts=PROMPTS[:1])


def test_prompts_are_eight_questions_rendered_through_the_chat_template(tiny_model_dir, tokenizer):
    assert len(PROMPTS) == 8 and all(q.endswith("?") for q in PROMPTS)
    backend = _load(tiny_model_dir, torch.float32, tokenizer)
    text, templated = backend.chat(PROMPTS[0])
    assert templated and PROMPTS[0] in text
    backend.tokenizer = dataclasses.make_dataclass("Plain", [("chat_template", object, None)])()
    assert backend.chat("Why?") == ("Question: Why?\nAnswer:", False)


def test_measure_returns_positive_finite_numbers(tiny_eff):
    e = tiny_eff
    for dim in [d.name for d in DIMENSIONS] + ["weight_bytes"]:
        value = getattr(e, dim)
        assert math.isfinite(value) and value > 0, dim
    assert e.device == "cpu" and e.memory_kind == TENSOR_KIND
    assert e.n_runs == 3 and e.new_tokens == NEW
    for dim in ("ttft_s", "act_s", "tps"):
        assert len(e.samples[dim]) == e.n_runs
        low, high = e.spread[dim]
        assert low <= getattr(e, dim) <= high
    json.dumps(e.as_dict())


def test_ttft_is_below_act_in_every_run(tiny_eff):
    assert tiny_eff.ttft_s < tiny_eff.act_s
    assert all(t < a for t, a in zip(tiny_eff.samples["ttft_s"], tiny_eff.samples["act_s"]))


def test_tps_is_generated_tokens_over_act(tiny_eff):
    for tps, act in zip(tiny_eff.samples["tps"], tiny_eff.samples["act_s"]):
        assert tps == pytest.approx(NEW / act, rel=1e-12)
    assert tiny_eff.tps == pytest.approx(NEW / tiny_eff.act_s, rel=1e-12)   # 3 runs: an exact median


def test_cpu_memory_counts_the_weights(tiny_eff):
    assert tiny_eff.memory_bytes >= tiny_eff.weight_bytes


def test_float32_reports_twice_the_bytes_and_bits_of_bfloat16(tiny_model_dir, tokenizer):
    kwargs = dict(max_new_tokens=2, repeats=1, warmup=0, prompts=PROMPTS[:1])
    f32 = measure(_load(tiny_model_dir, torch.float32, tokenizer), **kwargs)
    bf16 = measure(_load(tiny_model_dir, torch.bfloat16, tokenizer), **kwargs)
    assert f32.weight_bytes == 2 * bf16.weight_bytes
    assert f32.bits_per_weight == pytest.approx(2 * bf16.bits_per_weight, rel=1e-3)
    assert (f32.bits_per_weight, bf16.bits_per_weight) == pytest.approx((32.0, 16.0), rel=1e-3)


class SleepyBackend:
    """An engine stand-in with known timing: a long 'prefill' before the first token, short steps
    after. It streams through `on_token` as every backend must."""

    name = "sleepy"
    PREFILL_S, STEP_S = 0.2, 0.05

    def __init__(self) -> None:
        self.sampled: list[bool] = []            # per call: was the RSS sampler running?

    def generate(self, requests, on_token=None):
        out = []
        for i, r in enumerate(requests):
            self.sampled.append(any(t.name == "medcheck-rss" for t in threading.enumerate()))
            t0 = time.perf_counter()
            time.sleep(self.PREFILL_S)
            for step in range(r.max_new_tokens):
                if step:
                    time.sleep(self.STEP_S)
                if on_token:
                    on_token(i, time.perf_counter())
            out.append(Generation("x" * r.max_new_tokens, r.max_new_tokens, 3, "length", time.perf_counter() - t0))
        return out

    def chat(self, user):
        return user, False

    def footprint(self):
        return Footprint("cpu", 1000, 16.0)

    def peak_memory(self, run):
        return peak_memory(run, torch.device("cpu"), 1000)


def test_ttft_is_the_first_generated_token_not_the_prompt_nor_the_last():
    steps = 5
    e = measure(SleepyBackend(), max_new_tokens=steps, repeats=1, warmup=0, prompts=PROMPTS[:1])
    assert e.new_tokens == steps
    assert e.ttft_s >= SleepyBackend.PREFILL_S                            # not the call's start
    assert e.act_s - e.ttft_s >= (steps - 1) * SleepyBackend.STEP_S        # not a later token


def test_memory_is_sampled_on_its_own_pass_never_during_timed_runs():
    backend = SleepyBackend()
    backend.PREFILL_S = backend.STEP_S = 0.0
    e = measure(backend, max_new_tokens=2, repeats=2, warmup=1, prompts=PROMPTS[:2])
    assert e.n_runs == 4
    assert backend.sampled == [False, False, True, True, False, False, False, False]


def test_progress_is_reported_for_every_generation():
    backend = SleepyBackend()
    backend.PREFILL_S = backend.STEP_S = 0.0
    seen = []
    measure(backend, max_new_tokens=2, repeats=2, warmup=1, prompts=PROMPTS[:3],
            progress=lambda d, t: seen.append((d, t)))
    assert seen == [(k, 12) for k in range(1, 13)]


def test_rss_sampler_sees_memory_grown_inside_the_run():
    with RssSampler() as sampler:
        block = bytearray(64 * 2**20)
        time.sleep(0.05)
    del block
    assert sampler.increase >= 32 * 2**20


def _eff(**values) -> Efficiency:
    base = dict(device="cpu", memory_kind="test", memory_bytes=1000, weight_bytes=800,
                bits_per_weight=16.0, ttft_s=0.1, act_s=1.0, tps=32.0)
    return Efficiency(**{**base, **values})


def test_ratios_are_oriented_so_more_efficient_is_above_one():
    dense = _eff()
    r = ratios(dense, _eff(memory_bytes=500, tps=64.0, act_s=2.0, bits_per_weight=4.0))
    assert r == pytest.approx({"memory_bytes": 2.0, "bits_per_weight": 4.0, "ttft_s": 1.0,
                               "act_s": 0.5, "tps": 2.0})
    assert ratios(dense, dense) == pytest.approx(dict.fromkeys([d.name for d in DIMENSIONS], 1.0))


def test_ces_of_is_the_mean_of_the_ratios():
    dense, cand = _eff(), _eff(memory_bytes=250, ttft_s=0.05, tps=40.0, bits_per_weight=4.5)
    r = ratios(dense, cand)
    assert ces_of(dense, cand) == pytest.approx(statistics.fmean(r.values()))
    assert ces_of(dense, cand, ["memory_bytes", "tps"]) == pytest.approx((4.0 + 40.0 / 32.0) / 2)


def test_unknown_or_no_dimension_is_refused():
    with pytest.raises(ValueError, match="subset of"):
        ratios(_eff(), _eff(), ["memory"])
    with pytest.raises(ValueError, match="subset of"):
        ces_of(_eff(), _eff(), [])


def test_prompt_length_sweep_grows_the_prompt_and_measures_each_length(tiny_model_dir, tokenizer):
    from medcheck.efficiency_shots import shot_prompts, sweep

    prompts = shot_prompts([0, 1, 3], seed=1234)
    assert len(prompts[0]) < len(prompts[1]) < len(prompts[3])
    calls = []
    rows = sweep(_load(tiny_model_dir, torch.float32, tokenizer), [0, 1, 3], max_new_tokens=3, repeats=2,
                 progress=lambda: calls.append(1))
    assert list(rows) == ["0", "1", "3"] and len(calls) == 3 * (1 + 2)   # a memory run, then the timed ones
    assert rows["0"]["prompt_tokens"] < rows["1"]["prompt_tokens"] < rows["3"]["prompt_tokens"]
    for row in rows.values():
        assert row["memory_bytes"] > 0 and 0 < row["ttft_s"] <= row["act_s"]
