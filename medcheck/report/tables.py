"""CMedBench-style tables from a run record (medcheck.record.RunRecord), as Markdown and CSV.

Each track's description in the record names its table layout (`tracks.<name>.table`); `TABLES`
maps a layout to its renderer, so a new track registers one (`register_table`) and the report
never tests a track's name. Built in: `choice` (medcheck.report.choice), `trust`
(medcheck.report.trust), `efficiency` and `cross` (medcheck.report.measured), and `verdicts`
(any track's verdict rows) for a layout nobody registered.

Only the record is read (as RunRecord.from_json reads report.json, older schemas upgraded), so
`python -m medcheck report DIR` re-renders any saved run; a table with no data is left out. A track's
own body (its scores per pair, its rows) stays a Mapping read by its table's renderer.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medcheck import efficiency, metrics
from medcheck.audit import write_atomic
from medcheck.compression import DENSE
from medcheck.record_rows import ScoreRow, TrackSection, VerdictRow

if TYPE_CHECKING:
    from medcheck.record import RunRecord

MB = 2**20  # as the load telemetry's rss_mb / peak_mb
# efficiency dimensions: payload key, title, CSV key, scale, format, higher is better
# the efficiency table's columns, from the one declaration of the dimensions and their directions
DIMENSIONS = tuple((d.name, d.title, d.column, d.scale, d.fmt, d.higher_is_better) for d in efficiency.DIMENSIONS)
CSV_NAMES = ("knowledge", "application", "bionlp", "trust", "cross", "efficiency")   # stale copies of these are removed


def section(record: RunRecord, track: str) -> TrackSection:
    """A track's section; a track the record does not describe gets the `verdicts` layout."""
    return record.tracks.get(track) or TrackSection("", "", "", "verdicts", {}, (), {})


def track_verdicts(record: RunRecord, track: str) -> list[VerdictRow]:
    return [v for v in record.verdicts if v.track == track]


def layout_rows(record: RunRecord, layout: str) -> list[Mapping[str, Any]]:
    """The own rows of the tracks whose table has this layout (an efficiency measurement per pair, ...)."""
    return [row for t in record.tracks.values() if t.table == layout for row in t.rows]


FIDELITY_NOTE = ("fidelity: mean KL(dense || candidate) with its upper 95% bound, and the share of items whose top "
                 "answer is the dense model's. KL/token: per answer token over the models' top-10 tokens plus "
                 "buckets for the rest, a lower bound of the full KL (multiple choice: every option token, from the "
                 "scoring pass; generated answers: both models teacher-forced on the dense answer, 'same top' = "
                 "every token's); KL alone: of the option distributions, where an engine keeps no top-k; then its "
                 "outcome against the floors in the track's YAML (the track's test)")


def fidelity_text(checks: list[VerdictRow], pair: str, subject: str) -> str | None:
    """The fidelity of a pair's test on `subject` as a table cell; None where that test has none."""
    row = next((v.fidelity for v in checks if v.pair == pair and v.subject == subject), None)
    if not row:
        return None
    if "fidelity_kl" not in row:
        return str(row.get("fidelity_outcome", "not measured"))
    name = "KL/token" if row.get("fidelity_per") == "token" else "KL"
    return (f"{name} {float(row['fidelity_kl']):.3g} (<{float(row['fidelity_kl_high']):.3g}), "
            f"top {float(row['fidelity_same_top']):.0%}: {row.get('fidelity_outcome', '')}")


def generated(scores: list[ScoreRow]) -> bool:
    """Scores of generated answers name their primary metric (and count unparsed outputs)."""
    return any("metric" in s.fields or "unparsed" in s.fields for s in scores)

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


# -- record helpers (shared with the dashboard) ----------------------------------------------
def pair_parts(pair_id: str) -> tuple[str, str]:
    """(model, compression) of "model/compression": model names hold no "/", a checkpoint path may."""
    model, slash, compression = pair_id.partition("/")
    return (model, compression) if slash else (pair_id, "")


def datasets_of(record: RunRecord, track: str | None = None) -> list[str]:
    """Scored datasets (of one track, if given), in the record's dataset order."""
    scored = dict.fromkeys(s.dataset for s in record.scores if track is None or s.track == track)
    order = [d for d in record.datasets if d in scored]
    return order + [d for d in scored if d not in order]


def pairs_of(record: RunRecord) -> list[str]:
    """Compressed pairs with scores, in the pairs file's order."""
    scored = dict.fromkeys(s.pair for s in record.scores)
    listed = [p for p in record.pairs if p in scored]
    return listed + [p for p in scored if p not in listed]


def accuracies(record: RunRecord) -> dict[str, dict[str, float]]:
    """pair id (dense as 'model/dense') -> dataset -> accuracy (a generative task's primary metric)."""
    out: dict[str, dict[str, float]] = {}
    for s in record.scores:
        out.setdefault(f"{pair_parts(s.pair)[0]}/{DENSE}", {})[s.dataset] = s.dense_score
        out.setdefault(s.pair, {})[s.dataset] = s.score
    return out


def track_cps(record: RunRecord, track: str) -> tuple[list[str], dict[tuple[str, str], float | None], bool]:
    """(track names, {(pair, track): CPS}, computed): from track verdicts, else metrics.cps over the scores."""
    found = [v for v in track_verdicts(record, track) if v.subject == track]
    if found:
        return [track], {(v.pair, v.subject): v.value for v in found}, False
    acc: dict[str, dict[str, float]] = accuracies(record)
    values: dict[tuple[str, str], float | None] = {}
    mine = set(datasets_of(record, track))
    for pair in pairs_of(record):
        dense = acc[f"{pair_parts(pair)[0]}/{DENSE}"]
        keys = [d for d in acc[pair] if dense.get(d, 0) > 0 and d in mine]
        if keys:
            values[(pair, "track")] = metrics.cps({d: dense[d] for d in keys}, {d: acc[pair][d] for d in keys})
    return ["track"], values, True


def unbreached_errors(record: RunRecord) -> dict[str, str]:
    """Errors of tests that are not breaches: a breach also fails its test, and is listed once, as a breach."""
    breached = {v.test for v in record.verdicts if not v.passed}
    return {k: m for k, m in record.errors.items() if k not in breached}


NOTE_KIND = re.compile(r"([A-Z][A-Z0-9 /_-]*[A-Z0-9]):")


def note_groups(notes: list[str]) -> dict[str, list[str]]:
    """Notes by their kind (the capitalised prefix: NEAR CHANCE, UNPARSED, ...), in first-seen order."""
    out: dict[str, list[str]] = {}
    for note in notes:
        m = NOTE_KIND.match(note)
        out.setdefault(m.group(1) if m else "NOTE", []).append(note)
    return out


def status(record: RunRecord) -> tuple[bool | None, str]:
    """(passed, one line): None when the run recorded no verdict and no error."""
    vs = record.verdicts
    failed = [v for v in vs if not v.passed]
    errors = unbreached_errors(record)
    if failed or errors:
        parts = [f"{len(failed)} threshold breach{'es' if len(failed) != 1 else ''}"] if failed else []
        parts += [f"{len(errors)} error{'s' if len(errors) != 1 else ''}"] if errors else []
        return False, "GATE FAILED: " + ", ".join(parts)
    if not vs:
        return None, "NO VERDICTS: this run recorded no threshold check"
    return True, f"GATE PASSED: {len(vs)} threshold checks, no breach"


def _error_pairs(record: RunRecord) -> set[str]:
    """Pairs named in an errored test id (the longest matching pair id wins)."""
    pairs = list(record.pairs)
    out = set()
    for nodeid in record.errors:
        hits = [p for p in pairs if f"[{p}" in nodeid]
        if hits:
            out.add(max(hits, key=len))
    return out


def _verdict(vs: list[VerdictRow], errored: bool) -> str:
    failed = [v.subject for v in vs if not v.passed]
    if failed:
        return "FAIL: " + ", ".join(dict.fromkeys(short(f) for f in failed))
    if errored:   # an errored test decided nothing: graver than an inconclusive one
        return "ERROR"
    undecided = [v.subject for v in vs if v.outcome == "inconclusive"]
    if undecided:
        return "inconclusive: " + ", ".join(dict.fromkeys(short(f) for f in undecided))
    return "pass" if vs else "-"


def short(dataset: str) -> str:
    return dataset.removeprefix("mmlu_")


LABEL_CHARS = 40   # a subject's label: a cross verdict's dataset list would squeeze a plot's axes, widen a table


def subject_label(subject: str, chars: int = LABEL_CHARS) -> str:
    """A verdict's subject for a label: its datasets, short, or the first and how many more where they
    run past `chars` (the tables name every dataset)."""
    parts = [short(s.strip()) for s in subject.split(",")]
    what = ", ".join(parts)
    if len(what) > chars:
        what = f"{parts[0]} + {len(parts) - 1} more" if len(parts) > 1 else what[:chars - 1] + "…"
    return what


# -- the tables --------------------------------------------------------------------------------
def verdict_table(record: RunRecord, track: str, info: TrackSection) -> Table | None:
    """Any track's verdicts, one row each: the layout of a track that registered no renderer."""
    rows: list[list[Cell]] = [[v.pair, v.subject, v.value, v.floor, _verdict([v], False)]
                              for v in track_verdicts(record, track)]
    if not rows:
        return None
    score = info.score or "value"
    columns = [Column("pair", "pair", "{}"), Column("subject", "subject", "{}"), Column(score, "value"),
               Column("floor", "floor"), Column("verdict", "verdict", "{}")]
    bad = {(i, 2) for i, row in enumerate(rows) if str(row[4]).startswith("FAIL")}
    return Table(track, f"{info.title or track}: {score} per test", columns, rows, [], bad)


Renderer = Callable[["RunRecord", str, TrackSection], "Table | None"]
# layout -> renderer, or "module:function" imported when first used (those modules build on this one)
TABLES: dict[str, Renderer | str] = {"choice": "medcheck.report.choice:choice_table", "verdicts": verdict_table,
                                     "trust": "medcheck.report.trust:trust",
                                     "efficiency": "medcheck.report.measured:efficiency",
                                     "cross": "medcheck.report.measured:cross"}


def register_table(layout: str, renderer: Renderer | str) -> None:
    """The renderer of a layout a track names in its description (`Track.table`)."""
    TABLES[layout] = renderer


def renderer(layout: str) -> Renderer:
    found = TABLES.get(layout, verdict_table)
    if isinstance(found, str):
        module, _, name = found.partition(":")
        found = TABLES[layout] = getattr(import_module(module), name)
    return found


def table(record: RunRecord, track: str) -> Table | None:
    """One track's table, by the layout its description names."""
    info = section(record, track)
    return renderer(info.table)(record, track, info)


def tables(record: RunRecord) -> list[Table]:
    """Each described track's table, by the layout its description names; tracks with no data have none."""
    found = [renderer(info.table)(record, name, info) for name, info in record.tracks.items()]
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


def run_line(record: RunRecord) -> str:
    rt = record.runtime
    sources = sorted({d.get("source", "?") for d in record.datasets.values()}) or ["-"]
    return (f"finished {record.finished} in {record.wall_seconds} s; "
            f"medcheck {record.medcheck}; protocol {rt.get('protocol', '?')}, "
            f"dtype {rt.get('dtype', '?')}, device {rt.get('device', '?')}; data: {', '.join(sources)}")


def markdown(record: RunRecord) -> str:
    """report.md: status, notes by kind, the tables, each breach once, errors of other tests."""
    lines = ["# medcheck report", "", f"**{status(record)[1]}**", "", run_line(record), ""]
    groups = note_groups(list(record.notes))
    if groups:
        lines += ["## Notes", ""]
        for kind, members in groups.items():
            lines += [f"- **{members[0]}**"] if len(members) == 1 else \
                [f"- **{kind}** ({len(members)}):"] + [f"  - {m}" for m in members]
        lines.append("")
    found = tables(record)
    for table in found:
        lines += [f"## {table.title}", ""] + markdown_table(table) + [""]
    if not found:
        lines += ["No scores were recorded in this run.", ""]
    breaches = [v for v in record.verdicts if not v.passed]
    if breaches:
        lines += ["## Threshold breaches", ""] + [f"- `{v.test}`: {v.message}" for v in breaches] + [""]
    errors = unbreached_errors(record)
    if errors:
        lines += ["## Errors", ""]
        for nodeid, message in errors.items():
            lines += [f"### `{nodeid}`", "", "```", str(message).rstrip(), "```", ""]
    return "\n".join(lines)


def write_csv(record: RunRecord, folder: Path) -> list[Path]:
    """A CSV per table (knowledge.csv, trust.csv, ...); a table with no data is omitted (a stale file removed)."""
    folder.mkdir(parents=True, exist_ok=True)
    found = {t.name: t for t in tables(record)}
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
