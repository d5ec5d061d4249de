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
from medcheck.compression import RECIPES
from medcheck.evaluate import Evaluator, PairResult, Progress
from medcheck.pairs import Pair
from medcheck.settings import Settings
from medcheck.store import ResultStore
from medcheck.thresholds import Floor, Verdict, check


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

    def verdict(self, test_id: str, floor: Floor, result: PairResult | TrackResult) -> Verdict:
        reasons = [m for m in [result.collapse()] if m]
        value = result.cps
        n = result.dataset.n if isinstance(result, PairResult) else result.n
        verdict = check(floor, value, n, reasons)
        kind, subject = (("dataset", result.dataset.id) if isinstance(result, PairResult)
                         else ("track", result.track))
        self.outcomes.append(Outcome(test_id, kind, result.pair.id, subject, value, verdict))
        return verdict

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

    def write_report(self) -> Path:
        from medcheck.report import write

        return write(self, self.settings.report_dir)
