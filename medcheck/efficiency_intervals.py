"""Intervals of the efficiency track's ratios and CES, from the repeats of the timed runs (pure).

A timed dimension (TTFT, ACT, TPS) has one value per timed run on each side; its reported value
is the median. The interval of a side's median is distribution-free: the order statistics
[x(k), x(n+1-k)] with the largest k whose coverage, 1 - 2 P(Bin(n, 1/2) <= k - 1), is at least
the level asked (exact for i.i.d. runs of any continuous distribution; runs stratified over
several prompts only make it more conservative). With too few runs even [min, max] covers less:
the median is then bounded only by (0, inf), and the message says how many runs would bound it.

* A ratio of medians at confidence c: each side's median at 1 - (1 - c) / 2, the ratio's bounds the
  quotients of theirs (union bound: coverage >= c for the ratio of the two population medians).
* CES at confidence c: the mean of the oriented ratios, monotone in each, so its bounds are the
  means of the ratios' bounds, each timed ratio at 1 - (1 - c) / k for the k timed dimensions
  (Bonferroni: coverage >= c).
* A deterministic dimension (bits per weight; memory by tensor accounting or CUDA's peak
  allocation) has the point as its interval.

Assumed: the runs of one side are exchangeable (no drift during the measurement); the dense and
candidate sides are measured in the same run, one after the other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from medcheck.efficiency import Dimension, dims_of, ratios

if TYPE_CHECKING:
    from medcheck.efficiency import Efficiency

Interval = tuple[float, float]
UNBOUNDED: Interval = (0.0, math.inf)   # a positive quantity with too few runs to bound its median


def median_interval(values: Sequence[float], confidence: float) -> Interval:
    """Distribution-free interval of the population median from order statistics (see the module)."""
    xs = sorted(values)
    n, alpha = len(xs), 1.0 - confidence
    k, below = 0, 0.0
    for j in range(1, n // 2 + 1):
        below += math.comb(n, j - 1) / 2.0 ** n   # P(Bin(n, 1/2) <= j - 1)
        if 2.0 * below > alpha:
            break
        k = j
    return UNBOUNDED if k == 0 else (xs[k - 1], xs[n - k])


def runs_to_bound(confidence: float) -> int:
    """Runs per side for which [min, max] reaches `confidence` as an interval of the median."""
    return math.ceil(math.log2(2.0 / (1.0 - confidence)))


def _div(a: float, b: float) -> float:
    if b == math.inf:
        return 0.0
    return math.inf if b == 0.0 else a / b


def ratio_interval(dim: Dimension, dense: Efficiency, candidate: Efficiency, confidence: float) -> Interval:
    """Interval of one oriented ratio (> 1: the candidate is more efficient) at `confidence`."""
    if not dim.timed:
        value = ratios(dense, candidate, [dim.name])[dim.name]
        return value, value
    side = 1.0 - (1.0 - confidence) / 2.0
    d_lo, d_hi = median_interval(dense.samples.get(dim.name, []), side)   # no runs: unbounded
    c_lo, c_hi = median_interval(candidate.samples.get(dim.name, []), side)
    if dim.higher_is_better:
        return _div(c_lo, d_hi), _div(c_hi, d_lo)
    return _div(d_lo, c_hi), _div(d_hi, c_lo)


def ratio_intervals(dense: Efficiency, candidate: Efficiency, confidence: float,
                    names: Sequence[str] | None = None) -> dict[str, Interval]:
    """Each oriented ratio's interval at `confidence` (each on its own, as a ratio floor uses it)."""
    return {d.name: ratio_interval(d, dense, candidate, confidence) for d in dims_of(names)}


def ces_interval(dense: Efficiency, candidate: Efficiency, confidence: float,
                 names: Sequence[str] | None = None) -> Interval:
    """CES's interval at `confidence`: the timed ratios at Bonferroni-adjusted levels (see the module)."""
    dims = dims_of(names)
    timed = sum(d.timed for d in dims)
    each = 1.0 - (1.0 - confidence) / max(timed, 1)
    bounds = [ratio_interval(d, dense, candidate, each) for d in dims]
    return math.fsum(lo for lo, _ in bounds) / len(dims), math.fsum(hi for _, hi in bounds) / len(dims)


def ces_runs_to_bound(confidence: float, names: Sequence[str] | None = None) -> int:
    """Timed runs per side that give every timed ratio of CES a finite interval at `confidence`."""
    timed = max(sum(d.timed for d in dims_of(names)), 1)
    return runs_to_bound(1.0 - (1.0 - confidence) / timed / 2.0)
