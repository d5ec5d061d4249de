"""Compare two runs' records (report.json): score, verdict, efficiency and CCS changes, A -> B.

B is worse when a verdict that passed in A fails in B. A verdict of A that B lacks (a narrower
`-k` run, or a test that errored) is reported but is not "worse": the errors section says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medcheck.record import RunRecord, load_record
from medcheck.record_rows import VerdictRow
from medcheck.report.tables import layout_rows


def _num(x: Any, fmt: str = "{:.3f}") -> str:
    return "-" if x is None else fmt.format(x)


def _change(name: str, a: Any, b: Any, fmt: str = "{:.3f}") -> str:
    if a is None or b is None:
        return f"{name} {_num(a, fmt)} -> {_num(b, fmt)}"
    if a == b:
        return f"{name} {_num(a, fmt)} (same)"
    return f"{name} {_num(a, fmt)} -> {_num(b, fmt)} ({b - a:+.3f})"


def _context(a: RunRecord, b: RunRecord) -> list[str]:
    """Differences that make the two runs not like for like."""
    out = []
    for key in ("protocol", "dtype", "device"):
        va, vb = a.runtime.get(key), b.runtime.get(key)
        if va != vb:
            out.append(f"  {key}: {va} -> {vb}")
    for key in ("limit", "data_dir"):
        va, vb = a.settings.get(key), b.settings.get(key)
        if va != vb:
            out.append(f"  {key}: {va} -> {vb}")
    da, db = a.datasets, b.datasets
    for d in sorted(da.keys() & db.keys()):
        if da[d].get("sha256") != db[d].get("sha256") or da[d].get("n") != db[d].get("n"):
            out.append(f"  dataset {d}: n {da[d].get('n')} -> {db[d].get('n')}, "
                       f"sha256 {str(da[d].get('sha256'))[:12]} -> {str(db[d].get('sha256'))[:12]}")
    ma, mb = a.models, b.models
    for m in sorted(ma.keys() & mb.keys()):
        if ma[m].get("fingerprint") != mb[m].get("fingerprint"):
            out.append(f"  model {m}: fingerprint {str(ma[m].get('fingerprint'))[:12]} -> "
                       f"{str(mb[m].get('fingerprint'))[:12]}")
    return ["runs differ in:"] + out if out else []


def _scores(a: RunRecord, b: RunRecord) -> list[str]:
    sa = {(s.pair, s.dataset): s for s in a.scores}
    sb = {(s.pair, s.dataset): s for s in b.scores}
    lines = []
    for key in list(sa) + [k for k in sb if k not in sa]:
        x: Any = sa.get(key)   # one of the two is present: the keys come from both
        y: Any = sb.get(key)
        where = f"  {key[0]} {key[1]}:"
        if y is None:
            lines.append(f"{where} only in A (accuracy {_num(x.score)}, CPS {_num(x.cps)})")
        elif x is None:
            lines.append(f"{where} only in B (accuracy {_num(y.score)}, CPS {_num(y.cps)})")
        else:
            lines.append(f"{where} {_change('accuracy', x.score, y.score)}, {_change('CPS', x.cps, y.cps)}")
    return ["scores (pair dataset):"] + lines if lines else []


def _verdicts(a: RunRecord, b: RunRecord) -> tuple[list[str], bool]:
    va = {v.test: v for v in a.verdicts}
    vb = {v.test: v for v in b.verdicts}
    lines, worse, same = [], False, 0
    def state(v: VerdictRow) -> str:
        """pass / FAIL, or the outcome when the run recorded one (inconclusive)."""
        return "FAIL" if not v.passed else v.outcome or "pass"

    for test in list(va) + [t for t in vb if t not in va]:
        x: Any = va.get(test)
        y: Any = vb.get(test)
        if y is None:
            lines.append(f"  MISSING in B: {test} (was {state(x)}, {_num(x.value)})")
        elif x is None:
            lines.append(f"  new in B: {test}: {state(y)}, {_num(y.value)}")
        elif x.passed != y.passed:
            got_worse = x.passed and not y.passed
            worse |= got_worse
            lines.append(f"  {'WORSE' if got_worse else 'better'}: {test}: {state(x)} -> "
                         f"{state(y)}, {_change('value', x.value, y.value)}; {y.message}")
        elif x.value != y.value or x.floor != y.floor or state(x) != state(y):
            floor = f", floor {x.floor} -> {y.floor}" if x.floor != y.floor else ""
            lines.append(f"  {test}: {state(y)}, {_change('value', x.value, y.value)}{floor}")
        else:
            same += 1
    if same:
        lines.append(f"  {same} verdict{'s' if same != 1 else ''} unchanged")
    return (["verdicts:"] + lines if lines else []), worse


def _efficiency(a: RunRecord, b: RunRecord) -> list[str]:
    # the rows of the tracks with the efficiency layout: each track's own measurements (medcheck.tracks.measured)
    ea = {e["pair"]: e for e in layout_rows(a, "efficiency")}
    eb = {e["pair"]: e for e in layout_rows(b, "efficiency")}
    lines = []
    for pair in list(ea) + [p for p in eb if p not in ea]:
        x: Any = ea.get(pair)
        y: Any = eb.get(pair)
        if x is None or y is None:
            lines.append(f"  {pair}: only in {'A' if y is None else 'B'} (CES {_num((x or y).get('ces'))})")
            continue
        ra, rb = x.get("ratios") or {}, y.get("ratios") or {}
        dims = [_change(d, ra.get(d), rb.get(d)) for d in list(ra) + [d for d in rb if d not in ra]]
        lines.append(f"  {pair}: {_change('CES', x.get('ces'), y.get('ces'))}; ratios " + ", ".join(dims))
    return ["efficiency (oriented ratios, > 1 = more efficient):"] + lines if lines else []


def _cross(a: RunRecord, b: RunRecord) -> list[str]:
    ca = {c["model"]: c for c in layout_rows(a, "cross")}
    cb = {c["model"]: c for c in layout_rows(b, "cross")}

    def ccs(rows: Mapping[str, Mapping[str, Any]], model: str) -> Any:
        return rows[model].get("ccs") if model in rows else None

    lines = [f"  {m}: {_change('CCS', ccs(ca, m), ccs(cb, m))}" for m in list(ca) + [m for m in cb if m not in ca]]
    return ["cross-combination:"] + lines if lines else []


def _errors(a: RunRecord, b: RunRecord) -> list[str]:
    ea, eb = a.errors, b.errors
    lines = [f"  new in B: {k}: {str(v).splitlines()[0] if str(v) else ''}" for k, v in eb.items() if k not in ea]
    lines += [f"  gone in B: {k}" for k in ea if k not in eb]
    return ["errors:"] + lines if lines else []


def compare(run_a: Path, run_b: Path) -> tuple[list[str], bool]:
    """(lines, worse): worse is True when any verdict went from pass to fail."""
    a, b = load_record(Path(run_a)), load_record(Path(run_b))
    lines = [f"A: {run_a} (finished {a.finished})", f"B: {run_b} (finished {b.finished})"]
    lines += _context(a, b) + _scores(a, b)
    verdict_lines, worse = _verdicts(a, b)
    lines += verdict_lines + _efficiency(a, b) + _cross(a, b) + _errors(a, b)
    lines.append("B is WORSE than A: a verdict went from pass to fail" if worse
                 else "no verdict went from pass to fail")
    return lines, worse
