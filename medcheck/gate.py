"""The gate session: settings, pairs, thresholds, evaluator and verdicts of one run.

The pytest layer hands off to this object in a line per hook; it never imports pytest. Nothing
here branches on a track's name or a result's kind: tracks own their behaviour (medcheck.tracks),
results share one interface (medcheck.results), and the run ends as one typed record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from medcheck import pairs as pairs_mod
from medcheck import tracks
from medcheck.evaluate import Evaluator, Progress
from medcheck.family import judge_in_family
from medcheck.memo import Memo
from medcheck.pairs import Pair
from medcheck.record import RunRecord, build_record, environment
from medcheck.results import Result
from medcheck.settings import Settings
from medcheck.store import ResultStore
from medcheck.thresholds import Floor, Verdict

T = TypeVar("T")


@dataclass
class Outcome:
    test_id: str
    result: Result
    verdict: Verdict


class GateSession:
    def __init__(self, settings: Settings, root: Path, progress: type[Progress] = Progress) -> None:
        self.settings = settings
        self.root = root
        self.started = time.time()
        pairs_path = settings.pairs_file or root / "suites" / "pairs" / "default.yaml"
        self.pairs_file = pairs_mod.load(pairs_path, models=settings.models,
                                         compressions=settings.compressions, protocol=settings.protocol)
        folder = root / "thresholds"
        models = list(self.pairs_file.models)
        self.thresholds = {t.name: t.load_thresholds(folder / t.thresholds, models) for t in tracks.TRACKS.values()}
        store = ResultStore(settings.cache_dir / "results.sqlite" if settings.use_cache else None)
        self.evaluator = Evaluator(settings, self.pairs_file, store, progress, budgets=self.generation_budget)
        self.evaluator.decide = self.look_outcome   # a sequential run stops a dataset once its verdict is decided
        self._progress = progress
        self._remembered: Memo[tuple[Any, ...], Any] = Memo()
        self.results: dict[str, list[Result]] = {name: [] for name in tracks.TRACKS}   # per track, latest per subject
        self.outcomes: list[Outcome] = []
        self.errors: dict[str, str] = {}
        self.merged: RunRecord | None = None       # set by the controller of a distributed run (medcheck.merge)
        self.workers = 1                          # processes of a distributed run (pytest -n N; medcheck.parallel)
        self.unrecorded_snapshots: list[str] = []   # tests whose configuration has no snapshot yet
        self.snapshot_drifts: list[str] = []        # tests whose scores differ from another candidate's reference
        self.families: dict[tuple[str, str], int] = {}   # (track, candidate) -> tests collected (medcheck.family)

    @property
    def pairs(self) -> list[Pair]:
        return self.pairs_file.pairs()

    @property
    def snapshot_key(self) -> str:
        """Snapshots are per configuration (data, protocol, dtype, limit, backend), so real-data runs
        never compare against sample ones; `snapshot_key_for` adds the models a test compares."""
        source = "real" if self.settings.data_dir else "sample"
        limit = f"limit{self.settings.limit}" if self.settings.limit else "all"
        return f"{source}-{self.pairs_file.protocol}-{self.evaluator.dtype}-{limit}-{self.evaluator.engine.name}"

    def snapshot_key_for(self, model: str, compressions: Iterable[str]) -> str:
        """The configuration key plus the fingerprints of the dense model and each compressed model a test
        compares: a new checkpoint under an old pair name has no snapshot yet, rather than a wrong one."""
        from medcheck.compression import DENSE

        scored = {(r.model, r.compression): r.fingerprint for r in self.evaluator.run_results()}
        prints = [scored.get((model, c), "unscored")[:12] for c in (DENSE, *compressions)]
        return "-".join([self.snapshot_key, *prints])

    # -- what a track reads of the run (medcheck.tracks.base.Run) ---------------------------------
    def thresholds_of(self, track: str) -> Any:
        return self.thresholds[track]

    def progress(self) -> Progress:
        return self._progress()

    def remember(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """A value (or its failure) computed once per run: a measurement shared by several tests."""
        return self._remembered.get(key, compute)

    def present(self, ids: Iterable[str]) -> list[str]:
        """The datasets whose release files are in the data dir (all of them on the bundled samples)."""
        from medcheck import datasets

        return [d for d in ids if datasets.available(d, self.settings.data_dir)]

    def missing(self, dataset_id: str) -> str | None:
        """Why a dataset of a partial track is left out of this run, if it is."""
        track = tracks.of_dataset(dataset_id)
        if track.partial and not self.present([dataset_id]):
            return (f"{dataset_id} is not in {self.settings.data_dir}: the {track.name} track runs on the datasets "
                    f"present there")
        return None

    # -- planning: what the collected tests will ask for -------------------------------------
    def plan(self, params: Iterable[Mapping[str, Any]]) -> None:
        """From each collected test's parameters, every (pair, dataset) it needs: each model loads once."""
        wanted: list[tuple[Pair, str]] = []
        for p in params:
            if "pair" in p and "dataset" in p:
                wanted.append((p["pair"], p["dataset"]))
            for track in tracks.TRACKS.values():
                wanted += track.wants(p, self)
                for model, compression, work in track.loaded_work(p, self):
                    self.evaluator.while_loaded(model, compression, work)
        self.evaluator.plan([(pair, d) for pair, d in wanted if not self.missing(d)])

    def count_tests(self, subjects: Iterable[tuple[str, str]]) -> None:
        """The collected tests' (track, candidate): each family's size sets the level its fails must hold at."""
        self.families = {}
        for key in subjects:
            self.families[key] = self.families.get(key, 0) + 1

    def family(self, result: Result) -> int:
        return self.families.get((result.track, result.pair_id), 1)

    def generation_budget(self, dataset_id: str) -> dict[str, int]:
        """Token budget and item cap of a generative dataset, from its track's threshold file."""
        track = tracks.of_dataset(dataset_id)
        return track.generation(self.thresholds[track.name], dataset_id)

    # -- evaluation ---------------------------------------------------------------------------
    def evaluate(self, track_name: str, *args: Any) -> Result:
        """A track's result for a test's subject (a pair and track or dimension, a pair, a model)."""
        track = tracks.get(track_name)
        result = track.evaluate(self, *args)
        kept = self.results[track.name]
        self.results[track.name] = [r for r in kept if (r.pair_id, r.subject) != (result.pair_id, result.subject)] \
            + [result]
        return result

    # -- verdicts --------------------------------------------------------------------------
    def floor(self, result: Result) -> tuple[Floor, Any]:
        """(floor, decision rule) of a result, from its track's threshold file."""
        track = tracks.get(result.track)
        return track.floor(self.thresholds[track.name], result)

    def verdict(self, test_id: str, floor: Floor, rule: Any, result: Result) -> Verdict:
        verdict = judge_in_family(floor, rule, result, self.family(result), seed=self.settings.seed)
        self.outcomes.append(Outcome(test_id, result, verdict))
        return verdict

    def properties(self, result: Result) -> list[tuple[str, Any]]:
        """JUnit properties of one test: the audit record."""
        ev = self.evaluator
        runtime = {"protocol": ev.protocol, "dtype": ev.dtype, "device": ev.device, "backend": ev.engine.name}
        return junit_properties(result, runtime, environment())

    def look_outcome(self, result: Result) -> str:
        """pass / fail / inconclusive of a result at a sequential look (its track applies the look's level)."""
        floor, rule = self.floor(result)
        return judge_in_family(floor, rule, result, self.family(result), seed=self.settings.seed).outcome

    # -- the end of the run ------------------------------------------------------------------
    def record(self) -> RunRecord:
        """This session's run record, or the merged record of its workers (pytest-xdist's controller)."""
        return self.merged if self.merged is not None else build_record(self)

    def write_report(self, junit: Path | None = None, command: Mapping[str, Any] | None = None) -> Path:
        """report.json, samples.jsonl, the views, then manifest.json hashing them all (and `junit`,
        which pytest has written by the time this runs)."""
        from medcheck import audit
        from medcheck.report import write

        record = self.record()
        written = write(record, self.settings.report_dir)
        folder = self.root / "thresholds"   # every track's threshold file, as __init__ read them
        inputs = {**{f"thresholds/{t.thresholds}": (folder / t.thresholds, t.name) for t in tracks.TRACKS.values()
                     if (folder / t.thresholds).is_file()},
                  f"pairs/{Path(self.pairs_file.path).name}": (Path(self.pairs_file.path), "pairs")}
        return audit.write_manifest(self.settings.report_dir, record.as_dict(), written, inputs=inputs, junit=junit,
                                    command=dict(command or {}), started=self.started)


# -- pure steps of a test's record, shared with `medcheck verify`, which recomputes a saved run ---
def junit_properties(result: Result, runtime: Mapping[str, Any], env: Mapping[str, str]) -> list[tuple[str, Any]]:
    """JUnit properties of one test: pair, runtime (protocol, dtype, device, backend), the result's
    own properties and the library versions."""
    pair = [("model", result.pair_id.split("/")[0]), ("compression", result.pair_id.partition("/")[2] or "all")]
    return pair + [(k, runtime[k]) for k in ("protocol", "dtype", "device", "backend")] + result.properties() + \
        list(env.items())


def check_properties(floor: Floor, verdict: Verdict) -> list[tuple[str, Any]]:
    """The JUnit properties a threshold check adds to its test."""
    return [("threshold", floor.value), ("threshold_rule", floor.rule),
            ("verdict", "pass" if verdict.passed else "fail"), *verdict.properties(),
            ("verdict_message", verdict.message)]
