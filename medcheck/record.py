"""One typed, versioned record of a run: what report.json holds and what every view reads.

The gate builds it once at the end of the run; the report, `compare` and the summary table read
only the record (or its JSON), never the live session. SCHEMA_VERSION changes whenever a field's
meaning changes, so readers can refuse what they do not understand.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import medcheck
from medcheck import tracks
from medcheck.compression import DENSE
from medcheck.errors import RecordError
from medcheck.parallel import runtime
from medcheck.record_rows import (
    REWRITE,
    ROWS,
    SCHEMA_VERSION,
    Fields,
    RunRow,
    SampleRow,
    ScoreRow,
    ThroughputRow,
    TrackSection,
    VerdictRow,
    upgrade,
)

if TYPE_CHECKING:
    from medcheck.gate import GateSession

__all__ = ["SCHEMA_VERSION", "RunRecord", "build_record", "load_record"]


@lru_cache(maxsize=1)
def environment() -> dict[str, str]:
    """Library versions for every record (read from metadata: importing torch is not needed)."""
    env = {"medcheck_version": medcheck.__version__, "python": platform.python_version()}
    for package in ("torch", "transformers", "bitsandbytes", "accelerate"):
        try:
            env[f"{package}_version"] = version(package)
        except PackageNotFoundError:
            env[f"{package}_version"] = "not installed"
    return env


@dataclass(frozen=True)
class RunRecord:
    medcheck: str
    finished: str
    wall_seconds: float
    settings: dict[str, Any]
    runtime: dict[str, Any]
    environment: dict[str, str]
    pairs_file: str
    pairs: list[str]
    models: dict[str, dict[str, Any]]
    datasets: dict[str, dict[str, Any]]
    tracks: dict[str, TrackSection]     # every registered track: its description, its scores and rows
    runs: list[RunRow]
    scores: list[ScoreRow]
    verdicts: list[VerdictRow]
    errors: dict[str, str]
    notes: list[str]
    throughput: list[ThroughputRow]
    samples: list[SampleRow] = field(default_factory=list, repr=False)   # samples.jsonl, not report.json
    schema_version: int = SCHEMA_VERSION

    def as_dict(self) -> dict[str, Any]:
        """report.json (the samples go to samples.jsonl)."""
        return {"medcheck": self.medcheck, "finished": self.finished, "wall_seconds": self.wall_seconds,
                "settings": self.settings, "runtime": self.runtime, "environment": self.environment,
                "pairs_file": self.pairs_file, "pairs": self.pairs, "models": self.models, "datasets": self.datasets,
                "tracks": {name: t.as_dict() for name, t in self.tracks.items()},
                "runs": [r.as_dict() for r in self.runs], "scores": [s.as_dict() for s in self.scores],
                "verdicts": [v.as_dict() for v in self.verdicts], "errors": self.errors, "notes": self.notes,
                "throughput": [t.as_dict() for t in self.throughput], "schema_version": self.schema_version}

    @classmethod
    def from_json(cls, data: Any, where: str = "report.json") -> RunRecord:
        """A record read back (report.json, or a worker's record with its `samples`), older schemas
        upgraded; a missing or mistyped key, or a schema this medcheck does not read, raises a
        RecordError naming `where`, the key and the fix."""
        f = Fields(upgrade(data, where), where, "")

        def rows(key: str, row: Any) -> list[Any]:
            return [row.from_json(x, where, f"{key}[{i}]") for i, x in enumerate(f.need(key, "list"))]

        def entries(key: str) -> dict[str, dict[str, Any]]:
            return {k: dict(Fields(v, where, f"{key}.{k}").data) for k, v in f.need(key, "map").items()}

        return cls(
            medcheck=f.need("medcheck", "text"), finished=f.need("finished", "text"),
            wall_seconds=f.need("wall_seconds", "number"), settings=dict(f.need("settings", "map")),
            runtime=dict(f.need("runtime", "map")), environment=dict(f.need("environment", "map")),
            pairs_file=f.need("pairs_file", "text"), pairs=list(f.need("pairs", "list")), models=entries("models"),
            datasets=entries("datasets"),
            tracks={k: TrackSection.from_json(v, where, f"tracks.{k}") for k, v in f.need("tracks", "map").items()},
            runs=rows("runs", RunRow), scores=rows("scores", ScoreRow), verdicts=rows("verdicts", VerdictRow),
            errors=dict(f.need("errors", "map")), notes=list(f.need("notes", "list")),
            throughput=rows("throughput", ThroughputRow),
            samples=[SampleRow.from_json(x, where, f"samples[{i}]")
                     for i, x in enumerate(f.maybe("samples", "list", []))],
            schema_version=f.need("schema_version", "count"))


def load_record(run: Path) -> RunRecord:
    """report.json of a run dir (or the file itself), typed; FileNotFoundError names the path, a
    RecordError the key and the fix."""
    path = Path(run) / "report.json" if Path(run).is_dir() else Path(run)
    if not path.is_file():
        raise FileNotFoundError(f"no report.json at {path}: pass a report dir written by a pytest run "
                                "(--medcheck-report-dir, default reports/)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RecordError(str(path), "", f"not JSON: {exc.msg} (line {exc.lineno})", REWRITE) from None
    return RunRecord.from_json(data, str(path))


def _notes(session: GateSession) -> list[str]:
    ev = session.evaluator
    notes = []
    if "sample" in {d.source for d in ev.loaded_datasets()}:
        notes.append("SAMPLE DATA: bundled sample sets written by the project (not the benchmarks) were used; "
                     "pass --medcheck-data-dir DIR for real results.")
    for run in ev.run_results():
        notes += run.kind.notes(run.pair_id, run.dataset_id, run.compression == DENSE, run.records, run.summary)
    notes += [f"SHOTS: {why}." for why in ev.shot_sources.values()]
    loaded = {d.track for d in ev.loaded_datasets()}
    for track in tracks.TRACKS.values():
        notes += track.notes(track.name in loaded, session.root / "thresholds")
    if getattr(ev.store, "set_aside", None):
        notes.append(f"RESULTS STORE: {ev.store.path} was unreadable and was moved to {ev.store.set_aside}; "
                     "its results were scored again.")
    if any(o.verdict.family > 1 for o in session.outcomes):
        from medcheck.family import NOTE

        notes.append(NOTE)
    undecided = [o for o in session.outcomes if o.verdict.outcome == "inconclusive"]
    if undecided:
        notes.append(inconclusive_note(len(undecided)))
    if session.unrecorded_snapshots:
        notes.append(snapshots_note(len(session.unrecorded_snapshots), session.snapshot_key))
    notes += [f"SNAPSHOT DRIFT: {drift}" for drift in getattr(session, "snapshot_drifts", [])]
    if ev.protocol == "letter":
        notes.append("protocol 'letter': small models tend to answer one letter (SmolLM2-135M says 'A' to ~98% "
                     "of MMLU health items); prefer --medcheck-protocol option-text for them.")
    return notes


def inconclusive_note(count: int) -> str:
    return (f"INCONCLUSIVE: {count} tests' intervals straddle their floors: too few items to tell "
            "damage from noise (items_to_decide in the JUnit properties); use more items to decide them.")


def snapshots_note(count: int, snapshot_key: str) -> str:
    return (f"SNAPSHOTS: {count} tests have no score snapshot for configuration {snapshot_key!r} and these "
            "models; their verdicts stand; record them with --snapshot-update.")


def _value(r: Any) -> float | None:
    from medcheck.results import UndefinedScoreError

    try:
        return round(r.value, 4)
    except UndefinedScoreError:
        return None


def verdict_row(o: Any) -> dict[str, Any]:
    """report.json's row of one verdict (an object with test_id, result and verdict)."""
    r, v = o.result, o.verdict
    row = {"test": o.test_id, "kind": r.kind, "track": r.track, "pair": r.pair_id, "subject": r.subject,
           "datasets": list(r.dataset_ids),
           "metric": r.metric, "value": _value(r), "n": r.n, "passed": v.passed, "outcome": v.outcome,
           "message": v.message, "floor": v.floor.value, "rule": v.floor.rule, "decision_rule": {"mode": "point"}}
    rule = v.decision.rule if v.decision is not None else v.rule
    if rule is not None:
        row["decision_rule"] = {"mode": rule.mode, "confidence": rule.confidence,
                                "inconclusive_fails": rule.inconclusive_fails}
    if v.decision is not None:
        row["stats"] = dict(v.decision.properties())
    if v.fidelity is not None:
        row["fidelity"] = dict(v.fidelity.properties())
    if v.family > 1:
        row["family"] = v.family   # tests of its track for its candidate (medcheck.family)
    looks = {k: p for k, p in r.properties() if k in LOOK_KEYS}
    if looks:
        row["looks"] = looks
    return row


LOOK_KEYS = ("looks", "look", "look_history", "stopped")   # a sequentially scored result's looks


def build_record(session: GateSession) -> RunRecord:
    ev = session.evaluator
    runs = ev.run_results()
    of = {d.id: d for d in ev.loaded_datasets()}
    return RunRecord.from_json({   # the rows as report.json holds them, typed by the same reader
        "schema_version": SCHEMA_VERSION,
        "medcheck": medcheck.__version__, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_seconds": round(time.time() - session.started, 1), "settings": session.settings.as_record(),
        "runtime": {"protocol": ev.protocol, "dtype": ev.dtype, "device": ev.device,
                    "backend": ev.engine.name, "backend_version": ev.engine.version(), **runtime(session.workers)},
        "environment": environment(), "pairs_file": str(session.pairs_file.path),
        "pairs": [p.id for p in session.pairs],
        "models": {name: {"spec": m.spec, "kind": m.kind, "path": m.path, "fingerprint": m.fingerprint}
                   for name, m in ev.resolved_models().items()},
        "datasets": {d.id: {"source": d.source, "path": d.path, "sha256": d.sha256, "n": d.n, "total": d.total,
                            "loader_version": d.loader_version, "track": d.track, "kind": d.kind,
                            "files": [asdict(f) for f in d.files],
                            "dimension": getattr(_info(d.id), "dimension", "")} for d in of.values()},
        "tracks": {t.name: track_section(t, session.results[t.name]) for t in tracks.TRACKS.values()},
        "runs": [run_row(r) for r in runs], "scores": [score_row(r) for r in ev.results],
        "verdicts": [verdict_row(o) for o in session.outcomes],
        "errors": dict(session.errors), "notes": _notes(session),
        "throughput": [{"pair": r.pair_id, "dataset": r.dataset_id, "items": len(r.records) - r.cached_items,
                        "seconds": round(r.seconds, 2), "items_per_s": round(r.items_per_s, 2)}
                       for r in runs if r.items_per_s],
        "samples": samples(runs, {d.id: {item.id: item for item in d.items} for d in of.values()})}, "run record")


def track_section(track: tracks.Track, results: list[Any]) -> dict[str, Any]:
    """`tracks.<name>`: the track's description, its section and, where it keeps them, its own rows."""
    return {**track.describe(), **track.section(results), **({ROWS: track.rows(results)} if track.keeps_rows else {})}


def samples(runs: list[Any], items: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """samples.jsonl: each record with the item it answered (question and options, or the reference),
    so a reviewer reads the evidence without the dataset; the task kinds' `records` drop these keys."""
    return [{"pair": r.pair_id, "dataset": r.dataset_id, **rec.as_dict(),
             **item_text(items.get(r.dataset_id, {}).get(rec.item_id))} for r in runs for rec in r.records]


def item_text(item: Any) -> dict[str, Any]:
    """What a person needs to judge an answer to `item` (a ChoiceItem or TextItem; None: not loaded)."""
    if item is None:
        return {}
    if hasattr(item, "options"):
        return {"question": item.question, "options": list(item.options), "labels": list(item.labels),
                **({"context": item.context} if item.context else {})}
    return {} if item.gold is None else {"reference": item.gold}


def run_row(r: Any) -> dict[str, Any]:
    """report.json's row of one RunResult (a model on a dataset)."""
    return {"pair": r.pair_id, "dataset": r.dataset_id, "fingerprint": r.fingerprint, "cache_key": r.cache_key,
            "cached_items": r.cached_items, "seconds": round(r.seconds, 3), "load": r.load,
            "backend": r.backend, **({"strategy": r.strategy} if r.strategy else {}), **r.summary.as_dict()}


def score_row(r: Any) -> dict[str, Any]:
    """report.json's row of one PairResult."""
    row = {"pair": r.pair.id, "dataset": r.dataset.id, "track": r.dataset.track, **r.scores(),
           "dense_score": round(r.dense.score, 4), "score": round(r.candidate.score, 4)}   # what CPS compares
    return {**row, **r.dense.kind.score_row(r)}


def _info(dataset_id: str) -> Any:
    from medcheck import datasets

    return datasets.info(dataset_id)
