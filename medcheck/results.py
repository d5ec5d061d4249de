"""Results of one test: every kind answers the same small interface, so gate, fixtures and report
never branch on the kind.

    subject / pair_id / metric / value / n   what the verdict is about and the number it checks
    reasons()                                further reasons to fail (a collapsed model, a bad ratio)
    properties()                             JUnit properties specific to this result
    scores()                                 rounded numbers for the snapshot
    paired()                                 per-item dense and candidate scores for the paired
                                             statistics, or None where there are no items (efficiency)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from medcheck import metrics
from medcheck.datasets.types import Dataset
from medcheck.pairs import Pair
from medcheck.scoring.choice import SampleRecord, Summary

if TYPE_CHECKING:
    from medcheck.efficiency import Efficiency
    from medcheck.stats import Paired


class UndefinedScoreError(ValueError):
    """A score with no reference: the dense model scored 0, so CPS = log2(1 + c/0) is undefined."""


class Result(Protocol):
    kind: str

    @property
    def subject(self) -> str: ...
    @property
    def pair_id(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def n(self) -> int: ...
    def reasons(self) -> list[str]: ...
    def properties(self) -> list[tuple[str, Any]]: ...
    def scores(self) -> dict[str, Any]: ...
    def paired(self) -> Paired | None: ...


@dataclass(frozen=True)
class RunResult:
    """One (model, compression) on one dataset: the per-item records."""
    model: str
    compression: str
    dataset_id: str
    records: tuple[SampleRecord, ...]
    summary: Summary
    fingerprint: str
    cache_key: str
    cached_items: int
    seconds: float                  # scoring time of the items scored in this run
    load: dict[str, Any] = field(default_factory=dict)
    backend: dict[str, Any] = field(default_factory=dict)

    @property
    def pair_id(self) -> str:
        return f"{self.model}/{self.compression}"

    @property
    def items_per_s(self) -> float | None:
        scored = len(self.records) - self.cached_items
        return scored / self.seconds if scored and self.seconds > 0 else None


def _paired(results: tuple[PairResult, ...]) -> Paired:
    from medcheck.stats import Paired

    dense, cand, strata = [], [], []
    for r in results:
        for d, c in zip(r.dense.records, r.candidate.records):
            dense.append(float(d.correct))
            cand.append(float(c.correct))
            strata.append(r.dataset.id)
    return Paired(dense=tuple(dense), candidate=tuple(cand), strata=tuple(strata))


@dataclass(frozen=True)
class PairResult:
    """A pair on one dataset: dense and candidate records of the same items."""
    pair: Pair
    dataset: Dataset
    dense: RunResult
    candidate: RunResult
    kind: str = "dataset"
    metric: str = "CPS"

    @property
    def subject(self) -> str:
        return self.dataset.id

    @property
    def pair_id(self) -> str:
        return self.pair.id

    @property
    def n(self) -> int:
        return self.dataset.n

    @property
    def value(self) -> float:
        return self.cps

    @property
    def cps(self) -> float:
        key = self.dataset.id
        if self.dense.summary.accuracy == 0:
            raise UndefinedScoreError(f"CPS is undefined on {key}: the dense model {self.pair.model} scored 0 of "
                             f"{self.dataset.n} items, so it cannot serve as the reference")
        return metrics.cps({key: self.dense.summary.accuracy}, {key: self.candidate.summary.accuracy})

    @property
    def cps_or_none(self) -> float | None:
        """CPS, or None where the dense accuracy is 0 and CPS is undefined."""
        return self.cps if self.dense.summary.accuracy > 0 else None

    def collapse(self) -> str | None:
        """Why the candidate collapsed while its dense model did not, if it did."""
        c, d = self.candidate.summary, self.dense.summary
        if c.degenerate and not d.degenerate:
            return (f"{self.pair.id} collapsed on {self.dataset.id}: answers {c.top_answer!r} for "
                    f"{c.top_share:.0%} of items (gold {c.gold_share:.0%}); the dense model does not")
        return None

    def reasons(self) -> list[str]:
        return [m for m in [self.collapse()] if m]

    def paired(self) -> Paired:
        return _paired((self,))

    def scores(self) -> dict[str, Any]:
        return {"n": self.dataset.n, "dense_accuracy": round(self.dense.summary.accuracy, 4),
                "accuracy": round(self.candidate.summary.accuracy, 4),
                "cps": None if self.cps_or_none is None else round(self.cps_or_none, 4)}

    def properties(self) -> list[tuple[str, Any]]:
        d, c = self.dense, self.candidate
        cps = "undefined" if self.cps_or_none is None else round(self.cps_or_none, 4)
        return [("dataset", self.dataset.id), ("data_source", self.dataset.source),
                ("dataset_sha256", self.dataset.sha256), ("loader_version", self.dataset.loader_version),
                ("n", self.dataset.n), ("dense_accuracy", round(d.summary.accuracy, 4)),
                ("accuracy", round(c.summary.accuracy, 4)), ("acc_norm", round(c.summary.acc_norm, 4)),
                ("dense_acc_norm", round(d.summary.acc_norm, 4)),
                ("dense_accuracy_ci95", "%.3f-%.3f" % d.summary.ci95),
                ("accuracy_ci95", "%.3f-%.3f" % c.summary.ci95), ("cps", cps),
                ("model_fingerprint", d.fingerprint), ("compressed_fingerprint", c.fingerprint),
                ("degenerate", c.summary.degenerate), ("dense_degenerate", d.summary.degenerate),
                ("top_answer_share", round(c.summary.top_share, 3)),
                ("load_strategy", c.load.get("strategy", "not loaded (all results cached)")),
                ("load_attempts", json.dumps(c.load.get("attempts", []))[:4000]),
                ("load_fallback", c.load.get("fallback", False)),
                ("bits_per_weight", c.load.get("bits_per_weight", "")),
                ("weight_bytes", c.load.get("weight_bytes", "")),
                ("warmup", json.dumps(c.load.get("warmup", {}))[:1000]),
                ("backend", c.backend.get("backend", d.backend.get("backend", "cached")))]


@dataclass(frozen=True)
class TrackResult:
    """A pair over every dataset of a track: track CPS and CPS per CMedBench dimension."""
    pair: Pair
    track: str
    results: tuple[PairResult, ...]
    dimensions: dict[str, tuple[str, ...]]     # dimension -> dataset ids
    kind: str = "track"
    metric: str = "CPS"

    @property
    def subject(self) -> str:
        return self.track

    @property
    def pair_id(self) -> str:
        return self.pair.id

    @property
    def n(self) -> int:
        return sum(r.dataset.n for r in self.results)

    @property
    def value(self) -> float:
        return self.cps

    @property
    def scored(self) -> tuple[PairResult, ...]:
        """The datasets CPS is defined on: a dense accuracy of 0 cannot be a reference."""
        return tuple(r for r in self.results if r.dense.summary.accuracy > 0)

    @property
    def excluded(self) -> list[str]:
        return [r.dataset.id for r in self.results if r.dense.summary.accuracy == 0]

    @property
    def cps(self) -> float:
        if not self.scored:
            raise UndefinedScoreError(f"track CPS is undefined for {self.pair.id}: the dense model scored 0 on every dataset")
        return metrics.cps({r.dataset.id: r.dense.summary.accuracy for r in self.scored},
                           {r.dataset.id: r.candidate.summary.accuracy for r in self.scored})

    def dimension_cps(self) -> dict[str, float]:
        """CPS per dimension over the datasets of that dimension (CMedBench Tables 1 and 2)."""
        out = {}
        for dim, ids in self.dimensions.items():
            mine = [r for r in self.scored if r.dataset.id in ids]
            if mine:
                out[dim] = metrics.cps({r.dataset.id: r.dense.summary.accuracy for r in mine},
                                       {r.dataset.id: r.candidate.summary.accuracy for r in mine})
        return out

    def reasons(self) -> list[str]:
        return [m for r in self.results for m in r.reasons()]

    def paired(self) -> Paired:
        return _paired(self.scored)

    def scores(self) -> dict[str, Any]:
        out = {"n": self.n, "datasets": len(self.results), "cps": round(self.cps, 4),
               "dimensions": {k: round(v, 4) for k, v in self.dimension_cps().items()}}
        return {**out, "excluded": self.excluded} if self.excluded else out

    def properties(self) -> list[tuple[str, Any]]:
        sources = sorted({r.dataset.source for r in self.results})
        return [("track", self.track), ("dataset", ",".join(r.dataset.id for r in self.results)),
                ("data_source", ",".join(sources)), ("n", self.n), ("cps", round(self.cps, 4)),
                ("cps_excluded", ",".join(self.excluded) or "none"),
                *[(f"cps_{dim}", round(v, 4)) for dim, v in self.dimension_cps().items()],
                ("model_fingerprint", self.results[0].dense.fingerprint)]


@dataclass(frozen=True)
class EfficiencyResult:
    pair: Pair
    dense: Efficiency
    candidate: Efficiency
    ratios: dict[str, float]     # oriented: > 1 is more efficient
    ces: float
    ratio_failures: tuple[str, ...] = ()
    kind: str = "efficiency"
    metric: str = "CES"
    subject: str = "efficiency"

    @property
    def pair_id(self) -> str:
        return self.pair.id

    @property
    def value(self) -> float:
        return self.ces

    @property
    def n(self) -> int:
        return self.candidate.n_runs

    def reasons(self) -> list[str]:
        return list(self.ratio_failures)

    def paired(self) -> None:
        return None

    def scores(self) -> dict[str, Any]:
        return {}    # timings are never snapshotted

    def properties(self) -> list[tuple[str, Any]]:
        c, d = self.candidate, self.dense
        props: list[tuple[str, Any]] = [("device", c.device), ("memory_kind", c.memory_kind)]
        for dim in self.ratios:
            props += [(dim, getattr(c, dim)), (f"dense_{dim}", getattr(d, dim)),
                      (f"{dim}_ratio", round(self.ratios[dim], 4))]
        return props + [("ces", round(self.ces, 4)), ("weight_bytes", c.weight_bytes), ("n_runs", c.n_runs)]

    def as_dict(self) -> dict[str, Any]:
        dims = tuple(self.ratios)
        d, c = self.dense.as_dict(), self.candidate.as_dict()
        return {"pair": self.pair.id, "model": self.pair.model, "compression": self.pair.compression,
                "device": c["device"], "memory_kind": c["memory_kind"],
                "dense": {k: d[k] for k in dims}, "candidate": {k: c[k] for k in dims},
                "spread": {k: {"dense": d["spread"].get(k), "candidate": c["spread"].get(k)} for k in dims},
                "ratios": self.ratios, "ces": self.ces}


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
        dense = self.accuracies["dense"]
        return metrics.ccs({self.model: dense}, {(self.model, s): a for s, a in self.accuracies.items()})

    def reasons(self) -> list[str]:
        return []

    def paired(self) -> None:
        return None

    def scores(self) -> dict[str, Any]:
        return {"n": self.n, "ccs": round(self.ccs, 4),
                "accuracies": {k: round(v, 4) for k, v in self.accuracies.items()}}

    def properties(self) -> list[tuple[str, Any]]:
        return [("dataset", ",".join(self.datasets)), ("data_source", ",".join(self.sources)), ("n", self.n),
                ("ccs", round(self.ccs, 4)), *[(f"accuracy_{s}", round(a, 4)) for s, a in self.accuracies.items()]]

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "datasets": list(self.datasets),
                "dense_accuracy": round(self.accuracies["dense"], 4),
                "accuracies": {k: round(v, 4) for k, v in self.accuracies.items()}, "ccs": round(self.ccs, 4)}
