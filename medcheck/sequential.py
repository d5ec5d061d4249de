"""Sequential decisions: look at a declared schedule of sample sizes, stop as soon as one decides.

Items are scored in the fixed seeded order; at look k (``looks[k]`` items per dataset) the CPS
decision of medcheck.decision is taken with its interval at confidence 1 - alpha_k, where the
alpha_k are the declared schedule's shares of the rule's total error alpha = 1 - confidence:

* ``pocock``  -- equal shares, alpha / K at each of K looks;
* ``obf``     -- Lan-DeMets O'Brien-Fleming spending, alpha*(t) = 2 - 2 Phi(z_{1 - alpha/2} / sqrt(t))
  at information t = looks[k] / looks[-1]; alpha_k = alpha*(t_k) - alpha*(t_{k-1}): little early,
  most at the budget.

Why this keeps its error rates under optional stopping: a wrong pass (or fail) of the whole
sequence needs a wrong one-sided bound at some look; look k's bound is wrong with probability
<= alpha_k / 2 (the exact interval, medcheck.paired_exact), so by the union bound the sequence
errs on each side with probability <= sum alpha_k / 2 = alpha / 2 -- whatever the dependence
between looks, and however the stopping depends on the data. (The union bound ignores the
correlation between looks, so it is conservative; it needs no Monte-Carlo boundary.)

A look where the dataset has fewer items than scheduled uses all it has and is the last. The
outcome of an unfinished sequence is inconclusive. ``replay`` recomputes every look from the
records in their fixed order, so ``verify`` can check a stopped run.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from medcheck import stats
from medcheck.decision import Decision, Rule, decide_cps_at

SPENDING = ("pocock", "obf")


@dataclass(frozen=True)
class Schedule:
    """Looks (items per dataset, increasing) and how the total error ``alpha`` is spent over them."""

    looks: tuple[int, ...]
    alpha: float = 0.05
    spending: str = "pocock"

    def __post_init__(self) -> None:
        looks = tuple(self.looks)
        if not looks or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in looks) \
                or any(b <= a for a, b in itertools.pairwise(looks)):
            raise ValueError(f"looks must be increasing positive ints, got {self.looks!r}")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha!r}")
        if self.spending not in SPENDING:
            raise ValueError(f"unknown spending {self.spending!r}; known: {', '.join(SPENDING)}")
        object.__setattr__(self, "looks", looks)

    @classmethod
    def doubling(cls, budget: int, first: int = 10, alpha: float = 0.05, spending: str = "pocock") -> Schedule:
        """Looks at first, 2 first, 4 first, ... and at ``budget`` (always the last look)."""
        looks = [first]
        while looks[-1] * 2 < budget:
            looks.append(looks[-1] * 2)
        return cls(tuple(n for n in looks if n < budget) + (budget,), alpha, spending)

    @classmethod
    def for_rule(cls, rule: Rule, looks: tuple[int, ...], spending: str = "pocock") -> Schedule:
        return cls(looks, 1.0 - rule.confidence, spending)

    def spent(self, k: int) -> float:
        """alpha_k: the share of the total error spent at look k."""
        if self.spending == "pocock":
            return self.alpha / len(self.looks)
        z = NormalDist().inv_cdf(1.0 - self.alpha / 2.0)

        def cumulative(t: float) -> float:
            return 0.0 if t <= 0 else 2.0 - 2.0 * NormalDist().cdf(z / math.sqrt(t))

        last = self.looks[-1]
        prev = self.looks[k - 1] / last if k else 0.0
        return max(cumulative(self.looks[k] / last) - cumulative(prev), 1e-12)   # > 0: a valid level

    def confidence(self, k: int) -> float:
        """The two-sided coverage of look k's interval."""
        return 1.0 - self.spent(k)

    def as_dict(self) -> dict[str, Any]:
        return {"looks": list(self.looks), "alpha": self.alpha, "spending": self.spending}


def prefix(paired: stats.Paired, n: int) -> stats.Paired:
    """The first ``n`` items of each stratum, in record order."""
    seen: dict[str, int] = {}
    keep = []
    for i, s in enumerate(paired.strata):
        seen[s] = seen.get(s, 0) + 1
        if seen[s] <= n:
            keep.append(i)
    return stats.Paired(tuple(paired.dense[i] for i in keep), tuple(paired.candidate[i] for i in keep),
                        tuple(paired.strata[i] for i in keep))


def decide_at(schedule: Schedule, k: int, paired: stats.Paired, floor: float, rule: Rule, seed: int = 0) -> Decision:
    """The decision at look k on ``paired`` (already cut to the look), at the look's confidence."""
    if not 0 <= k < len(schedule.looks):
        raise ValueError(f"look {k} is outside the schedule's {len(schedule.looks)} looks")
    return decide_cps_at(paired, floor, rule, schedule.confidence(k), seed)


@dataclass(frozen=True)
class Look:
    n: int                # items per dataset at this look (fewer where a dataset ran out)
    items: int            # items over all datasets
    outcome: str
    ci_low: float
    ci_high: float
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "items": self.items, "outcome": self.outcome, "ci_low": round(self.ci_low, 6),
                "ci_high": round(self.ci_high, 6), "confidence": self.confidence}


@dataclass(frozen=True)
class Replay:
    decision: Decision     # the deciding look's, or the last look's (inconclusive)
    items: int             # items used over all datasets
    looks: tuple[Look, ...]
    stopped: str           # "decided" | "budget" (the schedule's last look) | "data" (items ran out)


def replay(paired: stats.Paired, schedule: Schedule, floor: float, rule: Rule, seed: int = 0) -> Replay:
    """Take the looks in order on the records as scored (fixed order) and stop at the first
    decision; what ``verify`` recomputes from samples.jsonl. Point rules decide at the first look."""
    most = max(paired.strata.count(s) for s in paired.names)
    looks: list[Look] = []
    decision: Decision | None = None
    for k, n in enumerate(schedule.looks):
        cut = prefix(paired, n)
        last = k == len(schedule.looks) - 1 or n >= most
        try:
            decision = decide_at(schedule, k, cut, floor, rule, seed)
        except ValueError:            # CPS undefined so far (no dense-right item yet): look again later
            if last:
                raise
            looks.append(Look(n, cut.n, "undefined", math.nan, math.nan, schedule.confidence(k)))
            continue
        looks.append(Look(min(n, most), cut.n, decision.outcome, decision.ci_low, decision.ci_high,
                          schedule.confidence(k)))
        if decision.outcome != "inconclusive":
            return Replay(decision, cut.n, tuple(looks), "decided")
        if n >= most:
            return Replay(decision, cut.n, tuple(looks), "data" if k < len(schedule.looks) - 1 else "budget")
    assert decision is not None
    return Replay(decision, looks[-1].items, tuple(looks), "budget")


# -- error rates under optional stopping, by simulation -----------------------------------------


def simulate(schedule: Schedule, probs: tuple[float, float, float, float], floor: float, runs: int = 2000,
             seed: int = 0, mcnemar: bool = True) -> dict[str, float]:
    """Shares of sequences that pass, fail or stay inconclusive, and the mean items used, for
    one dataset whose items fall in the cells (p11, p10, p01, p00) independently."""
    import numpy as np

    rng = np.random.default_rng(seed)
    cell = rng.choice(4, size=(runs, schedule.looks[-1]), p=np.asarray(probs) / sum(probs))
    outcome, used = sequences(schedule, cell, floor, mcnemar)
    return {"pass": float(np.mean(outcome == 0)), "fail": float(np.mean(outcome == 1)),
            "inconclusive": float(np.mean(outcome == 2)), "mean_items": float(used.mean())}


def sequences(schedule: Schedule, cell: Any, floor: float, mcnemar: bool = True) -> tuple[Any, Any]:
    """(outcome codes 0 pass / 1 fail / 2 inconclusive, items used) of each row of ``cell`` (item
    cells 0: both right, 1: dense only, 2: candidate only, 3: neither, in scoring order), as
    ``replay`` decides them under an interval rule (the McNemar guard on fails included)."""
    import numpy as np
    from scipy.stats import binom

    from medcheck.paired_exact import cps_bounds

    cell = np.asarray(cell)
    runs, budget = cell.shape
    one_hot = np.stack([cell == j for j in range(4)], axis=-1).cumsum(axis=1)     # (runs, budget, 4)
    outcome = np.full(runs, 2)
    used = np.full(runs, min(schedule.looks[-1], budget))
    for k, n in enumerate(schedule.looks):
        n = min(n, budget)
        n11, n10, n01 = (one_hot[:, n - 1, j].astype(float) for j in range(3))
        cells = np.stack([np.full(runs, float(n)), n11 + n10, n10, n01], axis=-1)[:, None, :]
        defined = cells[:, 0, 1] > 0
        conf = schedule.confidence(k)
        with np.errstate(divide="ignore", invalid="ignore"):
            low, high = cps_bounds(np.where(defined[:, None, None], cells, 1.0), conf)
            value = np.log2(1.0 + (n11 + n01) / (n11 + n10))
        low, high = np.minimum(low, value), np.maximum(high, value)
        now = np.where(~defined, 2, np.where(low >= floor, 0, np.where(high < floor, 1, 2)))
        if mcnemar:
            p = binom.sf(n10 - 1, n10 + n01, 0.5)
            now = np.where((now == 1) & (p > (1.0 - conf) / 2.0), 2, now)
        fresh = (outcome == 2) & (now != 2)
        used[fresh] = n
        outcome[fresh] = now[fresh]
        if n == budget:
            break
    return outcome, used


# -- the gate's looks -----------------------------------------------------------------------------

FIRST_LOOK = 10   # items per dataset at the first look; then doubling to the budget


def look_sizes(budget: int, first: int = FIRST_LOOK) -> tuple[int, ...]:
    """The gate's schedule for a dataset of `budget` items: first, 2 first, ... and the budget."""
    return Schedule.doubling(budget, first).looks if budget > first else (budget,)


@dataclass(frozen=True)
class Looks:
    """Where a dataset's sequential scoring stands: the declared looks (items), the current look and
    the outcome of every look so far. Its rule spends alpha evenly (Pocock): each look's interval is
    at 1 - alpha / K, K the number of declared looks."""

    sizes: tuple[int, ...]
    k: int                                   # index of the look this result stands at
    history: tuple[tuple[int, str], ...] = ()   # (items, outcome) of the looks taken, this one included
    out_of_time: bool = False                # stopped undecided before the last look: the seconds budget was spent

    def confidence(self, rule_confidence: float) -> float:
        return 1.0 - (1.0 - rule_confidence) / len(self.sizes)

    @property
    def stopped(self) -> str:
        """decided (a look before the budget decided), budget (the last look was reached), seconds (the
        time budget ran out first) or open."""
        if self.history and self.history[-1][1] != "inconclusive":
            return "decided"
        return "budget" if self.k == len(self.sizes) - 1 else "seconds" if self.out_of_time else "open"

    def properties(self) -> list[tuple[str, Any]]:
        return [("looks", ",".join(map(str, self.sizes))), ("look", self.k + 1),
                ("look_history", ",".join(f"{n}:{o}" for n, o in self.history)), ("stopped", self.stopped)]

    @classmethod
    def parse(cls, looks: str, look: int, history: str, stopped: str = "") -> Looks:
        """The inverse of `properties`, for `verify` (which cannot rerun the clock: a stop for time is
        taken as recorded, and every look before it is recomputed)."""
        entries = tuple((int(n), o) for n, o in (h.split(":") for h in history.split(",") if h))
        return cls(tuple(int(x) for x in looks.split(",")), int(look) - 1, entries, stopped == "seconds")
