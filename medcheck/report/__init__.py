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
        chance = 1 / len(run.records[0].scores)
        if run.compression == "dense" and s.ci95[0] <= chance <= s.ci95[1]:
            notes.append(f"NEAR CHANCE: {run.pair_id} scores {s.accuracy:.1%} on {run.dataset_id} (n={s.n}, 95% CI "
                         f"{s.ci95[0]:.1%}-{s.ci95[1]:.1%} holds chance {chance:.0%}): CPS there is mostly noise.")
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


def _efficiency_lines(session: "GateSession") -> list[str]:
    rows = session.efficiency_results
    if not rows:
        return []
    out = [f"efficiency track ({rows[0].candidate.memory_kind}); cells: value (ratio, > 1 = better)",
           f"{'pair':<26}{'memory MB':>18}{'bits/w':>16}{'TTFT s':>18}{'ACT s':>18}{'tok/s':>18}{'CES':>8}"]
    for r in rows:
        c = r.candidate
        cells = [(c.memory_bytes / 2**20, "memory_bytes", ".0f"), (c.bits_per_weight, "bits_per_weight", ".2f"),
                 (c.ttft_s, "ttft_s", ".3f"), (c.act_s, "act_s", ".2f"), (c.tps, "tps", ".1f")]
        widths = (18, 16, 18, 18, 18)
        out.append(f"{r.pair.id:<26}" + "".join(f"{f'{v:{fmt}} ({r.ratios[k]:.2f})':>{w}}"
                                                for (v, k, fmt), w in zip(cells, widths)) + f"{r.ces:>8.3f}")
        spread = ", ".join(f"{k} {lo:.3g}-{hi:.3g}" for k, (lo, hi) in c.spread.items() if k in ("ttft_s", "act_s", "tps"))
        out.append(f"{'':<26}spread over {c.n_runs} runs: {spread}")
    return out


def _cross_lines(session: "GateSession") -> list[str]:
    rows = session.cross_results
    if not rows:
        return []
    settings = list(dict.fromkeys(s for r in rows for s in r.accuracies))
    out = [f"cross-combination (mean accuracy over {len(rows[0].datasets)} datasets; dense counted as a setting)",
           f"{'model':<20}" + "".join(f"{s[:12]:>13}" for s in settings) + f"{'CCS':>8}"]
    for r in rows:
        out.append(f"{r.model:<20}" + "".join(f"{r.accuracies[s]:>13.3f}" if s in r.accuracies else f"{'-':>13}"
                                              for s in settings) + f"{r.ccs:>8.3f}")
    return out


def summary_lines(session: "GateSession") -> list[str]:
    """Rows are pairs (dense first), columns datasets: accuracy (CPS), then track CPS and verdict."""
    ev = session.evaluator
    results = ev.results
    lines = _efficiency_lines(session) + _cross_lines(session)
    if not results:
        return lines + _notes(session) if lines else []
    from medcheck.datasets import dataset_ids

    present = {r.dataset.id for r in results}
    ids = [d for d in dataset_ids() if d in present]
    short = {d: d.removeprefix("mmlu_")[:12] for d in ids}
    track = {o.pair_id: o for o in session.outcomes if o.kind == "track"}
    failed = {o.pair_id for o in session.outcomes if not o.verdict.passed}
    lines += [f"knowledge track: protocol={ev.protocol} dtype={ev.dtype} device={ev.device} "
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
        "efficiency": [r.as_dict() for r in session.efficiency_results],
        "cross": [r.as_dict() for r in session.cross_results],
        "errors": session.errors,
        "notes": _notes(session),
        "throughput": throughput(session),
    }


def write(session: "GateSession", report_dir: Path) -> Path:
    report_dir.mkdir(parents=True, exist_ok=True)
    tmp = report_dir / "report.json.tmp"
    text = json.dumps(payload(session), indent=1, default=str)
    tmp.write_text(text)
    os.replace(tmp, report_dir / "report.json")
    with (report_dir / "samples.jsonl.tmp").open("w") as out:
        for run in session.evaluator.run_results():
            for rec in run.records:
                out.write(json.dumps({"pair": run.pair_id, "dataset": run.dataset_id, **rec.as_dict()}) + "\n")
    os.replace(report_dir / "samples.jsonl.tmp", report_dir / "samples.jsonl")
    (report_dir / "summary.txt").write_text("\n".join(summary_lines(session)) + "\n")
    write_views(json.loads(text), report_dir)   # exactly what report.json holds, as `medcheck report` reads it
    return report_dir


def write_views(data: dict[str, Any], report_dir: Path) -> None:
    """dashboard.html, report.md and the CSVs; a failure goes to render-error.txt, never up to pytest."""
    error = report_dir / "render-error.txt"
    error.unlink(missing_ok=True)
    try:
        from medcheck.report import html

        html.write(data, report_dir)
    except Exception:
        import traceback

        for stale in ("dashboard.html", "report.md"):   # never leave an older run's views beside this report
            (report_dir / stale).unlink(missing_ok=True)
        error.write_text("dashboard.html / report.md / CSVs could not be rendered (report.json is complete; "
                         "retry with `python -m medcheck report DIR`):\n\n" + traceback.format_exc())
