"""Efficiency verdicts on intervals (medcheck.efficiency_intervals): a straddle is inconclusive, a
clear gap passes or fails; each dimension's direction is declared once; the CPU memory figure is
the same every time it is measured."""

from __future__ import annotations

import math
import random
import re
from pathlib import Path

import pytest

from medcheck.compression import RECIPES
from medcheck.efficiency import DIMENSIONS, Efficiency
from medcheck.efficiency_intervals import UNBOUNDED, ces_interval, median_interval, ratio_intervals, runs_to_bound
from medcheck.errors import ConfigError
from medcheck.pairs import Pair
from medcheck.thresholds import EfficiencyThresholds, judge
from medcheck.tracks.measured import compare

REPO = Path(__file__).resolve().parents[2]
GOOD = (REPO / "thresholds" / "efficiency.yaml").read_text()
NF4 = Pair("m", "m", "bnb-nf4")
INT8 = Pair("m", "m", "bnb-int8")


def _side(act: list[float], memory: int = 1000, bits: float = 16.0, tokens: int = 8) -> Efficiency:
    """One side measured: `act` per timed run, TTFT a tenth of it, TPS tokens / ACT."""
    samples = {"ttft_s": [a / 10 for a in act], "act_s": list(act), "tps": [tokens / a for a in act]}
    med = {k: sorted(v)[len(v) // 2] for k, v in samples.items()}   # odd counts: the median
    return Efficiency(device="cpu", memory_kind="test", memory_bytes=memory, weight_bytes=memory,
                      bits_per_weight=bits, spread={k: (min(v), max(v)) for k, v in samples.items()},
                      samples=samples, n_runs=len(act), new_tokens=tokens, **med)


def _runs(center: float, n: int = 15, jitter: float = 0.02, seed: int = 0) -> list[float]:
    rng = random.Random(seed)
    return [center * (1 + rng.uniform(-jitter, jitter)) for _ in range(n)]


def _thresholds(tmp_path: Path, text: str = GOOD) -> EfficiencyThresholds:
    path = tmp_path / "efficiency.yaml"
    path.write_text(text)
    return EfficiencyThresholds(path, sorted(RECIPES))


def _verdict(t: EfficiencyThresholds, pair: Pair, dense: Efficiency, cand: Efficiency):
    result = compare(pair, dense, cand, t)
    return result, judge(t.ces(pair.compression), t.rule(pair.compression), result)


# -- the interval method --------------------------------------------------------------------------

def test_median_interval_is_the_widest_order_statistics_that_reach_the_level():
    xs = list(range(1, 13))
    assert median_interval(xs, 0.99) == (2, 11)          # 2 P(Bin(12, .5) <= 1) = 0.0063 <= 0.01
    assert median_interval(xs, 0.999) == (1, 12)
    assert median_interval([3.0, 1.0, 2.0], 0.95) == UNBOUNDED   # [min, max] of 3 covers only 75%
    assert median_interval([], 0.95) == UNBOUNDED
    assert runs_to_bound(0.975) == 7 and median_interval(range(7), 0.975) == (0, 6)


def test_median_interval_covers_at_least_nominal():
    rng = random.Random(7)
    for n in (3, 8, 12, 40):
        covered = sum(lo <= 1.0 <= hi for lo, hi in (median_interval([rng.lognormvariate(0, 0.5) for _ in range(n)],
                                                                      0.95) for _ in range(4000)))
        assert covered / 4000 >= 0.94, n   # 0.95 nominal, 4000 draws: a 1-point margin for Monte Carlo error


def test_deterministic_dimensions_have_the_point_as_interval_and_timed_ones_contain_it():
    dense, cand = _side(_runs(1.0), memory=3000, bits=16.0), _side(_runs(2.0, seed=1), memory=1000, bits=4.0)
    intervals = ratio_intervals(dense, cand, 0.95)
    assert intervals["memory_bytes"] == (3.0, 3.0) and intervals["bits_per_weight"] == (4.0, 4.0)
    for dim in ("ttft_s", "act_s", "tps"):
        low, high = intervals[dim]
        assert low < 0.5 < high and high / low < 1.2, dim   # ACT doubled: ratio 0.5, jitter 2%


def test_too_few_runs_leave_the_timings_unbounded_but_memory_and_bits_still_count():
    dense, cand = _side([1.0, 1.1, 0.9], memory=3000, bits=16.0), _side([2.0, 2.1, 1.9], memory=1000, bits=4.0)
    assert ratio_intervals(dense, cand, 0.95)["act_s"] == (0.0, math.inf)
    assert ces_interval(dense, cand, 0.95) == ((3.0 + 4.0) / 5, math.inf)


# -- verdicts -------------------------------------------------------------------------------------

def test_clear_gap_above_the_floor_passes(tmp_path):
    t = _thresholds(tmp_path)
    result, verdict = _verdict(t, NF4, _side(_runs(1.0), 3000, 16.0), _side(_runs(1.0, seed=1), 1000, 4.0))
    assert (verdict.outcome, verdict.passed) == ("pass", True), verdict.message
    low, high = result.interval(0.95, 0)
    assert t.ces("bnb-nf4").value <= low <= result.ces <= high


def test_clear_gap_below_the_floor_fails(tmp_path):
    t = _thresholds(tmp_path)   # nf4 floor 1.0; a candidate slower 4x and no smaller
    _, verdict = _verdict(t, NF4, _side(_runs(1.0), 1000, 16.0), _side(_runs(4.0, seed=1), 1000, 8.0))
    assert (verdict.outcome, verdict.passed) == ("fail", False), verdict.message
    assert "memory_bytes ratio 1.000 [1.000, 1.000] is below floor 1.500" in verdict.message


def test_interval_straddling_the_ces_floor_is_inconclusive(tmp_path):
    t = _thresholds(tmp_path, GOOD.replace("bnb-int8:\n      bits_per_weight: 1.3", "bnb-int8: {}"))
    # int8 floor 0.5: memory and bits at parity, timings 6x slower: CES ~0.5, timings wide
    dense, cand = _side(_runs(1.0, jitter=0.3)), _side(_runs(6.0, jitter=0.3, seed=2))
    result, verdict = _verdict(t, INT8, dense, cand)
    low, high = result.interval(0.95, 0)
    assert low < 0.5 < high, (low, high)
    assert (verdict.outcome, verdict.passed) == ("inconclusive", True), verdict.message
    assert "straddles floor 0.500" in verdict.message


def test_a_ratio_floor_straddled_by_its_interval_makes_a_passing_ces_inconclusive(tmp_path):
    t = _thresholds(tmp_path, GOOD.replace("bnb-int8:\n      bits_per_weight: 1.3", "bnb-int8: {tps: 1.0}"))
    dense, cand = _side(_runs(1.0, jitter=0.2), 3000, 16.0), _side(_runs(1.0, jitter=0.2, seed=3), 1000, 8.0)
    result, verdict = _verdict(t, INT8, dense, cand)
    assert result.checks[0].outcome == "inconclusive"
    assert (verdict.outcome, verdict.passed) == ("inconclusive", True), verdict.message
    assert "not a pass: tps ratio" in verdict.message and "straddles floor 1.000" in verdict.message


def test_the_point_rule_of_an_old_file_decides_on_the_values(tmp_path):
    old = GOOD.split("# How CES")[0] + ("higher_is_better: {memory_bytes: false, bits_per_weight: false, "
                                       "ttft_s: false, act_s: false, tps: true}\n")
    t = _thresholds(tmp_path, old)   # an old file: its directions are the declared ones, no decision block
    assert t.rule("bnb-nf4").mode == "point"
    runs = [1.0, 1.1, 0.9]
    _, verdict = _verdict(t, NF4, _side(runs, 1000, 16.0), _side(runs, 600, 4.0))
    assert verdict.outcome == "pass" and verdict.message.startswith("CES 1.733 >= 1.000"), verdict.message
    _, verdict = _verdict(t, NF4, _side(runs, 1000, 16.0), _side(runs, 900, 4.0))
    assert verdict.outcome == "fail" and "memory_bytes ratio 1.111 < 1.500" in verdict.message


# -- the directions, declared once ---------------------------------------------------------------

def test_directions_live_in_the_dimension_declaration_only():
    import medcheck.efficiency
    import medcheck.thresholds.measured
    from medcheck.report.tables import DIMENSIONS as COLUMNS

    assert {d.name: d.higher_is_better for d in DIMENSIONS} == {
        "memory_bytes": False, "bits_per_weight": False, "ttft_s": False, "act_s": False, "tps": True}
    assert medcheck.thresholds.measured.DIMENSIONS is DIMENSIONS
    assert not hasattr(medcheck.efficiency, "HIGHER_IS_BETTER") and not hasattr(medcheck.efficiency, "DIMS")
    assert [(c[0], c[-1]) for c in COLUMNS] == [(d.name, d.higher_is_better) for d in DIMENSIONS]
    assert "higher_is_better" not in GOOD
    for path in (REPO / "medcheck").rglob("*.py"):   # no second table of directions anywhere
        if path.name != "efficiency.py":
            assert not re.search(r"tps\W{0,3}:\s*(true|True)", path.read_text()), path


def test_an_old_higher_is_better_block_is_accepted_only_with_the_declared_meaning(tmp_path):
    same = "higher_is_better: {memory_bytes: false, bits_per_weight: false, ttft_s: false, act_s: false, tps: true}\n"
    assert _thresholds(tmp_path, same + GOOD).ces("bnb-nf4").value == 1.0
    with pytest.raises(ConfigError, match="(?s)higher_is_better.*part of its definition.*delete the higher_is_better"):
        _thresholds(tmp_path, same.replace("tps: true", "tps: false") + GOOD)
    with pytest.raises(ConfigError, match="decision.mode"):
        _thresholds(tmp_path, GOOD.replace("mode: catch-damage", "mode: catch-damages"))


# -- the CPU memory figure -----------------------------------------------------------------------

def test_tensor_peak_counts_new_storage_alive_at_once_never_views_or_older_tensors():
    import torch

    from medcheck.backends.memory import TensorPeak

    weights = torch.ones(256, 1024)                          # 1 MiB that exists before: never counted
    with TensorPeak() as peak:
        a = weights * 2                                      # +1 MiB
        view = a.t()[:10]                                    # a view: no new storage
        b = torch.relu(a)                                    # +1 MiB: 2 MiB alive
        del a, view
        c = b + 1                                            # a freed: 2 MiB again, not 3
        weights.t().contiguous().add_(1)                     # a temporary, freed at once: +1 MiB for a moment
        del b, c
    assert peak.peak == 3 * 2**20 and peak.live == 0


def test_the_cpu_memory_figure_of_the_embedded_model_is_the_same_every_time(embedded_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from medcheck.backends.hf import HFBackend
    from medcheck.efficiency import PROMPTS, one_run

    model = AutoModelForCausalLM.from_pretrained(embedded_dir, dtype=torch.bfloat16).eval()
    backend = HFBackend(model, AutoTokenizer.from_pretrained(embedded_dir))
    prompt = backend.chat(PROMPTS[0])[0]
    new = 4
    runs: list[tuple[float, float, int, int]] = []
    one_run(backend, prompt, new, 1234)   # warm-up, as `measure` does
    figures = [backend.peak_memory(lambda: runs.append(one_run(backend, prompt, new, 1234)))[0] for _ in range(3)]
    assert len(set(figures)) == 1, figures
    c = model.config
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    kv = c.num_hidden_layers * 2 * c.num_key_value_heads * head_dim * (runs[0][3] + new) * 2   # bfloat16
    weights = backend.footprint().weight_bytes
    assert weights + kv <= figures[0] < weights + 4 * kv + 2**26, (figures[0] - weights, kv)
