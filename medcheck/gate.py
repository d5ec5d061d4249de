"""The gate session: settings, pairs, thresholds, evaluator and verdicts of one run.

The pytest layer hands off to this object in a line per hook; it never imports pytest. Nothing
here branches on a track's name or a result's kind: tracks are declarations (medcheck.tracks),
results share one interface (medcheck.results), and the run ends as one typed record.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medcheck import pairs as pairs_mod
from medcheck import thresholds as thresholds_mod
from medcheck import tracks
from medcheck.compression import DENSE, RECIPES
from medcheck.evaluate import Evaluator, Progress
from medcheck.memo import Memo
from medcheck.pairs import Pair
from medcheck.record import RunRecord, build_record, environment
from medcheck.results import PairResult, Result, TrackResult
from medcheck.results_measured import CrossResult, EfficiencyResult
from medcheck.results_trust import TrustResult
from medcheck.settings import Settings
from medcheck.store import ResultStore
from medcheck.thresholds import Floor, Verdict, judge
from medcheck.track_thresholds import CrossThresholds, EfficiencyThresholds, TrustThresholds


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
        self.thresholds = {t.name: thresholds_mod.load(folder / t.thresholds, list(t.datasets()), sorted(RECIPES))
                           for t in tracks.choice_tracks()}
        self.efficiency_thresholds = EfficiencyThresholds(folder / tracks.get("efficiency").thresholds, sorted(RECIPES))
        self.cross_thresholds = CrossThresholds(folder / tracks.get("cross").thresholds, list(self.pairs_file.models))
        trust = tracks.get("trust")
        self.trust_thresholds = TrustThresholds(folder / trust.thresholds, list(trust.dimensions()),
                                                list(trust.datasets()), sorted(RECIPES))
        store = ResultStore(settings.cache_dir / "results.sqlite" if settings.use_cache else None)
        self.evaluator = Evaluator(settings, self.pairs_file, store, progress, budgets=self.generation_budget)
        self._progress = progress
        self._efficiency: Memo[tuple[str, str], Any] = Memo()
        self.efficiency_results: list[EfficiencyResult] = []
        self.cross_results: list[CrossResult] = []
        self.track_results: list[TrackResult | TrustResult] = []
        self.outcomes: list[Outcome] = []
        self.errors: dict[str, str] = {}
        self.merged: RunRecord | None = None       # set by the controller of a distributed run (medcheck.merge)
        self.unrecorded_snapshots: list[str] = []   # tests whose configuration has no snapshot yet

    @property
    def pairs(self) -> list[Pair]:
        return self.pairs_file.pairs()

    @property
    def snapshot_key(self) -> str:
        """Snapshots are per configuration, so real-data runs never compare against sample ones."""
        source = "real" if self.settings.data_dir else "sample"
        limit = f"limit{self.settings.limit}" if self.settings.limit else "all"
        return f"{source}-{self.pairs_file.protocol}-{self.evaluator.dtype}-{limit}"

    # -- planning: what the collected tests will ask for -------------------------------------
    def plan(self, params: Iterable[Mapping[str, Any]]) -> None:
        """From each collected test's parameters, every (pair, dataset) it needs: each model loads once."""
        wanted: list[tuple[Pair, str]] = []
        for p in params:
            if "pair" in p and "dataset" in p:
                wanted.append((p["pair"], p["dataset"]))
            elif "pair" in p and "track" in p:
                wanted += [(p["pair"], d) for d in tracks.get(p["track"]).datasets()]
            elif "pair" in p and "dimension" in p:   # a trust dimension: its files
                wanted += [(p["pair"], d) for d in tracks.get("trust").dimensions().get(p["dimension"], ())]
            elif "model" in p:   # the cross-combination track: every pair of the model
                wanted += [(pair, d) for pair in self.pairs if pair.model == p["model"]
                           for d in self.pairs_file.cross_datasets]
        self.evaluator.plan([(pair, d) for pair, d in wanted if not self.missing(d)])

    # -- the tracks ------------------------------------------------------------------------
    def generation_budget(self, dataset_id: str) -> dict[str, int]:
        """Token budget and item cap of a generative dataset, from its track's threshold file."""
        name = tracks.of_dataset(dataset_id).name
        files = {**self.thresholds, "trust": self.trust_thresholds}
        return files[name].generation(dataset_id) if name in files else {}

    def _evaluate_all(self, pair: Pair, name: str, ids: Iterable[str]) -> tuple[PairResult, ...]:
        results, failures = [], []
        for dataset_id in ids:
            try:
                results.append(self.evaluator.evaluate(pair, dataset_id))
            except Exception as exc:
                failures.append(f"{dataset_id}: {exc}")
        if failures:
            raise RuntimeError(f"the {name} track needs every dataset; these failed:\n  " + "\n  ".join(failures))
        return tuple(results)

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

    def _keep(self, result: TrackResult | TrustResult) -> None:
        self.track_results = [r for r in self.track_results
                              if (r.pair, r.subject) != (result.pair, result.subject)] + [result]

    def track(self, pair: Pair, name: str) -> TrackResult | TrustResult:
        track = tracks.get(name)
        results = self._evaluate_all(pair, name, self.present(track.datasets()) if track.partial else track.datasets())
        result: TrackResult | TrustResult
        if track.kind == "trust":
            result = TrustResult(pair, name, results, track.dimensions(), self.trust_thresholds.exponents)
        else:
            result = TrackResult(pair, name, results, track.dimensions())
        self._keep(result)
        return result

    def dimension(self, pair: Pair, dimension: str) -> TrustResult:
        """One trust dimension over its files, gated on that dimension's TWY."""
        ids = tracks.get("trust").dimensions().get(dimension)
        if not ids:
            raise KeyError(f"unknown trust dimension {dimension!r}; known: {', '.join(tracks.get('trust').dimensions())}")
        results = self._evaluate_all(pair, "trust", ids)
        result = TrustResult(pair, dimension, results, {dimension: ids},
                             {dimension: self.trust_thresholds.exponents[dimension]})
        self._keep(result)
        return result

    def _measure(self, model: str, compression: str) -> Any:
        from medcheck.efficiency import PROMPTS, measure
        from medcheck.efficiency_shots import sweep

        def run() -> Any:
            t = self.efficiency_thresholds
            cfg = t.full_measurement if self.settings.efficiency == "full" else t.measurement
            backend = self.evaluator.backend(model, compression)
            bar = self._progress()
            shots = cfg["shots"]
            bar.start(f"{model}/{compression} efficiency", (cfg["prompts"] + len(shots)) * (cfg["repeats"] + 2))
            try:
                measured = measure(backend, max_new_tokens=cfg["max_new_tokens"], repeats=cfg["repeats"],
                                   prompts=PROMPTS[:cfg["prompts"]], progress=lambda done, total: bar.advance(1))
                by_shots = sweep(backend, shots, max_new_tokens=cfg["max_new_tokens"], repeats=cfg["repeats"],
                                 seed=self.settings.seed, progress=lambda: bar.advance(1))
                return dataclasses.replace(measured, by_shots=by_shots)
            finally:
                bar.finish()

        return self._efficiency.get((model, compression), run)

    def efficiency(self, pair: Pair) -> EfficiencyResult:
        """Dense and candidate measured in the same run; ratios oriented so > 1 is better."""
        from medcheck.efficiency import ces_of, ratios

        dense = self._measure(pair.model, DENSE)
        candidate = self._measure(pair.model, pair.compression)
        directions = self.efficiency_thresholds.directions
        oriented = ratios(dense, candidate, directions)
        failures = tuple(m for dim, f in self.efficiency_thresholds.ratio_floors(pair.compression)
                         if (m := f.fails(oriented[dim], candidate.n_runs)))
        result = EfficiencyResult(pair, dense, candidate, oriented, ces_of(dense, candidate, directions), failures)
        self.efficiency_results = [r for r in self.efficiency_results if r.pair != pair] + [result]
        return result

    def cross(self, model: str) -> CrossResult:
        """Mean accuracy over the cross datasets for dense and every compression of `model`."""
        ids = self.pairs_file.cross_datasets
        accuracies: dict[str, float] = {}
        n = 0
        for pair in [p for p in self.pairs if p.model == model]:
            results = [self.evaluator.evaluate(pair, d) for d in ids]
            accuracies.setdefault(DENSE, sum(r.dense.score for r in results) / len(results))
            accuracies[pair.compression] = sum(r.candidate.score for r in results) / len(results)
            n = sum(r.dataset.n for r in results)
        sources = tuple(sorted({self.evaluator.dataset(d).source for d in ids}))
        result = CrossResult(model, tuple(ids), accuracies, n, sources, self.evaluator.protocol)
        self.cross_results = [r for r in self.cross_results if r.model != model] + [result]
        return result

    # -- verdicts --------------------------------------------------------------------------
    def floor(self, score: str, subject: str, compression: str) -> tuple[Floor, Any]:
        """(floor, decision rule) for a test: dataset or track CPS, CES or CCS."""
        if score == "cps":
            t = self.thresholds[tracks.of_dataset(subject).name]
            return t.cps(subject, compression), t.rule("cps", compression)
        if score == "track_cps":
            t = self.thresholds[subject]
            return t.track_cps(subject, compression), t.rule("track_cps", compression)
        if score == "twy":
            return self.trust_thresholds.twy(subject, compression), self.trust_thresholds.rule(compression)
        if score == "ces":
            return self.efficiency_thresholds.ces(compression), None
        return self.cross_thresholds.ccs(subject), None

    def verdict(self, test_id: str, floor: Floor, rule: Any, result: Result) -> Verdict:
        verdict = judge(floor, rule, result, seed=self.settings.seed)
        self.outcomes.append(Outcome(test_id, result, verdict))
        return verdict

    def properties(self, result: Result) -> list[tuple[str, Any]]:
        """JUnit properties of one test: the audit record."""
        ev = self.evaluator
        runtime = {"protocol": ev.protocol, "dtype": ev.dtype, "device": ev.device, "backend": ev.engine.name}
        return junit_properties(result, runtime, environment())

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
    return [("threshold", floor.value), ("threshold_rule", floor.rule), ("verdict", "pass" if verdict.passed else "fail"),
            *verdict.properties(), ("verdict_message", verdict.message)]
