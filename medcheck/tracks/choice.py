"""Tracks scored item by item and gated on CPS: knowledge, application, biomedical NLP.

Per dataset, CPS of the candidate against its dense model; over the track, CPS over every
dataset whose dense score can serve as a reference, and per CMedBench dimension.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medcheck import datasets
from medcheck.results import PairResult
from medcheck.tracks.base import Run, Saved, Track, track_scores

if TYPE_CHECKING:
    from medcheck.pairs import Pair
    from medcheck.record_rows import VerdictRow
    from medcheck.results import Result, TrackResult
    from medcheck.thresholds import Floor


@dataclass(frozen=True)
class ChoiceTrack(Track):
    kind = "choice"
    table = "choice"

    def datasets(self) -> tuple[str, ...]:
        return datasets.by_track(self.name)

    def dimensions(self) -> dict[str, tuple[str, ...]]:
        return datasets.dimensions(self.name)

    def load_thresholds(self, path: Path, models: Sequence[str]) -> Any:
        from medcheck import thresholds
        from medcheck.compression import RECIPES

        return thresholds.load(path, list(self.datasets()), sorted(RECIPES))

    def floor(self, thresholds: Any, result: Result) -> tuple[Floor, Any]:
        compression = result.pair_id.partition("/")[2]
        fidelity = thresholds.fidelity(compression)
        if result.subject == self.name:
            floor, rule = thresholds.track_cps(self.name, compression), thresholds.rule("track_cps", compression)
        else:
            floor, rule = thresholds.cps(result.subject, compression), thresholds.rule("cps", compression)
            if isinstance(result, PairResult) and result.looks is not None and rule.mode != "point":
                rule = dataclasses.replace(rule, confidence=result.looks.confidence(rule.confidence))
        return dataclasses.replace(floor, fidelity=fidelity), rule

    def generation(self, thresholds: Any, dataset_id: str) -> dict[str, int]:
        return thresholds.generation(dataset_id)

    def wants(self, params: Mapping[str, Any], run: Run) -> list[tuple[Pair, str]]:
        if "pair" in params and params.get("track") == self.name:
            return [(params["pair"], d) for d in self.datasets()]
        return []

    def ids(self, run: Run) -> tuple[str, ...]:
        """The datasets this run scores: all of them, or those present for a partial track."""
        return tuple(run.present(self.datasets())) if self.partial else self.datasets()

    def evaluate(self, run: Run, *args: Any) -> Result:
        from medcheck.results import TrackResult, evaluate_all

        pair, _ = args
        return TrackResult(pair, self.name, evaluate_all(run.evaluator.evaluate, pair, self.name, self.ids(run)),
                           self.dimensions())

    def section(self, results: Sequence[Result]) -> dict[str, Any]:
        return track_scores([r for r in results if r.subject == self.name])

    def recompute(self, saved: Saved, row: VerdictRow) -> tuple[Result, Floor, Any, frozenset[str]]:
        pair = saved.pair(row.pair)
        thresholds = saved.thresholds(self.name)
        result: Result = self.saved_track(saved, pair) if row.subject == self.name else \
            self.replayed(saved.evaluate(pair, row.subject), row.looks, thresholds, saved.seed, row.family or 1)
        floor, rule = self.floor(thresholds, result)
        return result, floor, rule, frozenset()

    def replayed(self, result: PairResult, looks: Mapping[str, Any] | None, thresholds: Any,
                 seed: int, family: int = 1) -> PairResult:
        """A saved sequential result with its looks taken again on the records in their fixed order:
        each earlier look's outcome is recomputed, so a stopping decision the records do not support
        shows as a different look_history."""
        from medcheck.family import judge_in_family
        from medcheck.sequential import Looks

        if not looks:
            return result
        declared = Looks.parse(str(looks["looks"]), int(looks["look"]), str(looks["look_history"]),
                               str(looks.get("stopped", "")))
        history: list[tuple[int, str]] = []
        for k, (n, _) in enumerate(declared.history):
            at = dataclasses.replace(result.first(n), looks=Looks(declared.sizes, k, tuple(history)))
            floor, rule = self.floor(thresholds, at)
            history.append((n, judge_in_family(floor, rule, at, family, seed=seed).outcome))
        return dataclasses.replace(result, looks=Looks(declared.sizes, declared.k, tuple(history),
                                                       declared.out_of_time))

    def saved_track(self, saved: Saved, pair: Pair) -> TrackResult:
        from medcheck.results import TrackResult

        table = saved.record.tracks[self.name]
        ids = list(table.datasets) or [d for ds in table.dimensions.values() for d in ds]
        ids = [d for d in ids if d in saved.record.datasets]   # a partial track runs on the datasets present
        return TrackResult(pair, self.name, tuple(saved.evaluate(pair, d) for d in ids), dict(table.dimensions))
