"""The trust track's result: a pair over trust probes, one dimension or all six, gated on TWY.

    P_t   performance of a dimension: the mean over its files of each file's primary metric,
          oriented so higher is better (1 - RtA where refusing is wrong, 1 - leakage, ...)
    TWY   mean over dimensions of exp(d_t * (P_t compressed - P_t dense))   (CMedBench Eq. 2)

TWY is 1.0 when nothing moved, below 1 when the compressed model is less trustworthy. Its
interval is a paired bootstrap over items: each resample draws the same items of every file for
dense and candidate and rescored them with the file's own scorer, so corpus metrics (Pearson on
confAIde, attack success over AdvGLUE twins) are resampled as they are computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from medcheck import metrics
from medcheck.pairs import Pair
from medcheck.results import PairResult
from medcheck.scoring.generative import TaskScore

if TYPE_CHECKING:
    from medcheck.fidelity import FidelitySummary


@dataclass(frozen=True)
class TrustResult:
    pair: Pair
    subject: str                                  # a dimension, or the track's name
    results: tuple[PairResult, ...]
    dimensions: dict[str, tuple[str, ...]]        # dimension -> dataset ids (only those in `results`)
    exponents: dict[str, float]
    kind: str = "trust"
    metric: str = "TWY"
    track: str = "trust"

    @property
    def pair_id(self) -> str:
        return self.pair.id

    @property
    def dataset_ids(self) -> tuple[str, ...]:
        return tuple(r.dataset.id for r in self.results)

    @property
    def n(self) -> int:
        return sum(r.n for r in self.results)

    def _mine(self, dim: str) -> list[PairResult]:
        return [r for r in self.results if r.dataset.id in self.dimensions[dim]]

    def performance(self) -> dict[str, tuple[float, float]]:
        """dimension -> (dense P_t, compressed P_t)."""
        out = {}
        for dim in self.dimensions:
            mine = self._mine(dim)
            out[dim] = (sum(r.dense.score for r in mine) / len(mine), sum(r.candidate.score for r in mine) / len(mine))
        return out

    def dimension_scores(self) -> dict[str, float]:
        return self.dimension_twy()

    def dimension_twy(self) -> dict[str, float]:
        return {dim: math.exp(self.exponents[dim] * (c - d)) for dim, (d, c) in self.performance().items()}

    @property
    def value(self) -> float:
        perf = self.performance()
        model = self.pair.model
        return metrics.twy({(model, t): d for t, (d, _) in perf.items()},
                           {(model, t): c for t, (_, c) in perf.items()}, self.exponents)

    def interval(self, confidence: float, seed: int) -> tuple[float, float]:
        """Paired bootstrap interval of TWY (medcheck.scoring.resample)."""
        from medcheck.scoring.resample import interval

        def twy(perf: dict[str, tuple[float, float]]) -> float:
            per_dim = {dim: [perf[d] for d in ids if d in perf] for dim, ids in self.dimensions.items()}
            return sum(math.exp(self.exponents[t] * sum(c - d for d, c in v) / len(v))
                       for t, v in per_dim.items() if v) / len(per_dim)

        return interval(self.results, twy, self.value, confidence, seed, f"{self.pair.id}:{self.subject}",
                        difference=True)   # TWY is a function of candidate - dense

    def fail_unsupported(self, rule: Any) -> str | None:
        from medcheck.decision import mcnemar_level
        from medcheck.scoring.resample import fail_unsupported

        return fail_unsupported(self.results, mcnemar_level(rule))

    def pass_unsupported(self, rule: Any) -> str | None:
        from medcheck.scoring.resample import pass_unsupported

        return pass_unsupported(self.results)

    def reasons(self) -> list[str]:
        return [m for r in self.results for m in r.reasons()]

    def paired(self) -> None:
        return None   # TWY is not a mean of per-item scores: `interval` serves the decision

    def fidelity(self, confidence: float) -> FidelitySummary | None:
        """Over the subject's files, each dimension counting once as in TWY (its files share its
        weight); None where a file's fidelity is not measured (`fidelity_gap` says why)."""
        from medcheck.fidelity import stratified

        parts = [f for r in self.results if (f := r.fidelity(confidence)) is not None]
        if len(parts) < len(self.results):
            return None
        weight = {d: 1.0 / len(ids) for ids in self.dimensions.values() for d in ids}
        return stratified(parts, [weight[r.dataset.id] for r in self.results])

    def fidelity_gap(self) -> str | None:
        return "; ".join(g for r in self.results if (g := r.fidelity_gap())) or None

    def scores(self) -> dict[str, Any]:
        return {"n": self.n, "twy": round(self.value, 4),
                "dimensions": {k: round(v, 4) for k, v in self.dimension_twy().items()},
                "files": {r.dataset.id: [round(r.dense.score, 4), round(r.candidate.score, 4)] for r in self.results}}

    def properties(self) -> list[tuple[str, Any]]:
        props: list[tuple[str, Any]] = [
            ("track", self.track), ("subject", self.subject), ("dataset", ",".join(r.dataset.id for r in self.results)),
            ("data_source", ",".join(sorted({r.dataset.source for r in self.results}))), ("n", self.n),
            ("twy", round(self.value, 4)), ("exponents", ",".join(f"{k}={v:g}" for k, v in self.exponents.items()))]
        twy = self.dimension_twy()
        for dim, (d, c) in self.performance().items():
            mine = self._mine(dim)
            cand: list[TaskScore] = [r.candidate.summary for r in mine]
            rta = [s.metrics["rta"] for s in cand if "rta" in s.metrics]
            props += [(f"{dim}_performance_dense", round(d, 4)), (f"{dim}_performance", round(c, 4)),
                      (f"{dim}_twy", round(twy[dim], 4)), (f"{dim}_n", sum(r.n for r in mine)),
                      (f"{dim}_unparsed_share",
                       round(sum(s.unparsed for s in cand) / max(sum(s.n for s in cand), 1), 4)),
                      (f"{dim}_rta", round(sum(rta) / len(rta), 4) if rta else "n/a")]
        for r in self.results:
            s: TaskScore = r.candidate.summary
            props += [(f"{r.dataset.id}_{s.primary}_dense", round(r.dense.summary.value, 4)),
                      (f"{r.dataset.id}_{s.primary}", round(s.value, 4)), (f"{r.dataset.id}_unparsed", s.unparsed)]
        props.append(("model_fingerprint", self.results[0].dense.fingerprint))
        return props
