"""The `choice` table layout, of tracks scored item by item on CPS (knowledge, application,
biomedical NLP): rows model / method (dense first), columns the track's datasets: accuracy or
primary metric (CPS), CPS per dimension, track CPS, verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medcheck.record_rows import RunRow, TrackSection
from medcheck.report.tables import (
    DENSE,
    FIDELITY_NOTE,
    Cell,
    Column,
    Table,
    _error_pairs,
    _verdict,
    accuracies,
    datasets_of,
    fidelity_text,
    generated,
    pair_parts,
    pairs_of,
    short,
    track_cps,
    track_verdicts,
)

if TYPE_CHECKING:
    from medcheck.record import RunRecord


def choice_table(record: RunRecord, track: str, info: TrackSection) -> Table | None:
    """Rows model / method, columns the track's datasets: accuracy (CPS), CPS per dimension, track CPS."""
    ids = datasets_of(record, track)
    if not ids:
        return None
    acc = accuracies(record)
    cps = {(s.pair, s.dataset): s.cps for s in record.scores}
    runs: dict[tuple[str, str], RunRow] = {(r.pair, r.dataset): r for r in record.runs}
    tracks, track_values, computed = track_cps(record, track)
    dims = [d for d, members in info.dimensions.items() if set(members) & set(ids)]
    dim_cps = info.body.get("dimension_cps") or {}   # the track's section (medcheck.tracks.base.track_scores)
    checks = track_verdicts(record, track)
    errored = _error_pairs(record)
    columns = [Column("model", "model", "{}"), Column("method", "method", "{}")]
    columns += [Column(short(d), d, second=f"{d}_cps") for d in ids]
    columns += [Column(f"{dim} CPS", f"{dim}_cps") for dim in dims]
    columns += [Column(f"{t} CPS" + (" (computed)" if computed else ""), f"{t}_cps") for t in tracks]
    gated = any(v.fidelity for v in checks)   # a fidelity column where the track's file gates it
    columns += [Column("fidelity", "fidelity", "{}")] * gated + [Column("verdict", "verdict", "{}")]
    rows: list[list[Cell]] = []
    bad: set[tuple[int, int]] = set()
    marks = {"!": False, "*": False}

    def mark(pair: str, dataset: str) -> str:
        run = runs.get((pair, dataset))
        m = "!" if run is not None and run.fields.get("degenerate") else ""   # the task kind's summary
        marks["!"] |= bool(m)
        return m

    pairs = pairs_of(record)
    for model in dict.fromkeys(pair_parts(p)[0] for p in pairs):
        dense_id = f"{model}/{DENSE}"
        rows.append([model, DENSE, *[(acc[dense_id].get(d), None, mark(dense_id, d)) if d in acc[dense_id]
                                     else None for d in ids], *[1.0] * (len(dims) + len(tracks)),
                     *["reference"] * gated, "reference"])
        for pair in [p for p in pairs if pair_parts(p)[0] == model]:
            method = pair_parts(pair)[1]
            if any(run.load.get("fallback") for d in ids if (run := runs.get((pair, d))) is not None):
                method, marks["*"] = method + "*", True
            mine = [v for v in checks if v.pair == pair]
            failed = {v.subject for v in mine if not v.passed}
            row: list[Cell] = [model, method]
            row += [(acc[pair][d], cps.get((pair, d)), mark(pair, d)) if d in acc[pair] else None for d in ids]
            row += [(dim_cps.get(pair) or {}).get(dim) for dim in dims]
            row += [track_values.get((pair, t)) for t in tracks]
            row += [fidelity_text(mine, pair, track)] * gated + [_verdict(mine, pair in errored)]
            bad |= {(len(rows), j) for j, key in enumerate(ids + dims + tracks, start=2) if key in failed}
            rows.append(row)
    scored = [s for s in record.scores if s.dataset in ids]
    gen = generated(scored)
    what = "primary metric" if gen else "accuracy"
    notes = [f"cells: {what} (CPS); CPS = log2(1 + {what} / dense {what}), 1.000 = parity"]
    if gen:
        notes.append("primary metric: entity F1 (NER), micro F1 over positive classes (RE), macro F1 (MLC), "
                     "accuracy (QA); unparsed outputs count as wrong (see the unparsed properties)")
    if computed:
        notes.append("track CPS (computed): no track test ran; mean CPS over the datasets shown (dense accuracy > 0)")
    if any(s.cps is None for s in scored):
        notes.append("CPS undefined where the dense accuracy is 0")
    if marks["!"]:
        notes.append("! degenerate: one answer to almost every item; that accuracy says little")
    if marks["*"]:
        notes.append("* loaded by a fallback strategy (see the load telemetry)")
    if dims:
        notes.append(f"{', '.join(dims)} CPS: over the datasets of each CMedBench dimension, as in its Tables 1-2")
    notes += [FIDELITY_NOTE] * gated
    title = info.title or f"{track.capitalize()} track"
    return Table(track, f"{title}: {what} (CPS) per dataset", columns, rows, notes, bad)
