"""Coverage of the exact CPS interval by simulation (the README's table: python -m medcheck.stats_coverage).

Each one-sided miss is a gate error (true CPS below the lower bound: a pass it should not give;
above the upper bound: a fail it should not give), so each must stay <= (1 - confidence) / 2,
at n = 5 to 1,000, zero discordance included, for single datasets and a track of three.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from medcheck import stats_coverage as cov
from medcheck.paired_exact import cps_interval
from medcheck.stats import Paired

REPS = 300          # per scenario: 80 scenarios, ~1 s


@pytest.fixture(scope="module")
def rows():
    return cov.table(reps=REPS, seed=1)


def test_every_scenario_is_simulated(rows):
    assert {r.n for r in rows} == set(cov.NS)
    assert len(rows) == len(cov.NS) * len(cov.KINDS) * (len(cov.ACCURACIES) + 1)
    identical = [r for r in rows if r.label.startswith("identical") and r.runs]
    assert identical and all(r.zero_discordance == 1.0 for r in identical)     # b = c = 0 in every run


@pytest.mark.parametrize("confidence", [0.95])
def test_each_one_sided_miss_stays_within_its_level(rows, confidence):
    alpha = (1 - confidence) / 2
    for r in rows:
        slack = 3 * math.sqrt(alpha * (1 - alpha) / max(r.runs, 1))
        assert r.miss_low <= alpha + slack and r.miss_high <= alpha + slack, r
        assert r.coverage >= confidence - 2 * slack, r
    total = sum(r.runs for r in rows)
    assert sum(r.miss_low * r.runs for r in rows) / total <= alpha
    assert sum(r.miss_high * r.runs for r in rows) / total <= alpha


def test_a_small_sample_without_discordance_keeps_a_wide_interval():
    row = cov.simulate([cov.cell_probs(0.6, "identical")], 10, 50, 0.95, np.random.default_rng(0), "x")
    assert row.zero_discordance == 1.0 and row.coverage == 1.0
    iv = cps_interval(Paired.single([1] * 6 + [0] * 4, [1] * 6 + [0] * 4))
    assert iv.value == 1.0 and iv.low < 0.7 and iv.high > 1.3


def test_scores_between_0_and_1_keep_their_coverage():
    """Item means in [0, 1] are coupled to 0/1 outcomes with a seeded uniform (paired_exact)."""
    rng = np.random.default_rng(5)
    levels = np.array([0.0, 0.5, 1.0])
    dense_p, cand_p = np.array([0.3, 0.3, 0.4]), np.array([0.4, 0.3, 0.3])     # E d = 0.55, E c = 0.45
    truth = math.log2(1 + (cand_p @ levels) / (dense_p @ levels))
    misses = 0
    runs = 300
    for seed in range(runs):
        d, c = rng.choice(levels, 40, p=dense_p), rng.choice(levels, 40, p=cand_p)
        if d.sum() == 0:
            continue
        iv = cps_interval(Paired.single(d.tolist(), c.tolist()), 0.95, seed)
        misses += not iv.low <= truth <= iv.high
    assert misses / runs <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / runs)


def test_the_command_prints_the_table(capsys):
    assert cov.main(["--reps", "20"]) == 0
    out = capsys.readouterr().out
    assert "| candidate" in out and "| identical" in out and "n = 1000" in out and "worst one-sided miss" in out
    assert cov.main(["--reps", "20", "--full"]) == 0
    assert "identical, dense 0.3" in capsys.readouterr().out
