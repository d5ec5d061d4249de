"""Paired bootstrap of scores that are not means of per-item values (corpus F1, Pearson, TWY).

Each resample draws the same item indices for the dense and the candidate run of a dataset and
rescores both with the dataset's own scorer, so a corpus metric is resampled as it is computed.
The statistic then combines the per-dataset (dense, candidate) performances of a resample.

A percentile bootstrap is not valid on few items or few discordant ones (over identical runs it
gives an interval of zero width), so the interval returned is never narrower than the exact paired
interval (medcheck.paired_exact) of the same discordance: per dataset, n items, round(P_d * n)
dense-right, b items the candidate does worse on and c better (item scores, else exact matches),
whose exact ratio bounds R_low, R_high (Bonferroni over datasets) put the candidate at P_d * R_low
and P_d * R_high; the statistic at those two points widens the bootstrap's interval where needed.
A statistic of candidate - dense (TWY) takes the exact bounds of that difference instead, which
hold without a dense item right and include the dense score's own uncertainty.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from medcheck.datasets.types import TextItem
    from medcheck.results import PairResult
    from medcheck.scoring.generative import GenerativeSpec

RESAMPLES = 400   # each resample rescores every dataset twice; 400 keeps a 2.5% tail stable to ~0.01

Statistic = Callable[[dict[str, tuple[float, float]]], float]   # dataset id -> (dense, candidate) -> value


def interval(results: Sequence[PairResult], statistic: Statistic, observed: float, confidence: float,
             seed: int, label: str, resamples: int = RESAMPLES, difference: bool = False) -> tuple[float, float]:
    """Two-sided percentile interval of `statistic` over paired item resamples, holding `observed`;
    `difference` as in exact_floor."""
    from medcheck import datasets

    rng = random.Random(f"{seed}:{label}")
    # the datasets rescored here are generated ones (records with parsed answers, text items)
    specs = {r.dataset.id: cast("GenerativeSpec", datasets.info(r.dataset.id)) for r in results}
    values = []
    for _ in range(resamples):
        perf = {}
        for r in results:
            n = r.dataset.n
            idx = [rng.randrange(n) for _ in range(n)]
            items = cast("list[TextItem]", [r.dataset.items[i] for i in idx])
            dense, cand = (specs[r.dataset.id].score(items, [run.records[i].parsed for i in idx])
                           for run in (r.dense, r.candidate))
            perf[r.dataset.id] = (dense.performance, cand.performance)
        try:
            values.append(statistic(perf))
        except (ValueError, ZeroDivisionError):   # undefined in this resample (a dense score of 0)
            continue
    if len(values) < resamples * (1 - (1 - confidence) / 2):
        # the reference was undefined (a dense score of 0) in more resamples than a tail holds:
        # the interval excludes nothing (the upper end was the largest resample, 0.000 [0, 0] for a
        # candidate scoring 0 against a dense F1 that one item carries)
        return 0.0, math.inf
    values.sort()
    lo = values[int((1 - confidence) / 2 * (len(values) - 1))]
    hi = values[int((1 + confidence) / 2 * (len(values) - 1))]
    exact = exact_floor(results, statistic, confidence, seed, difference)
    if exact is not None:
        lo, hi = min(lo, exact[0]), max(hi, exact[1])
    return min(lo, observed), max(hi, observed)


def discordance(result: PairResult, seed: int = 0) -> tuple[int, int] | None:
    """(b, c): items the candidate does worse / better on, by item score (0/1-coupled as in
    medcheck.paired_exact when fractional) or else by exact match; None without either."""
    from medcheck.paired_exact import binarize
    from medcheck.stats import Paired

    dense, cand = result.dense.item_scores(), result.candidate.item_scores()
    if dense is None or cand is None:
        dense, cand = exact_matches(result, result.dense), exact_matches(result, result.candidate)
    if dense is None or cand is None or not dense:
        return None
    d, c = binarize(Paired.single(dense, cand), seed)
    return int((d & ~c).sum()), int((~d & c).sum())


def exact_floor(results: Sequence[PairResult], statistic: Statistic, confidence: float,
                seed: int = 0, difference: bool = False) -> tuple[float, float] | None:
    """The statistic at the exact paired bounds of each dataset (module doc), or None where a
    dataset has no per-item comparison or the statistic is undefined there.

    `difference`: the statistic depends on each dataset's candidate - dense (TWY), so the points
    are the exact bounds of that difference (medcheck.paired_exact.difference_bounds) rather than
    of the ratio at the observed dense score: the ratio leaves the dense score's own uncertainty
    out, and at a dense score of 0 it would put the dense model at 0 for certain."""
    from medcheck.paired_exact import difference_bounds, ratio_bounds

    low: dict[str, tuple[float, float]] = {}
    high: dict[str, tuple[float, float]] = {}
    side = (1.0 - confidence) / 2.0 / max(len(results), 1)
    for r in results:
        bc = discordance(r, seed)
        n, p_d = r.dataset.n, r.dense.score
        if bc is None or n == 0:
            return None
        if difference:
            d_low, d_high = (float(x) for x in difference_bounds(n, bc[0], bc[1], side))
            # any performances with that difference: the nearest to the observed dense score
            low[r.dataset.id] = (dense := min(max(p_d, -d_low), 1.0), dense + d_low)
            high[r.dataset.id] = (dense := max(min(p_d, 1.0 - d_high), 0.0), dense + d_high)
            continue
        n_d = min(n, max(round(p_d * n), 1 if p_d > 0 else 0))
        b, c = min(bc[0], n_d), min(bc[1], n - n_d)
        r_low, r_high = (float(x) for x in ratio_bounds(n, n_d, b, c, side))
        low[r.dataset.id] = (p_d, p_d * r_low)
        # the ratio's bound may pass 1 (as in decide_cps), the candidate's performance cannot: a
        # performance above 1 gave TWY upper ends of 1e277; with no dense item right the ratio is
        # unbounded and the candidate may score anything (0 * inf would be nan and hide the end)
        high[r.dataset.id] = (p_d, min(p_d * r_high, 1.0) if n_d > 0 else 1.0)
    try:
        ends = (statistic(low), statistic(high))
    except (ValueError, ZeroDivisionError):
        return None
    return min(ends), max(ends)


MIN_ITEMS = 20   # a percentile bootstrap over fewer items per dataset covers poorly: it may not fail a test


def fail_unsupported(results: Sequence[PairResult], level: float) -> str | None:
    """Why a bootstrap-interval fail is not backed by enough evidence, or None when it is.

    Every dataset needs MIN_ITEMS items; where every dataset's metric is an item mean, the exact
    one-sided sign test on items the candidate does worse / better on (pooled) must also reach
    `level`, as a fail on the paired CPS statistics must (medcheck.decision)."""
    from medcheck.stats import mcnemar_one_sided

    small = [r.dataset.id for r in results if r.dataset.n < MIN_ITEMS]
    if small:
        return f"fewer than {MIN_ITEMS} items in {', '.join(small)}: too few for a bootstrap interval to fail a test"
    worse = better = 0
    for r in results:
        dense, cand = r.dense.item_scores(), r.candidate.item_scores()
        if dense is None or cand is None:   # a corpus metric: items answered exactly right instead
            dense, cand = exact_matches(r, r.dense), exact_matches(r, r.candidate)
        if dense is None or cand is None:
            return None
        worse += sum(d > c for d, c in zip(dense, cand))
        better += sum(c > d for d, c in zip(dense, cand))
    p = mcnemar_one_sided(int(worse), int(better))
    return None if p <= level else (f"the exact sign test on items ({worse} worse, {better} better) gives "
                                     f"p={p:.3g} > {level:g}")


def pass_unsupported(results: Sequence[PairResult]) -> str | None:
    """Why a pass on this interval is not backed, or None when it is: where a dataset has no
    per-item comparison the interval is the percentile bootstrap alone (exact_floor cannot widen
    it), which over fewer than MIN_ITEMS items is too narrow to pass a test, as it is to fail one."""
    alone = [r.dataset.id for r in results if discordance(r) is None]
    small = [r.dataset.id for r in results if r.dataset.n < MIN_ITEMS]
    if not alone or not small:
        return None
    return (f"no per-item comparison in {', '.join(alone)}, so the interval is a bootstrap alone, and fewer than "
            f"{MIN_ITEMS} items in {', '.join(small)}: too few for it to pass a test")


def exact_matches(result: PairResult, run: Any) -> tuple[float, ...] | None:
    """1.0 per item whose parsed answer equals its gold (lists compared as sets), or None where
    items have no gold answer to match (refusal probes, human ratings)."""
    import json

    def norm(x: Any) -> str:
        return json.dumps(sorted(map(str, x)) if isinstance(x, (list, tuple)) else x, sort_keys=True)

    items = result.dataset.items
    if not items or any(getattr(i, "gold", None) is None for i in items):
        return None
    return tuple(float(r.parsed is not None and norm(r.parsed) == norm(i.gold)) for i, r in zip(items, run.records))
