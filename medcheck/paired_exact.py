"""Exact intervals of the paired ratio P_cand / P_dense and of CPS, valid at any n and at b = c = 0.

Per stratum (dataset) the n items fall into four cells: n11 both right, b = dense only, c =
candidate only, n00 neither. With n_d = n11 + b dense-right and n_c = n11 + c candidate-right items,
the ratio CPS depends on is R = P_c / P_d, written two ways:

    R = (1 - lam) / (1 - mu)      lam = P(cand wrong | dense right), mu = P(dense wrong | cand right)
    R = 1 - lam + gam * o         gam = P(cand right | dense wrong), o = (1 - P_d) / P_d

Given n_d, b ~ Binomial(n_d, lam) exactly; given n_c, c ~ Binomial(n_c, mu); given n - n_d,
c ~ Binomial(n - n_d, gam); n_d ~ Binomial(n, P_d). Each gets a Clopper-Pearson bound (exact:
coverage >= nominal for every n and every true value, zero counts included) and the bounds are
combined by the union bound (Bonferroni), so no asymptotics enter anywhere:

* lower:  R >= (1 - lam_up) / (1 - mu_low)                 two bounds at alpha_side / 2 each
* upper:  R <= 1 - lam_low + gam_up * o_up                 three bounds at alpha_side / 3 each

(the upper bound uses the second form: the first is unbounded when few items are candidate-right,
which is exactly when a collapsed candidate must fail). Each side errs with probability <=
alpha_side = (1 - confidence) / 2, so the two-sided interval covers R with >= ``confidence``.

Strata. A track's CPS is the mean over datasets of log2(1 + R_s). Its bounds are the means of the
per-stratum bounds, each computed at alpha_side / S (Bonferroni over strata): all S bounds hold
together with probability >= 1 - alpha_side, hence the mean's. Conservative for tracks.

Scores in [0, 1] that are not 0/1 (item means of a generative metric) are first coupled to 0/1
outcomes: with one seeded uniform U_i per item, d'_i = [U_i < d_i] and c'_i = [U_i < c_i]. Then
E d' = E d and E c' = E c (R unchanged) and the pair disagrees with probability |d_i - c_i|, the
least possible, so the exact method applies as is. Seeded: the same records give the same bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from medcheck.stats import Paired

METHOD = "exact-cp"   # the JUnit `interval_method` of a decision on these bounds


def clopper_pearson(x: Any, n: Any, alpha_low: float, alpha_high: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact bounds of a binomial proportion: P(p < low) <= alpha_low, P(p > high) <= alpha_high.

    Vectorised over x and n; n == 0 gives (0, 1) (nothing is known).
    """
    import numpy as np
    from scipy.special import betaincinv

    x, n = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(x > 0, betaincinv(np.maximum(x, 1e-300), n - x + 1.0, alpha_low), 0.0)
        high = np.where(x < n, betaincinv(x + 1.0, np.maximum(n - x, 1e-300), 1.0 - alpha_high), 1.0)
    return np.where(n > 0, low, 0.0), np.where(n > 0, high, 1.0)


def ratio_bounds(n: Any, n_d: Any, b: Any, c: Any, alpha_side: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bound of R = P_c / P_d from cell counts, each side in error <= alpha_side.

    Vectorised; where n_d == 0 (R undefined) the bounds are (0, inf).
    """
    import numpy as np

    n, n_d, b, c = (np.asarray(v, dtype=np.float64) for v in (n, n_d, b, c))
    n_c = n_d - b + c
    lam_up = clopper_pearson(b, n_d, 1.0, alpha_side / 2.0)[1]
    mu_low = clopper_pearson(c, n_c, alpha_side / 2.0, 1.0)[0]
    third = alpha_side / 3.0
    lam_low = clopper_pearson(b, n_d, third, 1.0)[0]
    gam_up = clopper_pearson(c, n - n_d, 1.0, third)[1]
    pd_low = clopper_pearson(n_d, n, third, 1.0)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        low = (1.0 - lam_up) / (1.0 - mu_low)
        high = 1.0 - lam_low + gam_up * (1.0 - pd_low) / pd_low
    defined = n_d > 0
    return np.where(defined, low, 0.0), np.where(defined, high, np.inf)


def difference_bounds(n: Any, b: Any, c: Any, alpha_side: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bound of D = P_c - P_d = (share gained) - (share lost), each side in error
    <= alpha_side: b ~ Binomial(n, share lost) and c ~ Binomial(n, share gained) get Clopper-Pearson
    bounds at alpha_side / 2 each (union bound). Needs no dense item right: at b = c = 0 of n the
    lower end is the exact bound on the share lost, where R = P_c / P_d is undefined or uninformative.
    """
    import numpy as np

    n, b, c = (np.asarray(v, dtype=np.float64) for v in (n, b, c))
    half = alpha_side / 2.0
    lost_low, lost_up = clopper_pearson(b, n, half, half)
    gain_low, gain_up = clopper_pearson(c, n, half, half)
    return gain_low - lost_up, gain_up - lost_low


def counts(dense: Any, cand: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(n, n_d, b, c) of 0/1 arrays over the last axis."""
    import numpy as np

    d, k = np.asarray(dense, dtype=bool), np.asarray(cand, dtype=bool)
    n = np.full(np.broadcast_shapes(d.shape, k.shape)[:-1], d.shape[-1], dtype=np.float64)
    return n, d.sum(axis=-1).astype(float), (d & ~k).sum(axis=-1).astype(float), (~d & k).sum(axis=-1).astype(float)


def cps_bounds(cells: Any, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """CPS bounds from per-stratum cell counts ``cells`` of shape (..., S, 4) = (n, n_d, b, c).

    Bonferroni over the S strata (module doc); the mean of the per-stratum log2(1 + R) bounds.
    """
    import numpy as np

    cells = np.asarray(cells, dtype=np.float64)
    strata = cells.shape[-2]
    alpha_side = (1.0 - confidence) / 2.0 / strata
    low, high = ratio_bounds(cells[..., 0], cells[..., 1], cells[..., 2], cells[..., 3], alpha_side)
    return np.log2(1.0 + low).mean(axis=-1), np.log2(1.0 + high).mean(axis=-1)


def binarize(paired: Paired, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """0/1 dense and candidate outcomes: the scores themselves when binary, else the coupling above."""
    import numpy as np

    d, c = np.asarray(paired.dense), np.asarray(paired.candidate)
    if paired.is_binary:
        return d == 1.0, c == 1.0
    u = np.random.default_rng([seed, 0x5EED]).random(d.size)
    return u < d, u < c


def cells_of(paired: Paired, seed: int = 0) -> np.ndarray:
    """Per-stratum (n, n_d, b, c), strata in sorted order: shape (S, 4)."""
    import numpy as np

    d, c = binarize(paired, seed)
    labels = np.asarray(paired.strata)
    return np.array([np.stack(counts(d[labels == s], c[labels == s])) for s in paired.names])


@dataclass(frozen=True)
class ExactInterval:
    value: float          # observed CPS (per-stratum means of the scores as given)
    low: float
    high: float
    method: str = METHOD


def cps_interval(paired: Paired, confidence: float = 0.95, seed: int = 0) -> ExactInterval:
    """Exact CPS interval of ``paired``; ValueError where a stratum's dense mean is 0."""
    from medcheck.metrics import cps

    value = cps(*paired.stratum_means())
    low, high = cps_bounds(cells_of(paired, seed), confidence)
    return ExactInterval(value, min(float(low), value), max(float(high), value))


def cps_interval_from_counts(per_stratum: list[tuple[int, int, int, int]], confidence: float = 0.95,
                             value: float | None = None) -> tuple[float, float]:
    """Exact CPS bounds from (n, n_d, b, c) per stratum, holding ``value`` when given."""
    low, high = cps_bounds([list(map(float, s)) for s in per_stratum], confidence)
    lo, hi = float(low), float(high)
    return (lo, hi) if value is None else (min(lo, value), max(hi, value))


def damage_p_value(paired: Paired, floor: float, seed: int = 0, tol: float = 1e-6) -> float:
    """One-sided p-value of "CPS >= floor" from the exact bounds: the smallest alpha_side at which
    the upper bound falls below ``floor`` (1.0 when it never does). Holm and sequential rules use it."""
    cells = cells_of(paired, seed)

    def below(alpha_side: float) -> bool:
        return float(cps_bounds(cells, 1.0 - 2.0 * alpha_side)[1]) < floor

    if not below(0.5):
        return 1.0
    lo, hi = 0.0, 0.5     # below(hi) is True; find the smallest such alpha_side by bisection
    while hi - lo > tol:
        mid = (lo + hi) / 2.0
        lo, hi = (lo, mid) if below(mid) else (mid, hi)
    return hi
