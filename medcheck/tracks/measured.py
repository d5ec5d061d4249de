"""Tracks measured per pair or per model rather than item by item: efficiency (CMedBench Track 5,
CES) and the cross-combination track (Track 4, CCS)."""

from __future__ import annotations

import dataclasses
import functools
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medcheck.compression import DENSE
from medcheck.tracks.base import Run, Saved, Track

if TYPE_CHECKING:
    from medcheck.efficiency import Efficiency
    from medcheck.pairs import Pair
    from medcheck.record_rows import VerdictRow
    from medcheck.results import PairResult, Result
    from medcheck.results_measured import CrossResult, EfficiencyResult
    from medcheck.thresholds import Floor


@dataclass(frozen=True)
class EfficiencyTrack(Track):
    kind = "efficiency"
    table = "efficiency"

    def load_thresholds(self, path: Path, models: Sequence[str]) -> Any:
        from medcheck.compression import RECIPES
        from medcheck.thresholds import EfficiencyThresholds

        return EfficiencyThresholds(path, sorted(RECIPES))

    def floor(self, thresholds: Any, result: Result) -> tuple[Floor, Any]:
        compression = result.pair_id.partition("/")[2]
        return thresholds.ces(compression), thresholds.rule(compression)

    def loaded_work(self, params: Mapping[str, Any], run: Run) -> list[tuple[str, str, Callable[[], object]]]:
        """Each side measured while scoring has it loaded: the measurement reuses the scoring load."""
        if "pair" not in params or params.get("track_marker") != self.name:
            return []
        pair = params["pair"]
        return [(pair.model, c, functools.partial(self.measure, run, pair.model, c)) for c in (DENSE, pair.compression)]

    def evaluate(self, run: Run, *args: Any) -> Result:
        (pair,) = args
        t = run.thresholds_of(self.name)
        return compare(pair, self.measure(run, pair.model, DENSE), self.measure(run, pair.model, pair.compression), t)

    def measure(self, run: Run, model: str, compression: str) -> Efficiency:
        """One measurement per (model, compression) and run: the dense one serves every pair."""
        return run.remember((self.name, model, compression), lambda: self._measure(run, model, compression))

    def _measure(self, run: Run, model: str, compression: str) -> Efficiency:
        from medcheck.efficiency import PROMPTS, measure
        from medcheck.efficiency_shots import sweep

        t = run.thresholds_of(self.name)
        cfg = t.full_measurement if run.settings.efficiency == "full" else t.measurement
        backend = run.evaluator.backend(model, compression)
        bar = run.progress()
        shots = cfg["shots"]
        runs = cfg["prompts"] * (cfg["repeats"] + 2) + len(shots) * (cfg["repeats"] + 1)   # see efficiency_shots
        bar.start(f"{model}/{compression} efficiency", runs)
        try:
            measured = measure(backend, max_new_tokens=cfg["max_new_tokens"], repeats=cfg["repeats"],
                               prompts=PROMPTS[:cfg["prompts"]], progress=lambda done, total: bar.advance(1))
            by_shots = sweep(backend, shots, max_new_tokens=cfg["max_new_tokens"], repeats=cfg["repeats"],
                             seed=run.settings.seed, progress=lambda: bar.advance(1))
            return dataclasses.replace(measured, by_shots=by_shots)
        finally:
            bar.finish()

    def rows(self, results: Sequence[Result]) -> list[dict[str, Any]]:
        return [r.as_dict() for r in results]   # type: ignore[attr-defined]

    def recompute(self, saved: Saved, row: VerdictRow) -> tuple[Result, Floor, Any, frozenset[str]]:
        from medcheck.efficiency import Efficiency

        pair = saved.pair(row.pair)
        saved_row = next(e for e in saved.record.tracks[self.name].rows if e["pair"] == row.pair)
        measured = {}
        for side in ("dense", "candidate"):
            spread = {k: tuple(v[side]) for k, v in saved_row["spread"].items() if v.get(side) is not None}
            # the timed values and spreads follow from the runs kept beside them, as `measure` made them
            samples = {k: list(v[side]) for k, v in (saved_row.get("samples") or {}).items() if v[side]}
            values = {**saved_row[side], **{k: statistics.median(v) for k, v in samples.items()}}
            spread.update({k: (min(v), max(v)) for k, v in samples.items()})
            runs = (saved_row.get("n_runs") or {}).get(side, row.n)
            measured[side] = Efficiency(device=saved_row["device"], memory_kind=saved_row["memory_kind"],
                                        weight_bytes=0, spread=spread, samples=samples, n_runs=runs, **values)
        t = saved.thresholds(self.name)
        result = compare(pair, measured["dense"], measured["candidate"], t)
        floor, rule = self.floor(t, result)
        return result, floor, rule, frozenset({"weight_bytes"})


def compare(pair: Pair, dense: Efficiency, candidate: Efficiency, thresholds: Any) -> EfficiencyResult:
    """Dense and candidate measured in the same run; ratios oriented so > 1 is better, each ratio
    floor held against the ratio's interval under the file's decision rule."""
    from medcheck.decision import decide
    from medcheck.efficiency import ces_of, ratios
    from medcheck.efficiency_intervals import ratio_intervals
    from medcheck.results_measured import EfficiencyResult, RatioCheck

    rule = thresholds.rule(pair.compression)
    oriented = ratios(dense, candidate)
    intervals = ratio_intervals(dense, candidate, rule.confidence)
    checks = tuple(RatioCheck(dim, f, oriented[dim], *intervals[dim],
                              decide(oriented[dim], intervals[dim], f.value, rule), rule.mode == "point")
                   for dim, f in thresholds.ratio_floors(pair.compression))
    return EfficiencyResult(pair, dense, candidate, oriented, ces_of(dense, candidate), checks, rule.confidence)


@dataclass(frozen=True)
class CrossTrack(Track):
    kind = "cross"
    table = "cross"

    def load_thresholds(self, path: Path, models: Sequence[str]) -> Any:
        from medcheck.thresholds import CrossThresholds

        return CrossThresholds(path, list(models))

    def floor(self, thresholds: Any, result: Result) -> tuple[Floor, Any]:
        return thresholds.ccs(result.pair_id), thresholds.rule(result.pair_id)

    def wants(self, params: Mapping[str, Any], run: Run) -> list[tuple[Pair, str]]:
        if "model" not in params:
            return []
        return [(pair, d) for pair in run.pairs if pair.model == params["model"]
                for d in run.pairs_file.cross_datasets]

    def evaluate(self, run: Run, *args: Any) -> Result:
        (model,) = args
        ev = run.evaluator
        ids = run.pairs_file.cross_datasets
        return cross(model, [p for p in run.pairs if p.model == model], ids, ev.evaluate,
                     tuple(sorted({ev.dataset(d).source for d in ids})), ev.protocol)

    def rows(self, results: Sequence[Result]) -> list[dict[str, Any]]:
        return [r.as_dict() for r in results]   # type: ignore[attr-defined]

    def recompute(self, saved: Saved, row: VerdictRow) -> tuple[Result, Floor, Any, frozenset[str]]:
        model = row.pair
        ids = row.subject.split(",")
        result = cross(model, saved.pairs_of(model), ids, saved.evaluate,
                       tuple(sorted({saved.dataset(d).source for d in ids})), saved.protocol)
        floor, rule = self.floor(saved.thresholds(self.name), result)
        return result, floor, rule, frozenset()


def cross(model: str, pairs: Sequence[Pair], ids: Sequence[str], evaluate: Any, sources: tuple[str, ...],
          protocol: str) -> CrossResult:
    """Mean accuracy over the cross datasets for dense and every compression of `model`."""
    from medcheck.results_measured import CrossResult

    accuracies: dict[str, float] = {}
    by_setting: dict[str, tuple[PairResult, ...]] = {}
    n = 0
    for pair in pairs:
        results: list[PairResult] = [evaluate(pair, d) for d in ids]
        accuracies.setdefault(DENSE, sum(r.dense.score for r in results) / len(results))
        accuracies[pair.compression] = sum(r.candidate.score for r in results) / len(results)
        by_setting[pair.compression] = tuple(results)
        n = sum(r.n for r in results)
    return CrossResult(model, tuple(ids), accuracies, n, sources, protocol, results=by_setting)
