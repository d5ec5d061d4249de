"""One typed, versioned record of a run: what report.json holds and what every view reads.

The gate builds it once at the end of the run; the report, `compare` and the summary table read
only the record (or its JSON), never the live session. SCHEMA_VERSION changes whenever a field's
meaning changes, so readers can refuse what they do not understand.
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import medcheck
from medcheck import tracks
from medcheck.compression import DENSE
from medcheck.parallel import runtime

if TYPE_CHECKING:
    from medcheck.gate import GateSession

SCHEMA_VERSION = 3   # 3: verdict rows name their track; track sections come from the tracks


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
    tracks: dict[str, dict[str, Any]]           # track -> {title, score, dimensions, per-pair dimension CPS}
    runs: list[dict[str, Any]]
    scores: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    efficiency: list[dict[str, Any]]
    cross: list[dict[str, Any]]
    errors: dict[str, str]
    notes: list[str]
    throughput: list[dict[str, Any]]
    samples: list[dict[str, Any]] = field(default_factory=list, repr=False)   # samples.jsonl, not report.json
    schema_version: int = SCHEMA_VERSION

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("samples")
        return out


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
    if v.decision is not None:
        d = v.decision
        row.update({"decision_rule": {"mode": d.rule.mode, "confidence": d.rule.confidence,
                                      "inconclusive_fails": d.rule.inconclusive_fails},
                    "stats": dict(d.properties())})
    if v.fidelity is not None:
        row["fidelity"] = dict(v.fidelity.properties())
    looks = {k: p for k, p in r.properties() if k in LOOK_KEYS}
    if looks:
        row["looks"] = looks
    return row


LOOK_KEYS = ("looks", "look", "look_history", "stopped")   # a sequentially scored result's looks


def build_record(session: GateSession) -> RunRecord:
    ev = session.evaluator
    runs = ev.run_results()
    track_table = {t.name: {**t.describe(), **t.section(session.results[t.name])} for t in tracks.TRACKS.values()}
    rows: dict[str, Any] = {t.rows_field: t.rows(session.results[t.name]) for t in tracks.TRACKS.values()
                            if t.rows_field}
    of = {d.id: d for d in ev.loaded_datasets()}
    return RunRecord(
        medcheck=medcheck.__version__, finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        wall_seconds=round(time.time() - session.started, 1), settings=session.settings.as_record(),
        runtime={"protocol": ev.protocol, "dtype": ev.dtype, "device": ev.device,
                 "backend": ev.engine.name, "backend_version": ev.engine.version(), **runtime(session.workers)},
        environment=environment(), pairs_file=str(session.pairs_file.path), pairs=[p.id for p in session.pairs],
        models={name: {"spec": m.spec, "kind": m.kind, "path": m.path, "fingerprint": m.fingerprint}
                for name, m in ev.resolved_models().items()},
        datasets={d.id: {"source": d.source, "path": d.path, "sha256": d.sha256, "n": d.n, "total": d.total,
                         "loader_version": d.loader_version, "track": d.track, "kind": d.kind,
                         "files": [asdict(f) for f in d.files],
                         "dimension": getattr(_info(d.id), "dimension", "")} for d in of.values()},
        tracks=track_table,
        runs=[run_row(r) for r in runs], scores=[score_row(r) for r in ev.results],
        verdicts=[verdict_row(o) for o in session.outcomes],
        **rows,
        errors=dict(session.errors), notes=_notes(session),
        throughput=[{"pair": r.pair_id, "dataset": r.dataset_id, "items": len(r.records) - r.cached_items,
                     "seconds": round(r.seconds, 2), "items_per_s": round(r.items_per_s, 2)}
                    for r in runs if r.items_per_s],
        samples=samples(runs, {d.id: {item.id: item for item in d.items} for d in of.values()}))


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
