"""medcheck.stats: worked values, properties of the intervals and the paired record."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medcheck import metrics
from medcheck.stats import (
    Paired,
    bootstrap_interval,
    cps_interval,
    items_to_decide,
    mcnemar_one_sided,
    mde,
    mde_cps,
    wilson,
)

# 20 items over two datasets: b=3 (dense right, candidate wrong), c=2
DENSE = [1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1]
CAND = [1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1]
STRATA = ["medqa"] * 10 + ["pubmedqa"] * 10
WORKED = Paired(tuple(DENSE), tuple(CAND), tuple(STRATA))


# -- Wilson --------------------------------------------------------------------------------------

def test_wilson_hand_computed():
    # p = 0.3, n = 10, z = 1.959964: z^2/n = 0.3841459, centre = (0.3 + 0.1920729) / 1.3841459
    # = 0.3555066, half = z * sqrt(0.021 + 0.0096036) / 1.3841459 = 0.3428741 / 1.3841459 = 0.2477153
    lo, hi = wilson(3, 10)
    assert lo == pytest.approx(0.1077913, abs=1e-6)
    assert hi == pytest.approx(0.6032219, abs=1e-6)


def test_wilson_edges():
    assert wilson(0, 0) == (0.0, 1.0)
    lo, hi = wilson(0, 25)
    assert lo == 0.0 and 0.0 < hi < 0.2
    lo, hi = wilson(25, 25)
    assert hi == 1.0 and 0.8 < lo < 1.0
    assert wilson(7.5, 10)[0] < 0.75 < wilson(7.5, 10)[1]      # fractional successes (scores)
    for bad in ((11, 10), (-1, 10), (1, -1)):
        with pytest.raises(ValueError):
            wilson(*bad)
    with pytest.raises(ValueError):
        wilson(3, 10, confidence=1.0)


@given(st.integers(0, 2000), st.integers(1, 2000), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_contains_the_point_estimate(k, n, conf):
    k = min(k, n)
    lo, hi = wilson(k, n, conf)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


@given(st.integers(0, 20), st.integers(1, 20), st.integers(2, 50))
def test_wilson_narrows_as_n_grows_at_fixed_proportion(k, n, factor):
    k = min(k, n)
    lo1, hi1 = wilson(k, n)
    lo2, hi2 = wilson(k * factor, n * factor)
    assert hi2 - lo2 < hi1 - lo1


# -- McNemar -------------------------------------------------------------------------------------

@pytest.mark.parametrize("b, c, p", [(3, 0, 0.125), (5, 1, 7 / 64), (0, 0, 1.0), (0, 7, 1.0),
                                     (2, 2, 11 / 16), (1, 0, 0.5), (10, 0, 1 / 1024)])
def test_mcnemar_exact_values(b, c, p):
    assert mcnemar_one_sided(b, c) == p


def test_mcnemar_rejects_bad_counts():
    for bad in ((-1, 2), (1.5, 2), (True, 2), (2, "3")):
        with pytest.raises(ValueError):
            mcnemar_one_sided(*bad)


def test_mcnemar_large_counts():
    assert mcnemar_one_sided(600, 400) < 1e-9
    assert mcnemar_one_sided(500, 500) == pytest.approx(0.5 + 0.5 * math.comb(1000, 500) / 2**1000)


@given(st.integers(1, 300), st.integers(0, 300))
def test_mcnemar_tails_are_complementary(b, c):
    """P(X >= b) + P(X <= b - 1) = 1, and P(X <= b - 1) = P(X >= c + 1) by symmetry."""
    assert mcnemar_one_sided(b, c) + mcnemar_one_sided(c + 1, b - 1) == pytest.approx(1.0, abs=1e-12)


# -- the paired record ---------------------------------------------------------------------------

def test_paired_counts_and_means():
    assert WORKED.n == 20
    assert WORKED.discordant == (3, 2)
    assert WORKED.flip_rate == 0.25
    assert WORKED.discordance == 0.25
    assert WORKED.is_binary
    dense, cand = WORKED.stratum_means()
    assert dense == {"medqa": 0.8, "pubmedqa": 0.7}
    assert cand == pytest.approx({"medqa": 0.7, "pubmedqa": 0.7})
    assert WORKED.names == ("medqa", "pubmedqa")


def test_paired_non_binary_scores():
    p = Paired.single([0.5, 0.8, 0.2, 1.0], [0.4, 0.8, 0.6, 1.0])
    assert p.discordant == (1, 1)
    assert p.flip_rate == 0.5
    assert p.discordance == pytest.approx((0.01 + 0.16) / 4)
    assert not p.is_binary


@pytest.mark.parametrize("dense, cand, strata", [
    ((1, 0), (1,), ("a", "a")), ((1, 0), (1, 0), ("a",)), ((), (), ()),
    ((1.5,), (1,), ("a",)), ((math.nan,), (1,), ("a",)), ((1,), (-0.1,), ("a",)),
    ((1,), (1,), ("",)), ((1,), (1,), (3,)), (("1",), (1,), ("a",)),
])
def test_paired_validation(dense, cand, strata):
    with pytest.raises(ValueError):
        Paired(dense, cand, strata)


def test_paired_is_frozen_and_stores_tuples():
    p = Paired([True, False], [1, 1], ["a", "b"])
    assert p.dense == (1.0, 0.0) and isinstance(p.candidate, tuple)
    with pytest.raises(AttributeError):
        p.dense = (1.0,)  # type: ignore[misc]


records = st.lists(st.tuples(st.sampled_from([0.0, 1.0]), st.sampled_from([0.0, 1.0]),
                             st.sampled_from(["medqa", "pubmedqa"])), min_size=1, max_size=60)


@given(records)
def test_swapping_dense_and_candidate_mirrors_b_and_c(rows):
    p = Paired(tuple(r[0] for r in rows), tuple(r[1] for r in rows), tuple(r[2] for r in rows))
    b, c = p.discordant
    assert p.swapped().discordant == (c, b)
    assert p.swapped().flip_rate == p.flip_rate
    assert mcnemar_one_sided(*p.swapped().discordant) == mcnemar_one_sided(c, b)


# -- bootstrap -----------------------------------------------------------------------------------

def test_bootstrap_fixed_seed_is_reproducible_to_the_digit():
    first = bootstrap_interval(WORKED, metrics.cps, resamples=2000, seed=0)
    assert first == bootstrap_interval(WORKED, metrics.cps, resamples=2000, seed=0)
    assert first == (0.7337524595864897, 1.1961587113893801)
    assert bootstrap_interval(WORKED, metrics.cps, seed=1) != first


def test_vectorised_cps_interval_matches_the_generic_bootstrap():
    iv = cps_interval(WORKED, 0.9, resamples=500, seed=3)
    lo, hi = bootstrap_interval(WORKED, metrics.cps, 0.9, resamples=500, seed=3)
    assert (iv.low, iv.high) == pytest.approx((lo, hi), abs=1e-12)
    assert iv.value == metrics.cps(*WORKED.stratum_means())
    assert iv.dropped == 0


def test_bootstrap_keeps_strata_apart():
    """Items are resampled within their stratum: a stratum without flips never shows a difference,
    however much the other one moves."""
    p = Paired([1, 0, 1, 1, 1, 0], [0, 1, 0, 1, 1, 0], ["a", "a", "a", "b", "b", "b"])
    lo, hi = bootstrap_interval(p, lambda d, c: c["b"] - d["b"])
    assert lo == hi == 0.0
    lo, hi = bootstrap_interval(p, lambda d, c: c["a"] - d["a"])
    assert lo < 0.0 < hi


def test_bootstrap_narrows_as_n_grows_at_fixed_proportions():
    widths = []
    for k in (1, 4, 16):
        p = Paired(tuple(DENSE) * k, tuple(CAND) * k, tuple(STRATA) * k)
        lo, hi = cps_interval(p).low, cps_interval(p).high
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2]
    assert widths[1] / widths[2] == pytest.approx(2.0, rel=0.15)      # ~ 1 / sqrt(n)


def test_bootstrap_handles_non_binary_scores():
    p = Paired.single([0.9, 0.8, 0.7, 0.6, 0.5] * 4, [0.85, 0.8, 0.7, 0.65, 0.4] * 4)
    iv = cps_interval(p)
    assert iv.low <= iv.value <= iv.high < 1.1


def test_zero_dense_mean_in_a_resample_is_dropped():
    # one dense-correct item in 10: ~35% of resamples miss it (dense mean 0, CPS undefined)
    p = Paired.single([1] + [0] * 9, [1, 1, 1] + [0] * 7)
    iv = cps_interval(p, resamples=1000)
    assert 200 < iv.dropped < 500
    assert math.isfinite(iv.low) and iv.low <= iv.value <= iv.high
    assert (iv.low, iv.high) == pytest.approx(bootstrap_interval(p, metrics.cps, resamples=1000), abs=1e-12)


def test_zero_observed_dense_mean_raises():
    with pytest.raises(ValueError):
        cps_interval(Paired.single([0, 0, 0], [1, 0, 0]))
    with pytest.raises(ValueError):
        bootstrap_interval(Paired.single([0, 0, 0], [1, 0, 0]), metrics.cps)


def test_bootstrap_rejects_bad_arguments():
    with pytest.raises(ValueError):
        bootstrap_interval(WORKED, metrics.cps, resamples=0)
    with pytest.raises(ValueError):
        bootstrap_interval(WORKED, metrics.cps, confidence=1.5)


paired_records = st.lists(st.tuples(st.sampled_from([0.0, 1.0]), st.sampled_from([0.0, 0.5, 1.0])),
                          min_size=3, max_size=40).filter(lambda rows: any(d == 1.0 for d, _ in rows))


@settings(max_examples=40, deadline=None)
@given(paired_records, st.integers(0, 1000), st.sampled_from([0.8, 0.95]))
def test_bootstrap_interval_contains_the_point_estimate(rows, seed, conf):
    p = Paired.single([d for d, _ in rows], [c for _, c in rows])
    iv = cps_interval(p, conf, resamples=300, seed=seed)
    assert iv.low <= iv.value <= iv.high


# -- power and sample size -----------------------------------------------------------------------

def test_mde_worked_values():
    z = 1.959964 + 1.281552
    assert mde(400, 0.1) == pytest.approx(z * math.sqrt(0.1 / 400), rel=1e-5)      # 0.05125
    assert mde(400, 0.0) == pytest.approx(z * z / 400, rel=1e-5)                   # no flips: D = z^2 / n
    assert mde(10, 0.5, dense_accuracy=0.3) == math.inf
    assert mde_cps(0.05, 0.6) == pytest.approx(math.log2(1 + 0.55 / 0.6))
    assert mde_cps(0.0, 0.6) == 1.0 and mde_cps(0.9, 0.6) == 0.0


@given(st.integers(1, 5000), st.floats(0.0, 1.0), st.integers(1, 5000))
def test_mde_shrinks_with_n(n1, f, extra):
    assert mde(n1 + extra, f) < mde(n1, f)


def test_items_to_decide():
    # value 0.912 [0.861, 0.958] on floor 0.900: the lower half (0.051) must shrink below 0.012
    assert items_to_decide(100, 0.912, 0.861, 0.958, 0.900) == math.ceil(100 * (0.051 / 0.012) ** 2)
    assert items_to_decide(100, 0.88, 0.83, 0.93, 0.90) == math.ceil(100 * (0.05 / 0.02) ** 2)
    assert items_to_decide(100, 0.90, 0.85, 0.95, 0.90) is None
    assert items_to_decide(100, 0.95, 0.899, 1.0, 0.90) >= 101
