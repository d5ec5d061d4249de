"""The report dir of a run: report.json, samples.jsonl, summary.txt and the rendered views.

Everything here reads the run record (medcheck.record.RunRecord) as report.json holds it, never the
live session, so `python -m medcheck report DIR` re-renders any saved run exactly as the run wrote it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medcheck.audit import write_atomic
from medcheck.record import RunRecord, environment

__all__ = ["environment", "summary_lines", "write", "write_views"]


def _num(value: Any, fmt: str) -> str:
    return "-" if value is None or value == "" else format(value, fmt)


def _rule(rule: Any) -> str:
    """A verdict row's rule label from its record (`Rule.label`), where no statistics carry it."""
    from medcheck.decision import Rule

    rule = rule or {}
    return Rule(**rule).label if "confidence" in rule else str(rule.get("mode", "point"))


def verdict_lines(record: RunRecord) -> list[str]:
    """One row per verdict: outcome, value and interval against the floor, paired statistics, MDE."""
    rows = [("outcome", "value [95% interval]", "floor", "rule", "p", "flip", "b/c", "MDE pts", "n", "test")]
    for v in record.verdicts:
        st = v.stats or {}   # the decision's own statistics (medcheck.decision): their keys are its
        interval = f" [{_num(st.get('ci_low'), '.3f')}, {_num(st.get('ci_high'), '.3f')}]" if st else ""
        mde = st.get("mde")
        outcome = (v.outcome or "fail").upper() if not v.passed else v.outcome or "pass"
        rows.append((outcome + (" on fidelity" if v.on_fidelity else ""),
                     f"{v.metric} {_num(v.value, '.3f')}{interval}", _num(v.floor, ".3f"),
                     st.get("decision_rule") or _rule(v.decision_rule), _num(st.get("p_value"), ".3g"),
                     _num(st.get("flip_rate"), ".2f"),
                     str(st.get("discordant", "-")),
                     "-" if mde is None else "none" if mde in ("inf", float("inf")) else f"{100 * float(mde):.1f}",
                     str(v.n), v.test.split("::")[-1]))
    if len(rows) == 1:
        return []
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    out = ["Verdicts: paired statistics (p: one-sided McNemar that nothing is lost; MDE: accuracy drop "
           "detected with 90% power at this n and flip rate; 'on fidelity': decided by fidelity to the dense "
           "model where the score's interval alone does not decide)"]
    for k, row in enumerate(rows):
        out.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if k == 0:
            out.append("-" * len(out[-1]))
    return out


def summary_lines(record: RunRecord) -> list[str]:
    """The terminal summary: the tables, breaches, inconclusive results, notes, throughput."""
    from medcheck.report.tables import run_line, status, tables, text_table

    found = tables(record)
    if not found:
        return []
    lines = [status(record)[1], run_line(record)]
    for table in found:
        lines += [""] + text_table(table)
    stats = verdict_lines(record)
    lines += [""] + stats if stats else []
    breaches = [v for v in record.verdicts if not v.passed]
    if breaches:
        lines += ["", f"threshold breaches ({len(breaches)}):"] + [f"  {v.test}: {v.message}" for v in breaches]
    undecided = [v for v in record.verdicts if v.passed and v.outcome == "inconclusive"]
    if undecided:
        lines += ["", f"inconclusive, not failing the run ({len(undecided)}):"]
        lines += [f"  {v.test}: {v.message}" for v in undecided]
    lines += [""] + list(record.notes)
    for row in record.throughput:
        lines.append(f"scored {row.pair} {row.dataset}: {row.items} items in {row.seconds} s "
                     f"({row.items_per_s} items/s)")
    return lines


def write(record: RunRecord, report_dir: Path) -> list[Path]:
    """Every file of the report dir, each written atomically; returns the paths written."""
    report_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record.as_dict(), indent=1, default=str)
    written = [report_dir / "report.json", report_dir / "samples.jsonl", report_dir / "summary.txt"]
    write_atomic(written[0], text)
    write_atomic(written[1], "".join(json.dumps(row.as_dict()) + "\n" for row in record.samples))
    saved = RunRecord.from_json(json.loads(text), str(written[0]))   # as `medcheck report` reads report.json
    write_atomic(written[2], "\n".join(summary_lines(saved)) + "\n")
    return written + write_views(saved, report_dir)


def write_views(record: RunRecord, report_dir: Path) -> list[Path]:
    """dashboard.html, report.md and the CSVs; a failure goes to render-error.txt, never up to pytest."""
    error = report_dir / "render-error.txt"
    error.unlink(missing_ok=True)
    try:
        from medcheck.report import html

        return html.write(record, report_dir)
    except Exception:
        import traceback

        for stale in ("dashboard.html", "report.md"):   # never leave an older run's views beside this report
            (report_dir / stale).unlink(missing_ok=True)
        write_atomic(error, "dashboard.html / report.md / CSVs could not be rendered (report.json is complete; "
                     "retry with `python -m medcheck report DIR`):\n\n" + traceback.format_exc())
        return [error]
