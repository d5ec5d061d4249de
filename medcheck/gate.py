"""The gate session: settings, pairs, thresholds, evaluator and verdicts of one run.

The pytest layer hands off to this object in a line per hook; it never imports pytest.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medcheck import datasets, metrics, pairs as pairs_mod, thresholds as thresholds_mod
from medcheck.compression import DENSE, RECIPES
from medcheck.evaluate import Evaluator, PairResult, Progress
from medcheck.pairs import Pair
from medcheck.settings import Settings
from medcheck.store import ResultStore
from medcheck.thresholds import Floor, Verdict, check
from medcheck.track_thresholds import CrossThresholds, EfficiencyThresholds


@dataclass(frozen=True)
class TrackResult:
    pair: Pair
    track: str
    results: tuple[PairResult, ...]

    @property
    def n(self) -> int:
        return sum(r.dataset.n for r in self.results)

    @property
    def cps(self) -> float:
        return metrics.cps({r.dataset.id: r.dense.summary.accuracy for r in self.results},
                           {r.dataset.id: r.candidate.summary.accuracy for r in self.results})

    def collapse(self) -> str | None:
        reasons = [m for r in self.results if (m := r.collapse())]
        return "; ".join(reasons) or None

    def scores(self) -> dict[str, Any]:
        return {"n": self.n, "datasets": len(self.results), "cps": round(self.cps, 4)}


@dataclass(frozen=True)
class EfficiencyResult:
    pair: Pair
    dense: Any                   # medcheck.efficiency.Efficiency
    candidate: Any
    ratios: dict[str, float]     # oriented: > 1 is more efficient
    ces: float

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

    @property
    def ccs(self) -> float:
        dense = self.accuracies["dense"]
        return metrics.ccs({self.model: dense}, {(self.model, s): a for s, a in self.accuracies.items()})

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "datasets": list(self.datasets), "dense_accuracy": round(self.accuracies["dense"], 4),
                "accuracies": {k: round(v, 4) for k, v in self.accuracies.items()}, "ccs": round(self.ccs, 4)}


@dataclass
class Outcome:
    test_id: str
    kind: str                    # "dataset" | "track"
    pair_id: str
    subject: str                 # dataset id or track name
    value: float
    verdict: Verdict


class GateSession:
    def __init__(self, settings: Settings, root: Path, progress: type[Progress] = Progress) -> None:
        self.settings, self.root = settings, root
        self.started = time.time()
        pairs_path = settings.pairs_file or root / "suites" / "pairs" / "default.yaml"
        self.pairs_file = pairs_mod.load(pairs_path, models=settings.models,
                                         compressions=settings.compressions, protocol=settings.protocol)
        self.thresholds = {"knowledge": thresholds_mod.load(root / "thresholds" / "knowledge.yaml",
                                                            datasets.dataset_ids(), sorted(RECIPES))}
        self.efficiency_thresholds = EfficiencyThresholds(root / "thresholds" / "efficiency.yaml", sorted(RECIPES))
        self.cross_thresholds = CrossThresholds(root / "thresholds" / "cross.yaml", list(self.pairs_file.models))
        self.efficiency_results: list[EfficiencyResult] = []
        self.cross_results: list[CrossResult] = []
        self._efficiency: dict[tuple[str, str], Any] = {}
        store = ResultStore(settings.cache_dir / "results.sqlite" if settings.use_cache else None)
        self.evaluator = Evaluator(settings, self.pairs_file, store, progress)
        self.outcomes: list[Outcome] = []
        self.errors: dict[str, str] = {}
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

    def track(self, pair: Pair, track: str) -> TrackResult:
        results, failures = [], []
        for dataset_id in datasets.TRACKS[track]:
            try:
                results.append(self.evaluator.evaluate(pair, dataset_id))
            except Exception as exc:
                failures.append(f"{dataset_id}: {exc}")
        if failures:
            raise RuntimeError(f"the {track} track needs every dataset; these failed:\n  " + "\n  ".join(failures))
        return TrackResult(pair, track, tuple(results))

    # -- efficiency and cross-combination tracks ---------------------------------------------
    def _measure(self, model: str, compression: str) -> Any:
        key = (model, compression)
        if key not in self._efficiency:
            from medcheck.efficiency import PROMPTS, measure

            cfg = self.efficiency_thresholds.measurement
            try:
                backend = self.evaluator.backend(model, compression)
                self._efficiency[key] = measure(backend.model, backend.tokenizer, max_new_tokens=cfg["max_new_tokens"],
                                                repeats=cfg["repeats"], prompts=PROMPTS[:cfg["prompts"]])
            except Exception as exc:
                self._efficiency[key] = exc
        value = self._efficiency[key]
        if isinstance(value, Exception):
            raise value
        return value

    def efficiency(self, pair: Pair) -> EfficiencyResult:
        """Dense and candidate measured in the same run; ratios oriented so > 1 is better."""
        from medcheck.efficiency import ces_of, ratios

        dense = self._measure(pair.model, DENSE)
        candidate = self._measure(pair.model, pair.compression)
        directions = self.efficiency_thresholds.directions
        result = EfficiencyResult(pair, dense, candidate, ratios(dense, candidate, directions),
                                  ces_of(dense, candidate, directions))
        self.efficiency_results = [r for r in self.efficiency_results if r.pair != pair] + [result]
        return result

    def cross(self, model: str) -> CrossResult:
        """Mean accuracy over the cross datasets for dense and every compression of `model`."""
        ids = self.pairs_file.cross_datasets
        pairs = [p for p in self.pairs if p.model == model]
        accuracies: dict[str, float] = {}
        n = 0
        for pair in pairs:
            results = [self.evaluator.evaluate(pair, d) for d in ids]
            accuracies.setdefault(DENSE, sum(r.dense.summary.accuracy for r in results) / len(results))
            accuracies[pair.compression] = sum(r.candidate.summary.accuracy for r in results) / len(results)
            n = sum(r.dataset.n for r in results)
        result = CrossResult(model, tuple(ids), accuracies, n)
        self.cross_results = [r for r in self.cross_results if r.model != model] + [result]
        return result

    def record(self, test_id: str, kind: str, pair_id: str, subject: str, floor: Floor, value: float, n: int,
               reasons: list[str] | None = None) -> Verdict:
        verdict = check(floor, value, n, reasons)
        self.outcomes.append(Outcome(test_id, kind, pair_id, subject, value, verdict))
        return verdict

    def verdict(self, test_id: str, floor: Floor, result: PairResult | TrackResult) -> Verdict:
        reasons = [m for m in [result.collapse()] if m]
        value = result.cps
        n = result.dataset.n if isinstance(result, PairResult) else result.n
        kind, subject = (("dataset", result.dataset.id) if isinstance(result, PairResult)
                         else ("track", result.track))
        return self.record(test_id, kind, result.pair.id, subject, floor, value, n, reasons)

    def properties(self, result: PairResult | TrackResult) -> list[tuple[str, Any]]:
        """JUnit properties of one test: the audit record."""
        from medcheck.report import environment

        ev = self.evaluator
        pair = result.pair
        props: list[tuple[str, Any]] = [("model", pair.model), ("compression", pair.compression),
                                        ("protocol", ev.protocol), ("dtype", ev.dtype), ("device", ev.device)]
        if isinstance(result, PairResult):
            d, c = result.dense, result.candidate
            cps = "undefined" if result.cps_or_none is None else round(result.cps_or_none, 4)
            props += [("dataset", result.dataset.id), ("data_source", result.dataset.source),
                      ("dataset_sha256", result.dataset.sha256), ("loader_version", result.dataset.loader_version),
                      ("n", result.dataset.n), ("dense_accuracy", round(d.summary.accuracy, 4)),
                      ("accuracy", round(c.summary.accuracy, 4)), ("acc_norm", round(c.summary.acc_norm, 4)),
                      ("dense_acc_norm", round(d.summary.acc_norm, 4)),
                      ("accuracy_ci95", "%.3f-%.3f" % c.summary.ci95), ("cps", cps),
                      ("model_fingerprint", d.fingerprint), ("compressed_fingerprint", c.fingerprint),
                      ("degenerate", c.summary.degenerate), ("dense_degenerate", d.summary.degenerate),
                      ("top_answer_share", round(c.summary.top_share, 3)),
                      ("load_strategy", c.load.get("strategy", "not loaded (all results cached)")),
                      ("load_attempts", json.dumps(c.load.get("attempts", []))[:4000]),
                      ("load_fallback", c.load.get("fallback", False)),
                      ("bits_per_weight", c.load.get("bits_per_weight", "")),
                      ("weight_bytes", c.load.get("weight_bytes", "")),
                      ("warmup", json.dumps(c.load.get("warmup", {}))[:1000])]
        else:
            sources = sorted({r.dataset.source for r in result.results})
            props += [("dataset", ",".join(r.dataset.id for r in result.results)),
                      ("data_source", ",".join(sources)), ("n", result.n), ("cps", round(result.cps, 4)),
                      ("model_fingerprint", result.results[0].dense.fingerprint)]
        props += [(k, v) for k, v in environment().items()]
        return props

    def efficiency_properties(self, result: EfficiencyResult) -> list[tuple[str, Any]]:
        from medcheck.report import environment

        c, d = result.candidate, result.dense
        props: list[tuple[str, Any]] = [("model", result.pair.model), ("compression", result.pair.compression),
                                        ("device", c.device), ("memory_kind", c.memory_kind)]
        for dim in result.ratios:
            props += [(dim, getattr(c, dim)), (f"dense_{dim}", getattr(d, dim)), (f"{dim}_ratio", round(result.ratios[dim], 4))]
        props += [("ces", round(result.ces, 4)), ("weight_bytes", c.weight_bytes), ("n_runs", c.n_runs)]
        return props + list(environment().items())

    def cross_properties(self, result: CrossResult) -> list[tuple[str, Any]]:
        from medcheck.report import environment

        sources = sorted({self.evaluator.dataset(d).source for d in result.datasets})
        props: list[tuple[str, Any]] = [("model", result.model), ("dataset", ",".join(result.datasets)),
                                        ("data_source", ",".join(sources)), ("n", result.n),
                                        ("ccs", round(result.ccs, 4)), ("protocol", self.evaluator.protocol)]
        props += [(f"accuracy_{s}", round(a, 4)) for s, a in result.accuracies.items()]
        return props + list(environment().items())

    def write_report(self) -> Path:
        from medcheck.report import write

        return write(self, self.settings.report_dir)
