"""Results measured per pair or per model rather than item by item: efficiency (CES) and the
cross-combination track (CCS). They answer the interface of medcheck.results."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from medcheck import metrics
from medcheck.compression import DENSE
from medcheck.pairs import Pair

if TYPE_CHECKING:
    from medcheck.efficiency import Efficiency
    from medcheck.thresholds import Floor


@dataclass(frozen=True)
class RatioCheck:
    """One per-dimension ratio floor held against the ratio's interval (medcheck.efficiency_intervals)."""
    dim: str
    floor: Floor
    value: float
    low: float
    high: float
    outcome: str         # pass | fail | inconclusive (medcheck.decision.decide under the file's rule)
    point: bool          # the point rule: the value alone decided

    def message(self, n: int) -> str:
        if self.point:
            return self.floor.fails(self.value, n) or f"{self.floor.metric} {self.value:.3f} >= {self.floor.value:.3f}"
        where = {"pass": "clears", "fail": "is below", "inconclusive": "straddles"}[self.outcome]
        return (f"{self.floor.metric} {self.value:.3f} [{self.low:.3f}, {self.high:.3f}] {where} floor "
                f"{self.floor.value:.3f} ({self.floor.rule}), n={n}")


@dataclass(frozen=True)
class EfficiencyResult:
    pair: Pair
    dense: Efficiency
    candidate: Efficiency
    ratios: dict[str, float]     # oriented: > 1 is more efficient
    ces: float
    checks: tuple[RatioCheck, ...] = ()   # the compression's per-dimension ratio floors
    confidence: float = 0.95     # of the reported ratio intervals (the file's decision rule)
    kind: str = "efficiency"
    metric: str = "CES"
    subject: str = "efficiency"
    track: str = "efficiency"
    dataset_ids: tuple[str, ...] = ()

    @property
    def pair_id(self) -> str:
        return self.pair.id

    @property
    def value(self) -> float:
        return self.ces

    @property
    def n(self) -> int:
        return self.candidate.n_runs

    def ratio_intervals(self) -> dict[str, tuple[float, float]]:
        from medcheck.efficiency_intervals import ratio_intervals

        return ratio_intervals(self.dense, self.candidate, self.confidence, list(self.ratios))

    def interval(self, confidence: float, seed: int) -> tuple[float, float]:
        """CES's interval from the timed runs' repeats (deterministic dimensions at their point)."""
        from medcheck.efficiency_intervals import ces_interval

        return ces_interval(self.dense, self.candidate, confidence, list(self.ratios))

    def fail_unsupported(self, rule: Any) -> str | None:
        return None   # an interval wholly below the floor is the evidence

    def pass_unsupported(self, rule: Any) -> str | None:
        """Why a CES above its floor is no pass yet: a ratio floor its interval straddles."""
        from medcheck.efficiency_intervals import ces_runs_to_bound

        open_ = [c.message(self.n) for c in self.checks if c.outcome == "inconclusive"]
        if not open_:
            return None
        return "; ".join(open_) + f" ({ces_runs_to_bound(rule.confidence)} timed runs per side bound every timing)"

    def reasons(self) -> list[str]:
        return [c.message(self.n) for c in self.checks if c.outcome == "fail"]

    def paired(self) -> None:
        return None

    def fidelity(self, confidence: float) -> None:
        return None   # measured, not answered: nothing to compare item by item

    def scores(self) -> dict[str, Any]:
        return {}    # timings are never snapshotted

    def properties(self) -> list[tuple[str, Any]]:
        c, d = self.candidate, self.dense
        props: list[tuple[str, Any]] = [("device", c.device), ("memory_kind", c.memory_kind)]
        intervals = self.ratio_intervals()
        for dim in self.ratios:
            low, high = intervals[dim]
            props += [(dim, getattr(c, dim)), (f"dense_{dim}", getattr(d, dim)),
                      (f"{dim}_ratio", round(self.ratios[dim], 4)),
                      (f"{dim}_ratio_low", _round(low)), (f"{dim}_ratio_high", _round(high))]
        props += [(f"{k.dim}_ratio_outcome", k.outcome) for k in self.checks]
        for k, row in c.by_shots.items():   # memory and latency against prompt length
            dense = d.by_shots.get(k, {})
            props += [(f"shots{k}_{name}", round(v, 4)) for name, v in row.items()]
            props += [(f"dense_shots{k}_{name}", round(v, 4)) for name, v in dense.items() if name != "prompt_tokens"]
        from medcheck.efficiency_intervals import ces_runs_to_bound

        return props + [("ces", round(self.ces, 4)), ("ratio_confidence", self.confidence),
                        ("timed_runs_to_bound", ces_runs_to_bound(self.confidence, list(self.ratios))),
                        ("weight_bytes", c.weight_bytes), ("n_runs", c.n_runs)]

    def as_dict(self) -> dict[str, Any]:
        from medcheck.efficiency import BY_NAME

        dims = tuple(self.ratios)
        d, c = self.dense.as_dict(), self.candidate.as_dict()
        intervals = self.ratio_intervals()
        return {"pair": self.pair.id, "model": self.pair.model, "compression": self.pair.compression,
                "device": c["device"], "memory_kind": c["memory_kind"],
                "dense": {k: d[k] for k in dims}, "candidate": {k: c[k] for k in dims},
                "spread": {k: {"dense": d["spread"].get(k), "candidate": c["spread"].get(k)} for k in dims},
                "samples": {k: {"dense": d["samples"].get(k, []), "candidate": c["samples"].get(k, [])}
                            for k in dims if BY_NAME[k].timed},   # what verify recomputes the intervals from
                "n_runs": {"dense": self.dense.n_runs, "candidate": self.candidate.n_runs},
                "ratios": self.ratios, "ces": self.ces, "confidence": self.confidence,
                "ratio_intervals": {k: [_round(lo), _round(hi)] for k, (lo, hi) in intervals.items()}}


def _log_ratio(perf: dict[str, tuple[float, float]]) -> float:
    """log2(1 + mean candidate accuracy / mean dense accuracy) over the datasets, as CCS counts it."""
    dense = sum(d for d, _ in perf.values())
    return math.log2(1.0 + sum(c for _, c in perf.values()) / dense)


def _round(x: float) -> float:
    return round(x, 4) if math.isfinite(x) else x


@dataclass(frozen=True)
class CrossResult:
    model: str
    datasets: tuple[str, ...]
    accuracies: dict[str, float]   # setting (dense included) -> mean accuracy over the datasets
    n: int
    sources: tuple[str, ...] = ()
    protocol: str = ""
    kind: str = "cross"
    metric: str = "CCS"
    track: str = "cross"
    results: dict[str, tuple[Any, ...]] = field(default_factory=dict)   # setting -> its PairResults

    def interval(self, confidence: float, seed: int = 0) -> tuple[float, float]:
        """CCS at each setting's exact paired bounds of its accuracy ratio to dense (per dataset,
        Bonferroni over datasets and settings: medcheck.scoring.resample.exact_floor); dense counts
        as log2(2) = 1. Unbounded where a setting has no per-item comparison."""
        from medcheck.scoring.resample import exact_floor

        settings = [s for s in self.accuracies if s != DENSE]
        level = 1.0 - (1.0 - confidence) / max(len(settings), 1)
        lows, highs = [1.0], [1.0]
        for setting in settings:
            ends = exact_floor(self.results.get(setting, ()), _log_ratio, level, seed)
            if ends is None:
                return 0.0, math.inf
            lows.append(ends[0])
            highs.append(ends[1])
        low, high = sum(lows) / len(lows), sum(highs) / len(highs)
        return min(low, self.ccs), max(high, self.ccs)

    def fail_unsupported(self, rule: Any) -> str | None:
        return None   # exact bounds: valid at any n

    def pass_unsupported(self, rule: Any) -> str | None:
        return None   # exact bounds (unbounded where a setting has no per-item comparison)

    @property
    def dataset_ids(self) -> tuple[str, ...]:
        return ()   # its verdict counts settings, not datasets

    @property
    def subject(self) -> str:
        return ",".join(self.datasets)

    @property
    def pair_id(self) -> str:
        return self.model

    @property
    def value(self) -> float:
        return self.ccs

    @property
    def ccs(self) -> float:
        dense = self.accuracies[DENSE]
        return metrics.ccs({self.model: dense}, {(self.model, s): a for s, a in self.accuracies.items()})

    def reasons(self) -> list[str]:
        return []

    def paired(self) -> None:
        return None

    def fidelity(self, confidence: float) -> None:
        return None   # measured, not answered: nothing to compare item by item

    def scores(self) -> dict[str, Any]:
        return {"n": self.n, "ccs": round(self.ccs, 4),
                "accuracies": {k: round(v, 4) for k, v in self.accuracies.items()}}

    def properties(self) -> list[tuple[str, Any]]:
        return [("dataset", ",".join(self.datasets)), ("data_source", ",".join(self.sources)), ("n", self.n),
                ("ccs", round(self.ccs, 4)), *[(f"accuracy_{s}", round(a, 4)) for s, a in self.accuracies.items()]]

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "datasets": list(self.datasets),
                "dense_accuracy": round(self.accuracies[DENSE], 4),
                "accuracies": {k: round(v, 4) for k, v in self.accuracies.items()}, "ccs": round(self.ccs, 4)}
