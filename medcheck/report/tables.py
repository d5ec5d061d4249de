"""CMedBench-style tables from a report.json payload, as Markdown and CSV.

* knowledge: rows model / method (dense first), columns datasets: accuracy (CPS), track CPS, verdict;
* cross-combination: rows models, columns compression settings (dense included): accuracy, then CCS;
* efficiency: rows pairs, columns memory, bits/weight, TTFT, ACT, TPS: value (oriented ratio), CES.

Only the payload dict is read, so `python -m medcheck report DIR` re-renders any saved run. Keys
added after a run was recorded (efficiency, cross) are optional: a table with no data is left out.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medcheck import metrics
from medcheck.audit import write_atomic

DENSE = "dense"
MB = 2**20  # as the load telemetry's rss_mb / peak_mb
# efficiency dimensions: payload key, title, CSV key, scale, format, higher is better
DIMENSIONS = (("memory_bytes", "memory (MB)", "memory_mb", MB, "{:.1f}", False),
              ("bits_per_weight", "bits/weight", "bits_per_weight", 1, "{:.2f}", False),
              ("ttft_s", "TTFT (s)", "ttft_s", 1, "{:.3f}", False),
              ("act_s", "ACT (s)", "act_s", 1, "{:.3f}", False),
              ("tps", "TPS", "tps", 1, "{:.1f}", True))
CSV_NAMES = ("knowledge", "application", "bionlp", "trust", "cross", "efficiency")   # stale copies of these are removed


def choice_tracks(payload: dict[str, Any]) -> list[str]:
    """Tracks scored item by item, one table each (records before schema 2: knowledge only)."""
    declared = [name for name, t in (payload.get("tracks") or {}).items() if t.get("kind") == "choice"]
    return declared or ["knowledge"]

# A cell is None, a str, a number, or (value, parenthesised value or None, marks).
Cell = Any


@dataclass(frozen=True)
class Column:
    title: str                  # Markdown / HTML header
    key: str                    # CSV header
    fmt: str = "{:.3f}"
    second: str | None = None   # CSV header of the parenthesised value (CPS, ratio)
    second_fmt: str = " ({:.3f})"


@dataclass(frozen=True)
class Table:
    name: str                   # CSV file stem
    title: str
    columns: list[Column]
    rows: list[list[Cell]]
    notes: list[str] = field(default_factory=list)
    bad: set[tuple[int, int]] = field(default_factory=set)   # (row, column) of cells whose verdict failed

    def text(self, i: int, j: int) -> str:
        col, cell = self.columns[j], self.rows[i][j]
        if cell is None:
            return "-"
        if isinstance(cell, tuple):
            value, second, marks = cell
            out = "-" if value is None else col.fmt.format(value)
            return out + ("" if second is None else col.second_fmt.format(second)) + marks
        return cell if isinstance(cell, str) else col.fmt.format(cell)

    def csv_rows(self) -> list[list[Any]]:
        header = [k for c in self.columns for k in ([c.key, c.second] if c.second else [c.key])]
        out = [header]
        for row in self.rows:
            line: list[Any] = []
            for col, cell in zip(self.columns, row):
                value, second = cell[:2] if isinstance(cell, tuple) else (cell, None)
                line.append("" if value is None else round(value, 6) if isinstance(value, float) else value)
                if col.second:
                    line.append("" if second is None else round(second, 6))
            out.append(line)
        return out


# -- payload helpers (shared with the dashboard) ---------------------------------------------
def pair_parts(pair_id: str) -> tuple[str, str]:
    model, _, compression = pair_id.rpartition("/")
    return (model, compression) if model else (pair_id, "")


def track_of(payload: dict[str, Any], score: dict[str, Any]) -> str:
    """A score's track (records before schema 2 had only the knowledge track)."""
    return score.get("track") or "knowledge"


def datasets_of(payload: dict[str, Any], track: str | None = None) -> list[str]:
    """Scored datasets (of one track, if given), in the payload's dataset order."""
    scored = dict.fromkeys(s["dataset"] for s in payload.get("scores") or []
                           if track is None or track_of(payload, s) == track)
    order = [d for d in payload.get("datasets") or {} if d in scored]
    return order + [d for d in scored if d not in order]


def pairs_of(payload: dict[str, Any]) -> list[str]:
    """Compressed pairs with scores, in the pairs file's order."""
    scored = dict.fromkeys(s["pair"] for s in payload.get("scores") or [])
    listed = [p for p in payload.get("pairs") or [] if p in scored]
    return listed + [p for p in scored if p not in listed]


def accuracies(payload: dict[str, Any]) -> dict[str, dict[str, float]]:
    """pair id (dense as 'model/dense') -> dataset -> accuracy (a generative task's primary metric)."""
    out: dict[str, dict[str, float]] = {}
    for s in payload.get("scores") or []:
        dense, cand = s.get("dense_score", s.get("dense_accuracy")), s.get("score", s.get("accuracy"))
        out.setdefault(f"{pair_parts(s['pair'])[0]}/{DENSE}", {})[s["dataset"]] = dense
        out.setdefault(s["pair"], {})[s["dataset"]] = cand
    return out


def verdicts(payload: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [v for v in payload.get("verdicts") or [] if v.get("kind") == kind]


def track_cps(payload: dict[str, Any], track: str = "knowledge") -> tuple[list[str], dict[tuple[str, str], float], bool]:
    """(track names, {(pair, track): CPS}, computed): from track verdicts, else metrics.cps over the scores."""
    found = [v for v in verdicts(payload, "track") if v["subject"] == track]
    if found:
        names = list(dict.fromkeys(v["subject"] for v in found))
        return names, {(v["pair"], v["subject"]): v["value"] for v in found}, False
    acc, values = accuracies(payload), {}
    mine = set(datasets_of(payload, track))
    for pair in pairs_of(payload):
        dense = acc[f"{pair_parts(pair)[0]}/{DENSE}"]
        keys = [d for d in acc[pair] if dense.get(d, 0) > 0 and d in mine]
        if keys:
            values[(pair, "track")] = metrics.cps({d: dense[d] for d in keys}, {d: acc[pair][d] for d in keys})
    return ["track"], values, True


def status(payload: dict[str, Any]) -> tuple[bool | None, str]:
    """(passed, one line): None when the run recorded no verdict and no error."""
    vs = payload.get("verdicts") or []
    failed = [v for v in vs if not v.get("passed")]
    breached = {v["test"] for v in failed}   # a breach also fails its test: not an error besides
    errors = {k: m for k, m in (payload.get("errors") or {}).items() if k not in breached}
    if failed or errors:
        parts = [f"{len(failed)} threshold breach{'es' if len(failed) != 1 else ''}"] if failed else []
        parts += [f"{len(errors)} error{'s' if len(errors) != 1 else ''}"] if errors else []
        return False, "GATE FAILED: " + ", ".join(parts)
    if not vs:
        return None, "NO VERDICTS: this run recorded no threshold check"
    return True, f"GATE PASSED: {len(vs)} threshold checks, no breach"


def _error_pairs(payload: dict[str, Any]) -> set[str]:
    """Pairs named in an errored test id (the longest matching pair id wins)."""
    pairs = [p for p in payload.get("pairs") or []]
    out = set()
    for nodeid in payload.get("errors") or {}:
        hits = [p for p in pairs if f"[{p}" in nodeid]
        if hits:
            out.add(max(hits, key=len))
    return out


def _verdict(vs: list[dict[str, Any]], errored: bool) -> str:
    failed = [v["subject"] for v in vs if not v.get("passed")]
    if failed:
        return "FAIL: " + ", ".join(dict.fromkeys(_short(f) for f in failed))
    undecided = [v["subject"] for v in vs if v.get("outcome") == "inconclusive"]
    if undecided:
        return "inconclusive: " + ", ".join(dict.fromkeys(_short(f) for f in undecided))
    return "ERROR" if errored else "pass" if vs else "-"


def _short(dataset: str) -> str:
    return dataset.removeprefix("mmlu_")


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k, *_ in DIMENSIONS)


# -- the tables --------------------------------------------------------------------------------
def knowledge(payload: dict[str, Any]) -> Table | None:
    return choice_table(payload, "knowledge")


def application(payload: dict[str, Any]) -> Table | None:
    return choice_table(payload, "application")


def choice_table(payload: dict[str, Any], track: str) -> Table | None:
    """Rows model / method, columns the track's datasets: accuracy (CPS), CPS per dimension, track CPS."""
    ids = datasets_of(payload, track)
    if not ids:
        return None
    acc = accuracies(payload)
    cps = {(s["pair"], s["dataset"]): s.get("cps") for s in payload.get("scores") or []}
    runs = {(r["pair"], r["dataset"]): r for r in payload.get("runs") or []}
    tracks, track_values, computed = track_cps(payload, track)
    info = (payload.get("tracks") or {}).get(track) or {}
    dims = [d for d, members in (info.get("dimensions") or {}).items() if set(members) & set(ids)]
    dim_cps = info.get("dimension_cps") or {}
    checks = [v for v in payload.get("verdicts") or [] if v.get("kind") in ("dataset", "track")
              and (v["subject"] in ids or v["subject"] == track)]
    errored = _error_pairs(payload)
    columns = [Column("model", "model", "{}"), Column("method", "method", "{}")]
    columns += [Column(_short(d), d, second=f"{d}_cps") for d in ids]
    columns += [Column(f"{dim} CPS", f"{dim}_cps") for dim in dims]
    columns += [Column(f"{t} CPS" + (" (computed)" if computed else ""), f"{t}_cps") for t in tracks]
    columns.append(Column("verdict", "verdict", "{}"))
    rows: list[list[Cell]] = []
    bad: set[tuple[int, int]] = set()
    marks = {"!": False, "*": False}

    def mark(pair: str, dataset: str) -> str:
        run = runs.get((pair, dataset)) or {}
        m = "!" if run.get("degenerate") else ""
        marks["!"] |= bool(m)
        return m

    pairs = pairs_of(payload)
    for model in dict.fromkeys(pair_parts(p)[0] for p in pairs):
        dense_id = f"{model}/{DENSE}"
        rows.append([model, DENSE, *[(acc[dense_id].get(d), None, mark(dense_id, d)) if d in acc[dense_id]
                                     else None for d in ids], *[1.0] * (len(dims) + len(tracks)), "reference"])
        for pair in [p for p in pairs if pair_parts(p)[0] == model]:
            method = pair_parts(pair)[1]
            if any((runs.get((pair, d)) or {}).get("load", {}).get("fallback") for d in ids):
                method, marks["*"] = method + "*", True
            mine = [v for v in checks if v["pair"] == pair]
            failed = {v["subject"] for v in mine if not v.get("passed")}
            row = [model, method]
            row += [(acc[pair][d], cps.get((pair, d)), mark(pair, d)) if d in acc[pair] else None for d in ids]
            row += [(dim_cps.get(pair) or {}).get(dim) for dim in dims]
            row += [track_values.get((pair, t)) for t in tracks]
            row.append(_verdict(mine, pair in errored))
            bad |= {(len(rows), j) for j, key in enumerate(ids + dims + tracks, start=2) if key in failed}
            rows.append(row)
    generated = any((payload.get("datasets") or {}).get(d, {}).get("kind") == "generate" for d in ids)
    what = "primary metric" if generated else "accuracy"
    notes = [f"cells: {what} (CPS); CPS = log2(1 + {what} / dense {what}), 1.000 = parity"]
    if generated:
        notes.append("primary metric: entity F1 (NER), micro F1 over positive classes (RE), macro F1 (MLC), "
                     "accuracy (QA); unparsed outputs count as wrong (see the unparsed properties)")
    if computed:
        notes.append("track CPS (computed): no track test ran; mean CPS over the datasets shown (dense accuracy > 0)")
    if any(s.get("cps") is None for s in payload.get("scores") or []):
        notes.append("CPS undefined where the dense accuracy is 0")
    if marks["!"]:
        notes.append("! degenerate: one answer to almost every item; that accuracy says little")
    if marks["*"]:
        notes.append("* loaded by a fallback strategy (see the load telemetry)")
    if dims:
        notes.append(f"{', '.join(dims)} CPS: over the datasets of each CMedBench dimension, as in its Tables 1-2")
    title = info.get("title") or f"{track.capitalize()} track"
    return Table(track, f"{title}: {what} (CPS) per dataset", columns, rows, notes, bad)


def cross(payload: dict[str, Any]) -> Table | None:
    entries = payload.get("cross") or []
    if not entries:
        return None
    settings = [DENSE] + list(dict.fromkeys(s for e in entries for s in e.get("accuracies", {}) if s != DENSE))
    columns = [Column("model", "model", "{}")] + [Column(s, s) for s in settings] + [Column("CCS", "ccs")]
    rows = [[e["model"], *[e.get("accuracies", {}).get(s) for s in settings], e.get("ccs")] for e in entries]
    failing = {v["pair"] for v in verdicts(payload, "cross") if not v.get("passed")}
    bad = {(i, len(columns) - 1) for i, e in enumerate(entries) if e["model"] in failing}
    sets = {", ".join(e.get("datasets", [])) for e in entries}
    notes = [f"cells: mean accuracy over {sets.pop()}" if len(sets) == 1 else "cells: mean accuracy over each "
             "model's cross datasets (see report.json)",
             "CCS = mean over settings (dense included) of log2(1 + accuracy / dense accuracy); 1.000 = parity"]
    notes += [f"FAIL {v['pair']}: {v['message']}" for v in verdicts(payload, "cross") if not v.get("passed")]
    return Table("cross", "Cross-combination: accuracy per compression setting, CCS", columns, rows, notes, bad)


def efficiency(payload: dict[str, Any]) -> Table | None:
    entries = payload.get("efficiency") or []
    if not entries:
        return None
    columns = [Column("model", "model", "{}"), Column("method", "method", "{}")]
    columns += [Column(title, key, fmt, f"{key}_ratio", " ({:.2f}x)") for _, title, key, _, fmt, _ in DIMENSIONS]
    columns += [Column("CES", "ces"), Column("verdict", "verdict", "{}")]
    rows: list[list[Cell]] = []
    bad: set[tuple[int, int]] = set()
    shown: dict[str, dict[str, Any]] = {}
    checks = verdicts(payload, "efficiency")
    for e in entries:
        model = e.get("model") or pair_parts(e["pair"])[0]
        dense, cand, ratios = e.get("dense") or {}, e.get("candidate") or {}, e.get("ratios") or {}
        if model not in shown or not _same(shown[model], dense):
            shown[model] = dense
            rows.append([model, DENSE, *[None if dense.get(k) is None else dense[k] / scale
                                         for k, _, _, scale, _, _ in DIMENSIONS], None, "reference"])
        mine = [v for v in checks if v["pair"] == e["pair"]]
        if any(not v.get("passed") for v in mine):
            bad.add((len(rows), len(columns) - 2))
        rows.append([model, e.get("compression") or pair_parts(e["pair"])[1],
                     *[(None if cand.get(k) is None else cand[k] / scale, ratios.get(k), "")
                       for k, _, _, scale, _, _ in DIMENSIONS], e.get("ces"), _verdict(mine, False)])
    kinds = dict.fromkeys(f"{e.get('memory_kind', 'not stated')} [{e.get('device', '?')}]" for e in entries)
    notes = ["(r x) = ratio oriented so that > 1 means the compressed model is more efficient than its dense "
             "model, both measured in the same run; CES = mean of the ratios",
             "memory measured: " + "; ".join(kinds), "timings are medians over repeats (spread in report.json)"]
    notes += [f"FAIL {v['pair']}: {v['message']}" for v in checks if not v.get("passed")]
    return Table("efficiency", "Efficiency: value (oriented ratio) per dimension, CES", columns, rows, notes, bad)


def tables(payload: dict[str, Any]) -> list[Table]:
    from medcheck.report.trust import trust  # it builds on this module's helpers

    found = [choice_table(payload, t) for t in choice_tracks(payload)]
    found += [trust(payload), efficiency(payload), cross(payload)]
    return [t for t in found if t is not None]


def text_table(table: Table) -> list[str]:
    """A fixed-width rendering for the terminal and summary.txt (failed cells marked with !!)."""
    cells = [[c.title for c in table.columns]]
    cells += [[table.text(i, j) + (" !!" if (i, j) in table.bad else "") for j in range(len(table.columns))]
              for i in range(len(table.rows))]
    widths = [max(len(row[j]) for row in cells) for j in range(len(table.columns))]
    lines = [table.title]
    for k, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if table.columns[j].fmt == "{}" else c.rjust(w)
                               for j, (c, w) in enumerate(zip(row, widths))).rstrip())
        if k == 0:
            lines.append("-" * len(lines[-1]))
    return lines + [f"  {n}" for n in table.notes]


# -- output ------------------------------------------------------------------------------------
def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def markdown_table(table: Table) -> list[str]:
    lines = [_md_row([c.title for c in table.columns]),
             "|" + "|".join("---" if c.fmt == "{}" else "---:" for c in table.columns) + "|"]
    for i in range(len(table.rows)):
        lines.append(_md_row([f"**{table.text(i, j)}**" if (i, j) in table.bad else table.text(i, j)
                              for j in range(len(table.columns))]))
    return lines + [""] + [f"- {n}" for n in table.notes]


def run_line(payload: dict[str, Any]) -> str:
    rt = payload.get("runtime") or {}
    sources = sorted({d.get("source", "?") for d in (payload.get("datasets") or {}).values()}) or ["-"]
    return (f"finished {payload.get('finished', '?')} in {payload.get('wall_seconds', '?')} s; "
            f"medcheck {payload.get('medcheck', '?')}; protocol {rt.get('protocol', '?')}, "
            f"dtype {rt.get('dtype', '?')}, device {rt.get('device', '?')}; data: {', '.join(sources)}")


def markdown(payload: dict[str, Any]) -> str:
    """report.md: status, notes, the tables, breaches and errors."""
    lines = ["# medcheck report", "", f"**{status(payload)[1]}**", "", run_line(payload), ""]
    if payload.get("notes"):
        lines += ["## Notes", ""] + [f"- **{n}**" for n in payload["notes"]] + [""]
    found = tables(payload)
    for table in found:
        lines += [f"## {table.title}", ""] + markdown_table(table) + [""]
    if not found:
        lines += ["No scores were recorded in this run.", ""]
    breaches = [v for v in payload.get("verdicts") or [] if not v.get("passed")]
    if breaches:
        lines += ["## Threshold breaches", ""] + [f"- `{v['test']}`: {v['message']}" for v in breaches] + [""]
    if payload.get("errors"):
        lines += ["## Errors", ""]
        for nodeid, message in payload["errors"].items():
            lines += [f"### `{nodeid}`", "", "```", str(message).rstrip(), "```", ""]
    return "\n".join(lines)


def write_csv(payload: dict[str, Any], folder: Path) -> list[Path]:
    """A CSV per table (knowledge.csv, trust.csv, efficiency.csv, ...); a table with no data is omitted (a stale file removed)."""
    folder.mkdir(parents=True, exist_ok=True)
    found = {t.name: t for t in tables(payload)}
    written = []
    for name in dict.fromkeys([*CSV_NAMES, *found]):
        path = folder / f"{name}.csv"
        if name not in found:
            path.unlink(missing_ok=True)
            continue
        out = io.StringIO(newline="")
        csv.writer(out).writerows(found[name].csv_rows())
        write_atomic(path, out.getvalue())
        written.append(path)
    return written
