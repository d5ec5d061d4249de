"""Run records: report.json, samples.jsonl, and the CMedBench-style summary table."""

from __future__ import annotations

import json
import os
import platform
import time
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import medcheck

if TYPE_CHECKING:
    from medcheck.gate import GateSession


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


def _notes(session: "GateSession") -> list[str]:
    ev = session.evaluator
    notes = []
    sources = {d.source for d in ev.loaded_datasets()}
    if "sample" in sources:
        notes.append("SAMPLE DATA: bundled sample sets written by the project (not the benchmarks) were used; "
                     "pass --medcheck-data-dir DIR for real results.")
    for run in ev.run_results():
        s = run.summary
        if s.degenerate:
            notes.append(f"DEGENERATE: {run.pair_id} answers {s.top_answer!r} to {s.top_share:.0%} of "
                         f"{run.dataset_id} items (gold {s.gold_share:.0%}): its accuracy says little.")
    if session.unrecorded_snapshots:
        notes.append(f"SNAPSHOTS: {len(session.unrecorded_snapshots)} tests have no score snapshot for "
                     f"configuration {session.snapshot_key!r}; record them with --snapshot-update.")
    if ev.protocol == "letter":
        notes.append("protocol 'letter': small models tend to answer one letter (SmolLM2-135M says 'A' to ~98% "
                     "of MMLU health items); prefer --medcheck-protocol option-text for them.")
    return notes


def throughput(session: "GateSession") -> list[dict[str, Any]]:
    rows = []
    for run in session.evaluator.run_results():
        if run.items_per_s:
            rows.append({"pair": run.pair_id, "dataset": run.dataset_id,
                         "items": len(run.records) - run.cached_items, "seconds": round(run.seconds, 2),
                         "items_per_s": round(run.items_per_s, 2)})
    return rows


def _cell(result: Any) -> str:
    if result is None:
        return f"{'-':>15}"
    cps = result.cps_or_none
    return f"{result.candidate.summary.accuracy:>7.3f} ({'undef' if cps is None else f'{cps:.3f}'})"


def summary_lines(session: "GateSession") -> list[str]:
    """Rows are pairs (dense first), columns datasets: accuracy (CPS), then track CPS and verdict."""
    ev = session.evaluator
    results = ev.results
    if not results:
        return []
    from medcheck.datasets import dataset_ids

    present = {r.dataset.id for r in results}
    ids = [d for d in dataset_ids() if d in present]
    short = {d: d.removeprefix("mmlu_")[:12] for d in ids}
    track = {o.pair_id: o for o in session.outcomes if o.kind == "track"}
    failed = {o.pair_id for o in session.outcomes if not o.verdict.passed}
    lines = [f"protocol={ev.protocol} dtype={ev.dtype} device={ev.device} "
             f"data={'real' if session.settings.data_dir else 'sample'} cells: accuracy (CPS)"]
    header = f"{'pair':<26}" + "".join(f"{short[d]:>15}" for d in ids) + f"{'track CPS':>11}  verdict"
    lines += [header, "-" * len(header)]
    models = list(dict.fromkeys(r.pair.model for r in results))
    for model in models:
        dense = {r.dataset.id: r.dense.summary.accuracy for r in results if r.pair.model == model}
        lines.append(f"{model + '/dense':<26}" + "".join(
            f"{dense[d]:>15.3f}" if d in dense else f"{'-':>15}" for d in ids) + f"{'1.000':>11}  reference")
        for pair in dict.fromkeys(r.pair for r in results if r.pair.model == model):
            cells = {r.dataset.id: r for r in results if r.pair == pair}
            row = f"{pair.id:<26}" + "".join(_cell(cells.get(d)) for d in ids)
            if any(r.candidate.load.get("fallback") for r in cells.values()):
                row = row.replace(pair.id, pair.id + "*", 1)
            t = track.get(pair.id)
            row += f"{t.value:>11.3f}" if t else f"{'-':>11}"
            row += "  FAIL" if pair.id in failed else "  pass"
            lines.append(row)
    if any(r.candidate.load.get("fallback") for r in results):
        lines.append("* loaded by a fallback strategy: see load_attempts in report.json / the JUnit properties")
    breaches = [o for o in session.outcomes if not o.verdict.passed]
    if breaches:
        lines.append(f"threshold breaches ({len(breaches)}):")
        lines += [f"  {o.test_id}: {o.verdict.message}" for o in breaches]
    lines += _notes(session)
    for row in throughput(session):
        lines.append(f"scored {row['pair']} {row['dataset']}: {row['items']} items in {row['seconds']} s "
                     f"({row['items_per_s']} items/s)")
    return lines


def payload(session: "GateSession") -> dict[str, Any]:
    ev = session.evaluator
    return {
        "medcheck": medcheck.__version__,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_seconds": round(time.time() - session.started, 1),
        "settings": session.settings.as_record(),
        "runtime": {"protocol": ev.protocol, "dtype": ev.dtype, "device": ev.device},
        "environment": environment(),
        "pairs_file": session.pairs_file.path,
        "pairs": [p.id for p in session.pairs],
        "models": {name: {"spec": m.spec, "kind": m.kind, "path": m.path, "fingerprint": m.fingerprint}
                   for name, m in ev.resolved_models().items()},
        "datasets": {d.id: {"source": d.source, "path": d.path, "sha256": d.sha256, "n": d.n, "total": d.total,
                            "loader_version": d.loader_version} for d in ev.loaded_datasets()},
        "runs": [{"pair": r.pair_id, "dataset": r.dataset_id, "fingerprint": r.fingerprint,
                  "cache_key": r.cache_key, "cached_items": r.cached_items, "seconds": round(r.seconds, 3),
                  "load": r.load, "backend": r.backend, **r.summary.as_dict()} for r in ev.run_results()],
        "scores": [{"pair": r.pair.id, "dataset": r.dataset.id, **r.scores(),
                    "acc_norm": round(r.candidate.summary.acc_norm, 4),
                    "dense_acc_norm": round(r.dense.summary.acc_norm, 4)} for r in ev.results],
        "verdicts": [{"test": o.test_id, "kind": o.kind, "pair": o.pair_id, "subject": o.subject,
                      "value": round(o.value, 4), "passed": o.verdict.passed, "message": o.verdict.message,
                      "floor": o.verdict.floor.value, "rule": o.verdict.floor.rule} for o in session.outcomes],
        "errors": session.errors,
        "notes": _notes(session),
        "throughput": throughput(session),
    }


def write(session: "GateSession", report_dir: Path) -> Path:
    report_dir.mkdir(parents=True, exist_ok=True)
    tmp = report_dir / "report.json.tmp"
    tmp.write_text(json.dumps(payload(session), indent=1, default=str))
    os.replace(tmp, report_dir / "report.json")
    with (report_dir / "samples.jsonl.tmp").open("w") as out:
        for run in session.evaluator.run_results():
            for rec in run.records:
                out.write(json.dumps({"pair": run.pair_id, "dataset": run.dataset_id, **rec.as_dict()}) + "\n")
    os.replace(report_dir / "samples.jsonl.tmp", report_dir / "samples.jsonl")
    (report_dir / "summary.txt").write_text("\n".join(summary_lines(session)) + "\n")
    return report_dir
