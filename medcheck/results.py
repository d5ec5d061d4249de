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

import dataclasses
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from medcheck import metrics, task_kinds
from medcheck.datasets.types import Dataset
from medcheck.pairs import Pair
from medcheck.task_kinds import TaskKind

if TYPE_CHECKING:
    from medcheck.fidelity import FidelitySummary
    from medcheck.sequential import Looks
    from medcheck.stats import Paired


class UndefinedScoreError(ValueError):
    """A score with no reference: the dense model scored 0, so CPS = log2(1 + c/0) is undefined."""


class Result(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def track(self) -> str: ...
    @property
    def dataset_ids(self) -> tuple[str, ...]: ...   # the datasets its value counts

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
    def fidelity(self, confidence: float) -> FidelitySummary | None: ...   # None: not measured


class OwnInterval(Result, Protocol):
    """A score that is no mean of per-item values brings its own interval and says when that
    interval is too weak to fail or to pass a test (medcheck.thresholds.verdicts)."""
    def interval(self, confidence: float, seed: int) -> tuple[float, float]: ...
    def fail_unsupported(self, rule: Any) -> str | None: ...
    def pass_unsupported(self, rule: Any) -> str | None: ...


@dataclass(frozen=True)
class RunResult:
    """One (model, compression) on one dataset: the per-item records (choice or generated)."""
    model: str
    compression: str
    dataset_id: str
    records: tuple[Any, ...]        # the task kind's record type (SampleRecord, GenRecord, ...)
    summary: Any                    # the task kind's summary (Summary, TaskScore, ...)
    fingerprint: str
    cache_key: str
    cached_items: int
    seconds: float                  # scoring time of the items scored in this run
    load: dict[str, Any] = field(default_factory=dict)
    backend: dict[str, Any] = field(default_factory=dict)
    strategy: str = ""              # prompting strategy of a generative dataset
    task: str = "choice"            # the dataset's task kind (medcheck.task_kinds)

    @property
    def pair_id(self) -> str:
        return f"{self.model}/{self.compression}"

    @property
    def kind(self) -> TaskKind:
        return task_kinds.of(self.task)

    @property
    def score(self) -> float:
        """The number the relative score compares: accuracy, or a task's primary metric oriented
        so that higher is better."""
        return self.summary.performance

    def item_scores(self) -> tuple[float, ...] | None:
        """Per-item values whose mean is `score`, or None for a corpus metric (F1)."""
        return self.kind.item_scores(self.records, self.summary)

    @property
    def items_per_s(self) -> float | None:
        scored = len(self.records) - self.cached_items
        return scored / self.seconds if scored and self.seconds > 0 else None


def _paired(results: tuple[PairResult, ...]) -> Paired | None:
    """Per-item dense and candidate scores, or None where a dataset's metric is not an item mean."""
    from medcheck.stats import Paired

    dense: list[float] = []
    cand: list[float] = []
    strata: list[str] = []
    for r in results:
        d, c = r.dense.item_scores(), r.candidate.item_scores()
        if d is None or c is None:
            return None
        dense += d
        cand += c
        strata += [r.dataset.id] * len(d)
    return Paired(dense=tuple(dense), candidate=tuple(cand), strata=tuple(strata))


def _resampled_cps(results: tuple[PairResult, ...], observed: float, confidence: float, seed: int,
                   label: str) -> tuple[float, float]:
    from medcheck.scoring.resample import interval

    def cps(perf: dict[str, tuple[float, float]]) -> float:
        return metrics.cps({k: d for k, (d, _) in perf.items()}, {k: c for k, (_, c) in perf.items()})

    return interval(results, cps, observed, confidence, seed, label)


@dataclass(frozen=True)
class PairResult:
    """A pair on one dataset: dense and candidate records of the same items."""
    pair: Pair
    dataset: Dataset
    dense: RunResult
    candidate: RunResult
    kind: str = "dataset"
    metric: str = "CPS"
    looks: Looks | None = None      # sequential looks (medcheck.sequential), where the dataset was scored in them

    @property
    def subject(self) -> str:
        return self.dataset.id

    @property
    def track(self) -> str:
        return self.dataset.track

    @property
    def dataset_ids(self) -> tuple[str, ...]:
        return (self.dataset.id,)

    @property
    def pair_id(self) -> str:
        return self.pair.id

    @property
    def n(self) -> int:
        """Items compared: the dataset's selection, or its first n where sequential looks stopped early."""
        return len(self.candidate.records)

    @property
    def value(self) -> float:
        return self.cps

    @property
    def cps(self) -> float:
        key = self.dataset.id
        if self.dense.score == 0:
            raise UndefinedScoreError(f"CPS is undefined on {key}: the dense model {self.pair.model} scored 0 on "
                             f"{self.n} items, so it cannot serve as the reference")
        return metrics.cps({key: self.dense.score}, {key: self.candidate.score})

    @property
    def cps_or_none(self) -> float | None:
        """CPS, or None where the dense score is 0 and CPS is undefined."""
        return self.cps if self.dense.score > 0 else None

    def first(self, n: int) -> PairResult:
        """This result on the first `n` items only (an earlier sequential look), without its looks."""
        def cut(run: RunResult) -> RunResult:
            records = run.records[:n]
            return dataclasses.replace(run, records=records, summary=run.kind.summarize(scored, records))

        scored = dataclasses.replace(self.dataset, items=self.dataset.items[:n])   # keeps the selection's hash
        return dataclasses.replace(self, dense=cut(self.dense), candidate=cut(self.candidate), looks=None)

    def collapse(self) -> str | None:
        """Why the candidate collapsed while its dense model did not, if it did (the task kind says how)."""
        return self.dense.kind.collapse(self)

    def baseline(self) -> str | None:
        """Why the candidate fell to its majority-class baseline while the dense model is above it
        beyond noise (the lower end of its 95% interval: Wilson on item means, else the bootstrap)."""
        base, cand, dense = self.candidate.summary.majority_baseline, self.candidate.score, self.dense.score
        if base is None or cand > base or dense <= base:
            return None
        from medcheck.scoring.resample import interval
        from medcheck.stats import wilson

        items, key = self.dense.item_scores(), self.dataset.id
        low = (wilson(round(sum(items)), len(items))[0] if items else
               interval((self,), lambda perf: perf[key][0], dense, 0.95, 0, f"{self.pair.id}:{key}:dense")[0])
        if low <= base:
            return None
        return (f"{self.pair.id} fell to the majority-class baseline on {key}: {cand:.3f} <= baseline {base:.3f}, "
                f"while the dense model scores {dense:.3f} (95% lower bound {low:.3f})")

    def reasons(self) -> list[str]:
        return [m for m in [self.collapse(), self.baseline()] if m]

    def paired(self) -> Paired | None:
        return _paired((self,))

    def fidelity(self, confidence: float) -> FidelitySummary | None:
        """The candidate's fidelity to its dense model on these items (the task kind measures it)."""
        return self.dense.kind.fidelity(self, confidence)

    def fidelity_gap(self) -> str | None:
        """Why fidelity is not measured here (a backend that cannot teacher-force), if it is not."""
        return self.dense.kind.fidelity_gap(self)

    def interval(self, confidence: float, seed: int) -> tuple[float, float]:
        """CPS interval where the metric is no item mean (corpus F1): a paired bootstrap of the task."""
        return _resampled_cps((self,), self.cps, confidence, seed, f"{self.pair.id}:{self.dataset.id}")

    def fail_unsupported(self, rule: Any) -> str | None:
        from medcheck.decision import mcnemar_level
        from medcheck.scoring.resample import fail_unsupported

        return fail_unsupported((self,), mcnemar_level(rule))

    def pass_unsupported(self, rule: Any) -> str | None:
        from medcheck.scoring.resample import pass_unsupported

        return pass_unsupported((self,))

    def scores(self) -> dict[str, Any]:
        return self.dense.kind.scores(self)

    def properties(self) -> list[tuple[str, Any]]:
        d, c = self.dense, self.candidate
        cps = "undefined" if self.cps_or_none is None else round(self.cps_or_none, 4)
        return [("dataset", self.dataset.id), ("data_source", self.dataset.source),
                ("dataset_sha256", self.dataset.sha256), ("loader_version", self.dataset.loader_version),
                ("n", self.n), *self.dense.kind.properties(self), ("cps", cps),
                ("model_fingerprint", d.fingerprint), ("compressed_fingerprint", c.fingerprint),
                ("load_strategy", c.load.get("strategy", "not loaded (all results cached)")),
                ("load_attempts", json.dumps(c.load.get("attempts", []))[:4000]),
                ("load_fallback", c.load.get("fallback", False)),
                ("bits_per_weight", c.load.get("bits_per_weight", "")),
                ("weight_bytes", c.load.get("weight_bytes", "")),
                ("warmup", json.dumps(c.load.get("warmup", {}))[:1000]),
                ("backend", c.backend.get("backend", d.backend.get("backend", "cached"))),
                *(self.looks.properties() if self.looks else [])]


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
        return sum(r.n for r in self.results)

    @property
    def value(self) -> float:
        return self.cps

    @property
    def scored(self) -> tuple[PairResult, ...]:
        """The datasets CPS is defined on: a dense accuracy of 0 cannot be a reference."""
        return tuple(r for r in self.results if r.dense.score > 0)

    @property
    def dataset_ids(self) -> tuple[str, ...]:
        return tuple(r.dataset.id for r in self.scored)

    @property
    def excluded(self) -> list[str]:
        return [r.dataset.id for r in self.results if r.dense.score == 0]

    @property
    def cps(self) -> float:
        if not self.scored:
            raise UndefinedScoreError(f"track CPS is undefined for {self.pair.id}: the dense model scored 0 on "
                                      "every dataset")
        return metrics.cps({r.dataset.id: r.dense.score for r in self.scored},
                           {r.dataset.id: r.candidate.score for r in self.scored})

    def dimension_scores(self) -> dict[str, float]:
        return self.dimension_cps()

    def dimension_cps(self) -> dict[str, float]:
        """CPS per dimension over the datasets of that dimension (CMedBench Tables 1 and 2)."""
        out = {}
        for dim, ids in self.dimensions.items():
            mine = [r for r in self.scored if r.dataset.id in ids]
            if mine:
                out[dim] = metrics.cps({r.dataset.id: r.dense.score for r in mine},
                                       {r.dataset.id: r.candidate.score for r in mine})
        return out

    def reasons(self) -> list[str]:
        return [m for r in self.results for m in r.reasons()]

    def paired(self) -> Paired | None:
        return _paired(self.scored)

    def fidelity(self, confidence: float) -> FidelitySummary | None:
        """Each dataset counts once, as in the track's CPS; None where no dataset measured it."""
        from medcheck.fidelity import stratified

        parts = [f for r in self.results if (f := r.fidelity(confidence)) is not None]
        return stratified(parts) if len(parts) == len(self.results) else None

    def fidelity_gap(self) -> str | None:
        return "; ".join(g for r in self.results if (g := r.fidelity_gap())) or None

    def interval(self, confidence: float, seed: int) -> tuple[float, float]:
        return _resampled_cps(self.scored, self.cps, confidence, seed, f"{self.pair.id}:{self.track}")

    def fail_unsupported(self, rule: Any) -> str | None:
        from medcheck.decision import mcnemar_level
        from medcheck.scoring.resample import fail_unsupported

        return fail_unsupported(self.scored, mcnemar_level(rule))

    def pass_unsupported(self, rule: Any) -> str | None:
        from medcheck.scoring.resample import pass_unsupported

        return pass_unsupported(self.scored)

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


def evaluate_all(evaluate: Callable[[Pair, str], PairResult], pair: Pair, name: str,
                 ids: Iterable[str]) -> tuple[PairResult, ...]:
    """Every dataset of a track or dimension; an error names each dataset that failed."""
    results, failures = [], []
    for dataset_id in ids:
        try:
            results.append(evaluate(pair, dataset_id))
        except Exception as exc:
            failures.append(f"{dataset_id}: {exc}")
    if failures:
        raise RuntimeError(f"the {name} track needs every dataset; these failed:\n  " + "\n  ".join(failures))
    return tuple(results)
