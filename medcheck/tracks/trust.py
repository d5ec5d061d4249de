"""The trust track (CMedBench Track 3): generative probes grouped in six dimensions, gated on TWY,
per dimension (a suite module per dimension) and over the whole track."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medcheck import datasets
from medcheck.tracks.base import Run, Saved, Track, track_scores

if TYPE_CHECKING:
    from medcheck.pairs import Pair
    from medcheck.record_rows import VerdictRow
    from medcheck.results import PairResult, Result
    from medcheck.results_trust import TrustResult
    from medcheck.thresholds import Floor


@dataclass(frozen=True)
class TrustTrack(Track):
    kind = "trust"
    table = "trust"

    def datasets(self) -> tuple[str, ...]:
        return datasets.by_track(self.name)

    def dimensions(self) -> dict[str, tuple[str, ...]]:
        return datasets.dimensions(self.name)

    def load_thresholds(self, path: Path, models: Sequence[str]) -> Any:
        from medcheck.compression import RECIPES
        from medcheck.thresholds import TrustThresholds

        return TrustThresholds(path, list(self.dimensions()), list(self.datasets()), sorted(RECIPES), self.name)

    def floor(self, thresholds: Any, result: Result) -> tuple[Floor, Any]:
        import dataclasses

        compression = result.pair_id.partition("/")[2]
        floor = thresholds.twy(result.subject, compression)
        return dataclasses.replace(floor, fidelity=thresholds.fidelity(compression)), thresholds.rule(compression)

    def generation(self, thresholds: Any, dataset_id: str) -> dict[str, int]:
        return thresholds.generation(dataset_id)

    def subject_dimensions(self, subject: str) -> dict[str, tuple[str, ...]]:
        """The dimensions a test's subject covers: all of them for the track, else the one named."""
        dims = self.dimensions()
        if subject == self.name:
            return dims
        if subject not in dims:
            raise KeyError(f"unknown {self.name} dimension {subject!r}; known: {', '.join(dims)}")
        return {subject: dims[subject]}

    def wants(self, params: Mapping[str, Any], run: Run) -> list[tuple[Pair, str]]:
        if "pair" not in params:
            return []
        subject = params.get("dimension") or (params.get("track") if params.get("track") == self.name else None)
        if subject is None or (subject != self.name and subject not in self.dimensions()):
            return []
        return [(params["pair"], d) for ids in self.subject_dimensions(subject).values() for d in ids]

    def evaluate(self, run: Run, *args: Any) -> Result:
        from medcheck.results import evaluate_all

        pair, subject = args
        dims = self.subject_dimensions(subject)
        ids = [d for v in dims.values() for d in v]
        return self.result(run.thresholds_of(self.name), pair, subject, evaluate_all(run.evaluator.evaluate, pair,
                                                                                     self.name, ids), dims)

    def result(self, thresholds: Any, pair: Pair, subject: str, results: tuple[PairResult, ...],
               dims: dict[str, tuple[str, ...]]) -> TrustResult:
        from medcheck.results_trust import TrustResult

        return TrustResult(pair, subject, results, dims, {k: thresholds.exponents[k] for k in dims}, track=self.name)

    def section(self, results: Sequence[Result]) -> dict[str, Any]:
        return track_scores([r for r in results if r.subject == self.name])

    def notes(self, ran: bool, folder: Path) -> list[str]:
        return [refusal_note(folder / "refusal.yaml")] if ran else []

    def recompute(self, saved: Saved, row: VerdictRow) -> tuple[Result, Floor, Any, frozenset[str]]:
        pair, subject = saved.pair(row.pair), row.subject
        dims = dict(saved.record.tracks[self.name].dimensions)
        if subject != self.name:
            dims = {subject: dims[subject]}
        t = saved.thresholds(self.name)
        result = self.result(t, pair, subject, tuple(saved.evaluate(pair, d) for ids in dims.values() for d in ids),
                             dims)
        floor, rule = self.floor(t, result)
        return result, floor, rule, frozenset()


def refusal_note(measured: Path) -> str:
    """Which refusal judge scored the trust track, and its measured quality (thresholds/refusal.yaml)."""
    import yaml

    from medcheck.trust.refusal import fingerprint

    judge = fingerprint()
    if not judge.startswith("patterns"):
        return f"REFUSALS: detected by the judge {judge!r} (its quality is not measured by medcheck)."
    try:
        q = yaml.safe_load(measured.read_text(encoding="utf-8"))["held_out"]
        return (f"REFUSALS: detected by the pattern model ({judge}): precision {q['precision']:.3f}, recall "
                f"{q['recall']:.3f} on {q['texts']} held-out labelled texts (thresholds/refusal.yaml).")
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return f"REFUSALS: detected by the pattern model ({judge}); {measured} holds no measured quality."
