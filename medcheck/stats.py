"""Statistics of a paired release gate: intervals, exact tests and power. Pure functions, no I/O.

The dense model and its compressed candidate answer the *same* items, so every statistic here
is paired: per item we hold a dense score and a candidate score in [0, 1] (0/1 accuracy today;
F1 contributions or refusal indicators later), plus the item's stratum (its dataset id), so that
track-level scores such as CPS (a mean over datasets) resample within each dataset.

* ``wilson`` -- score interval of a proportion (two-sided, ``confidence`` coverage).
* ``mcnemar_one_sided`` -- exact one-sided McNemar (sign) test of "the candidate loses nothing".
* ``Paired`` -- the aligned per-item record with discordant counts, flip rate, stratum means.
* ``bootstrap_interval`` -- paired, stratified, seeded percentile bootstrap of any statistic of
  the per-stratum means; ``cps_interval`` is its vectorised CPS special case (same numbers).
* ``mde`` / ``mde_cps`` / ``items_to_decide`` -- minimum detectable damage and sample size.

Bootstrap. Items are resampled with replacement *within* each stratum (stratum sizes kept),
dense and candidate scores of an item together. Resample ``r`` draws, for each stratum in
sorted order, ``n_s`` indices from one ``numpy.random.default_rng(seed)`` stream; so the
resamples depend only on (seed, strata, item order), and any statistic computed from the same
seed sees the same resamples. The interval is the two-sided percentile interval
(``numpy.quantile``, linear interpolation) at ``(1 - confidence) / 2`` and ``(1 + confidence)
/ 2``, widened if needed to contain the observed statistic (a percentile interval can miss it
on tiny, skewed strata; a gate must never report a point outside its own interval).

Zero dense mean. CPS is undefined when a stratum's dense mean is 0 (log2(1 + c / 0)). The
observed CPS then raises (``metrics.cps``). In a *resample* it can happen by chance on a stratum
with few dense-correct items; such resamples are dropped and the percentile is taken over the
rest -- a bootstrap conditional on the statistic being defined (any statistic that raises
``ValueError``/``ZeroDivisionError`` or returns a non-finite value is treated the same way).
Substituting the observed value instead would shrink the interval exactly where the data are
thinnest; dropping keeps the wide resamples (dense 1/n_s against candidate 3/n_s gives CPS 2)
that honestly say "too few items". ``cps_interval`` reports how many were dropped.

Power. See ``mde`` and ``items_to_decide``; both use a normal approximation of the mean paired
difference d_i = dense_i - candidate_i, whose second moment E[d^2] is the flip rate for 0/1
scores (``Paired.discordance`` generalises it to any score in [0, 1]).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

Statistic = Callable[[Mapping[str, float], Mapping[str, float]], float]

_NORMAL = NormalDist()


def z_two_sided(confidence: float) -> float:
    """The normal quantile of a two-sided interval: 1.959964 at 0.95."""
    _check_confidence(confidence)
    return _NORMAL.inv_cdf(0.5 + confidence / 2.0)


def _check_confidence(confidence: float) -> None:
    if isinstance(confidence, bool) or not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


# -- proportions and exact tests ---------------------------------------------------------------


def wilson(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Wilson score interval of ``successes / n``; (0, 1) when n == 0.

    ``successes`` may be fractional (a sum of scores in [0, 1]). The bounds are clamped so the
    point estimate is always inside, even where rounding would put it a hair outside at 0 or 1.
    """
    if isinstance(n, bool) or n < 0 or not 0.0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n, got successes={successes!r}, n={n!r}")
    if n == 0:
        return 0.0, 1.0
    z = z_two_sided(confidence)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / (1.0 + z2n)
    return max(0.0, min(centre - half, p)), min(1.0, max(centre + half, p))


def mcnemar_one_sided(b: int, c: int) -> float:
    """Exact one-sided p that the candidate loses nothing: P(X >= b), X ~ Binomial(b + c, 1/2).

    b = items the dense model gets right and the candidate wrong, c = the reverse. A small p
    is evidence of damage. 1.0 when there is no discordant item. Exact in integer arithmetic.
    """
    for name, v in (("b", b), ("c", c)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise ValueError(f"{name} must be a non-negative int, got {v!r}")
    b, c = int(b), int(c)
    n = b + c
    if n == 0:
        return 1.0
    return sum(math.comb(n, k) for k in range(b, n + 1)) / 2**n


# -- the paired record -------------------------------------------------------------------------


def _scores(name: str, values: Sequence[Any]) -> tuple[float, ...]:
    out = []
    for i, v in enumerate(values):
        if isinstance(v, (str, bytes)):
            raise ValueError(f"{name}[{i}] is not a number: {v!r}")
        x = float(v)
        if not 0.0 <= x <= 1.0:  # also rejects NaN
            raise ValueError(f"{name}[{i}] = {x!r} is outside [0, 1]")
        out.append(x)
    return tuple(out)


@dataclass(frozen=True)
class Paired:
    """Aligned per-item scores of the dense model and a candidate on the same items.

    ``dense[i]``, ``candidate[i]`` in [0, 1] score item i; ``strata[i]`` is its dataset id.
    Lists and bools are accepted and stored as tuples of floats.
    """

    dense: tuple[float, ...]
    candidate: tuple[float, ...]
    strata: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "dense", _scores("dense", self.dense))
        object.__setattr__(self, "candidate", _scores("candidate", self.candidate))
        object.__setattr__(self, "strata", tuple(self.strata))
        n = len(self.dense)
        if n == 0:
            raise ValueError("Paired needs at least one item")
        if len(self.candidate) != n or len(self.strata) != n:
            raise ValueError(f"misaligned Paired: {n} dense, {len(self.candidate)} candidate, "
                             f"{len(self.strata)} strata")
        bad = [i for i, s in enumerate(self.strata) if not isinstance(s, str) or not s]
        if bad:
            raise ValueError(f"strata must be non-empty strings (dataset ids); bad at items {bad[:5]}")

    @classmethod
    def single(cls, dense: Sequence[float], candidate: Sequence[float], stratum: str = "all") -> Paired:
        """One stratum: a single dataset."""
        return cls(tuple(dense), tuple(candidate), (stratum,) * len(dense))

    @property
    def n(self) -> int:
        return len(self.dense)

    @property
    def names(self) -> tuple[str, ...]:
        """The strata, sorted: the order of every per-stratum array and of the resampling."""
        return tuple(sorted(set(self.strata)))

    @property
    def discordant(self) -> tuple[int, int]:
        """(b, c): items where dense > candidate, and where candidate > dense."""
        b = sum(1 for d, c in zip(self.dense, self.candidate) if d > c)
        c = sum(1 for d, c in zip(self.dense, self.candidate) if c > d)
        return b, c

    @property
    def flip_rate(self) -> float:
        """(b + c) / n: the share of items whose score changed."""
        b, c = self.discordant
        return (b + c) / self.n

    @property
    def discordance(self) -> float:
        """mean((dense - candidate)^2): the flip rate for 0/1 scores, its analogue otherwise."""
        return math.fsum((d - c) ** 2 for d, c in zip(self.dense, self.candidate)) / self.n

    @property
    def is_binary(self) -> bool:
        return all(v in (0.0, 1.0) for v in self.dense + self.candidate)

    @property
    def dense_mean(self) -> float:
        return math.fsum(self.dense) / self.n

    @property
    def candidate_mean(self) -> float:
        return math.fsum(self.candidate) / self.n

    def stratum_means(self) -> tuple[dict[str, float], dict[str, float]]:
        """(dense means, candidate means) per stratum, keys in sorted order."""
        sums: dict[str, list[float]] = {s: [] for s in self.names}
        cands: dict[str, list[float]] = {s: [] for s in self.names}
        for d, c, s in zip(self.dense, self.candidate, self.strata):
            sums[s].append(d)
            cands[s].append(c)
        return ({s: math.fsum(v) / len(v) for s, v in sums.items()},
                {s: math.fsum(v) / len(v) for s, v in cands.items()})

    def swapped(self) -> Paired:
        """The same items with the roles of dense and candidate exchanged."""
        return Paired(self.candidate, self.dense, self.strata)


# -- bootstrap ---------------------------------------------------------------------------------


def resample_weights(strata: Sequence[str], resamples: int, seed: int) -> list[tuple[Any, Any]]:
    """Per stratum (sorted): (item indices, counts (resamples, n_s)) of a stratified bootstrap.

    ``counts[r, j]`` is how often item j of the stratum is drawn in resample r; each row sums to
    n_s. Means of any score vector x over resample r are ``counts[r] @ x[idx] / n_s``, which
    lets one set of resamples serve many candidates at once (``power.simulate``).
    """
    import numpy as np

    if isinstance(resamples, bool) or resamples < 1:
        raise ValueError(f"resamples must be a positive int, got {resamples!r}")
    labels = np.asarray(strata)
    rng = np.random.default_rng(seed)
    out = []
    for name in sorted(set(strata)):
        idx = np.flatnonzero(labels == name)
        m = idx.size
        draws = rng.integers(0, m, size=(resamples, m))
        flat = draws + (np.arange(resamples) * m)[:, None]
        counts = np.bincount(flat.ravel(), minlength=resamples * m).reshape(resamples, m)
        out.append((idx, counts.astype(np.float64)))
    return out


def resampled_means(weights: list[tuple[Any, Any]], values: Any) -> np.ndarray:
    """Per-stratum means of ``values`` (shape (..., n)) in each resample: shape (..., R, S)."""
    import numpy as np

    x = np.asarray(values, dtype=np.float64)
    cols = [(x[..., idx] @ counts.T) / idx.size for idx, counts in weights]
    return np.stack(cols, axis=-1)


def cps_rows(dense_means: Any, candidate_means: Any) -> np.ndarray:
    """CPS of each row of per-stratum means (shape (..., S)); NaN where a dense mean is 0."""
    import numpy as np

    d = np.asarray(dense_means, dtype=np.float64)
    c = np.asarray(candidate_means, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.log2(1.0 + c / d)
    terms = np.where(d > 0.0, terms, np.nan)
    return terms.mean(axis=-1)


def percentile_interval(values: Any, confidence: float, observed: Any) -> tuple[Any, Any]:
    """Two-sided percentile interval over the last axis, NaNs dropped, widened to hold ``observed``."""
    import numpy as np

    _check_confidence(confidence)
    q = [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0]
    lo, hi = np.nanquantile(np.asarray(values, dtype=np.float64), q, axis=-1)
    return np.minimum(lo, observed), np.maximum(hi, observed)


def _statistic_or_nan(statistic: Statistic, dense: Mapping[str, float], cand: Mapping[str, float]) -> float:
    try:
        value = float(statistic(dense, cand))
    except (ValueError, ZeroDivisionError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def bootstrap_interval(paired: Paired, statistic: Statistic, confidence: float = 0.95,
                       resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Paired stratified percentile bootstrap interval of ``statistic(dense_means, cand_means)``.

    ``statistic`` maps two {stratum: mean} dicts to a float, e.g. ``metrics.cps`` for the CPS
    over a track. Resamples where it is undefined are dropped (see the module docstring);
    ValueError when fewer than 2 remain or the observed statistic is undefined.
    """
    import numpy as np

    names = paired.names
    observed = float(statistic(*paired.stratum_means()))
    weights = resample_weights(paired.strata, resamples, seed)
    d = resampled_means(weights, paired.dense)
    c = resampled_means(weights, paired.candidate)
    values = np.array([_statistic_or_nan(statistic, dict(zip(names, dr.tolist())), dict(zip(names, cr.tolist())))
                       for dr, cr in zip(d, c)])
    _enough(values)
    lo, hi = percentile_interval(values, confidence, observed)
    return float(lo), float(hi)


def _enough(values: Any) -> int:
    import numpy as np

    valid = int(np.count_nonzero(~np.isnan(values)))
    if valid < 2:
        raise ValueError(f"the statistic is undefined in {values.size - valid} of {values.size} resamples: "
                         "too few dense-correct items to bootstrap")
    return values.size - valid


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float
    dropped: int          # resamples where CPS was undefined (a dense mean of 0), left out
    resamples: int


def cps_interval(paired: Paired, confidence: float = 0.95, resamples: int = 2000, seed: int = 0) -> Interval:
    """``bootstrap_interval(paired, metrics.cps, ...)``, vectorised, with the dropped count."""
    from medcheck.metrics import cps

    observed = cps(*paired.stratum_means())
    weights = resample_weights(paired.strata, resamples, seed)
    values = cps_rows(resampled_means(weights, paired.dense), resampled_means(weights, paired.candidate))
    dropped = _enough(values)
    lo, hi = percentile_interval(values, confidence, observed)
    return Interval(observed, float(lo), float(hi), dropped, resamples)


# -- power and sample size ---------------------------------------------------------------------


def mde(n: int, flip_rate: float, confidence: float = 0.95, power: float = 0.9,
        dense_accuracy: float | None = None) -> float:
    """Smallest accuracy drop (a fraction) a one-sided paired test detects with ``power``.

    The test is the lower tail of the gate's two-sided ``confidence`` interval, i.e. one-sided at
    alpha = (1 - confidence) / 2. Normal approximation on the mean paired difference d̄ of n
    items: Var(d_i) <= E[d_i^2] = f, the flip rate (the discordance for non-0/1 scores), so
    SE = sqrt(f / n) and the drop detected with the given power is (z_alpha + z_power) * SE.
    A drop of D needs at least D*n flipped items, so f is taken as max(f, D); solving gives

        MDE = max(z * sqrt(f / n), z^2 / n),   z = z_{1 - alpha} + z_{power}

    which stays positive when no item flipped. With ``dense_accuracy`` given, a drop larger
    than the accuracy itself (undetectable even by a total loss) returns ``math.inf``.
    """
    if isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not 0.0 <= flip_rate <= 1.0:
        raise ValueError(f"flip_rate must be in [0, 1], got {flip_rate!r}")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power!r}")
    z = z_two_sided(confidence) + _NORMAL.inv_cdf(power)
    drop = max(z * math.sqrt(flip_rate / n), z * z / n)
    if dense_accuracy is not None and drop > dense_accuracy:
        return math.inf
    return drop


def mde_cps(drop: float, dense_accuracy: float) -> float:
    """The CPS of a candidate ``drop`` accuracy points below dense: log2(1 + (acc - drop) / acc)."""
    if not 0.0 < dense_accuracy <= 1.0:
        raise ValueError(f"dense_accuracy must be in (0, 1], got {dense_accuracy!r}")
    return math.log2(1.0 + max(dense_accuracy - drop, 0.0) / dense_accuracy)


def items_to_decide(n: int, value: float, ci_low: float, ci_high: float, floor: float) -> int | None:
    """Items that would make a straddling interval clear the floor or fall below it.

    Assumes the observed value and flip rate stay as they are and the interval's half-width
    shrinks as 1/sqrt(n) (true of any mean of n paired items). The relevant half is the one
    facing the floor: value - ci_low when value > floor, ci_high - value otherwise; it must
    shrink below |value - floor|, so n' = n * (half / |value - floor|)^2 (rounded up, and at
    least n + 1). None when the value sits on the floor: no sample size decides it.
    """
    gap = abs(value - floor)
    if gap == 0.0:
        return None
    half = value - ci_low if value > floor else ci_high - value
    return max(n + 1, math.ceil(n * (half / gap) ** 2))
