"""What every track is and does, whatever it measures.

A track is a declaration (name, title, score, threshold file) plus its behaviour: which datasets a
collected test needs, how its results aggregate, where its floors come from, what it adds to the
run record and how `verify` recomputes its verdicts. The gate, the fixtures, the record and
`verify` call these methods for every registered track and never test a track's name or kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from medcheck.datasets.types import Dataset
    from medcheck.evaluate import Evaluator, Progress
    from medcheck.pairs import Pair, PairsFile
    from medcheck.record import RunRecord
    from medcheck.record_rows import VerdictRow
    from medcheck.results import PairResult, Result
    from medcheck.settings import Settings
    from medcheck.thresholds import Floor

T = TypeVar("T")
DESCRIPTION = ("title", "score", "kind", "table", "dimensions", "datasets")   # Track.describe()'s keys


class Run(Protocol):
    """What a track reads of the running gate (or of a saved run, for `verify`)."""

    settings: Settings
    evaluator: Evaluator
    pairs_file: PairsFile

    @property
    def pairs(self) -> list[Pair]: ...
    def thresholds_of(self, track: str) -> Any: ...
    def present(self, ids: Sequence[str]) -> list[str]: ...
    def progress(self) -> Progress: ...
    def remember(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T: ...


class Saved(Protocol):
    """What `verify` offers a track: a saved run answering the evaluator's questions."""

    record: RunRecord
    protocol: str
    seed: int

    def dataset(self, dataset_id: str) -> Dataset: ...
    def evaluate(self, pair: Pair, dataset_id: str) -> PairResult: ...
    def pair(self, pair_id: str) -> Pair: ...
    def pairs_of(self, model: str) -> list[Pair]: ...
    def thresholds(self, track: str) -> Any: ...


@dataclass(frozen=True)
class Track:
    name: str
    title: str
    score: str                  # the score its verdicts are on: CPS, TWY, CES, CCS
    thresholds: str             # file under thresholds/
    partial: bool = False       # with a data dir, runs on the datasets present there (others are reported missing)
    keeps_rows: bool = False    # the run record keeps its own rows (Track.rows) in its section, tracks.<name>.rows
    kind = "track"              # a label for the record's readers; behaviour lives in the methods
    table = "verdicts"          # the report's layout of its table (medcheck.report.tables.TABLES)

    # -- what it counts ---------------------------------------------------------------------
    def datasets(self) -> tuple[str, ...]:
        return ()

    def dimensions(self) -> dict[str, tuple[str, ...]]:
        """CMedBench dimension -> dataset ids (GMK / AMK / BLC, AME / CDA / EUR, ...)."""
        return {}

    # -- its threshold file -------------------------------------------------------------------
    def load_thresholds(self, path: Path, models: Sequence[str]) -> Any:
        raise NotImplementedError

    def floor(self, thresholds: Any, result: Result) -> tuple[Floor, Any]:
        """(floor, decision rule or None) of a result of this track."""
        raise NotImplementedError

    def generation(self, thresholds: Any, dataset_id: str) -> dict[str, int]:
        """Token budget and item cap of one of its generative datasets."""
        return {}

    # -- planning and evaluation ---------------------------------------------------------------
    def wants(self, params: Mapping[str, Any], run: Run) -> list[tuple[Pair, str]]:
        """The (pair, dataset) runs a collected test with these parameters needs from this track."""
        return []

    def loaded_work(self, params: Mapping[str, Any], run: Run) -> list[tuple[str, str, Callable[[], object]]]:
        """(model, compression, work) a collected test will ask of a loaded model; the evaluator does
        the work while scoring has that model loaded (`params["track_marker"]`: the test's track)."""
        return []

    def evaluate(self, run: Run, *args: Any) -> Result:
        raise NotImplementedError

    # -- the run record and verify -----------------------------------------------------------------
    def section(self, results: Sequence[Result]) -> dict[str, Any]:
        """What the run record's `tracks.<name>` holds beyond the description."""
        return {}

    def rows(self, results: Sequence[Result]) -> list[dict[str, Any]]:
        """This track's own rows of the run record (tracks.<name>.rows, where it `keeps_rows`)."""
        return []

    def notes(self, ran: bool, folder: Path) -> list[str]:
        """The report's notes about this track in a run (`ran`: some of its datasets were scored)."""
        return []

    def recompute(self, saved: Saved, row: VerdictRow) -> tuple[Result, Floor, Any, frozenset[str]]:
        """(result, floor, rule, unchecked JUnit properties) rebuilt from a saved run's verdict row."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """The run record's description of the track (DESCRIPTION keys); its section adds the scores."""
        return {"title": self.title, "score": self.score, "kind": self.kind, "table": self.table,
                "dimensions": {k: list(v) for k, v in self.dimensions().items()}, "datasets": list(self.datasets())}


def track_scores(results: list[Any]) -> dict[str, Any]:
    """A track's CPS and per-dimension CPS per pair, over the pairs whose CPS is defined."""
    mine = [r for r in results if getattr(r, "scored", True)]
    metric = mine[0].metric.lower() if mine else "cps"
    return {metric: {r.pair.id: round(r.value, 4) for r in mine},
            f"dimension_{metric}": {r.pair.id: {k: round(v, 4) for k, v in r.dimension_scores().items()} for r in mine}}
