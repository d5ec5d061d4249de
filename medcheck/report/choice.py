"""The `choice` table layout, of tracks scored item by item on CPS (knowledge, application,
biomedical NLP): rows model / method (dense first), columns the track's datasets: accuracy or
primary metric (CPS), CPS per dimension, track CPS, verdict."""

from __future__ import annotations

from typing import Any

from medcheck.report.tables import (
    DENSE,
    Cell,
    Column,
    Table,
    _error_pairs,
    _verdict,
    accuracies,
    datasets_of,
    generated,
    pair_parts,
    pairs_of,
    short,
    track_cps,
    track_verdicts,
)


def choice_table(payload: dict[str, Any], track: str, info: dict[str, Any]) -> Table | None:
    """Rows model / method, columns the track's datasets: accuracy (CPS), CPS per dimension, track CPS."""
    ids = datasets_of(payload, track)
    if not ids:
        return None
    acc = accuracies(payload)
    cps = {(s["pair"], s["dataset"]): s.get("cps") for s in payload.get("scores") or []}
    runs = {(r["pair"], r["dataset"]): r for r in payload.get("runs") or []}
    tracks, track_values, computed = track_cps(payload, track)
    dims = [d for d, members in (info.get("dimensions") or {}).items() if set(members) & set(ids)]
    dim_cps = info.get("dimension_cps") or {}
    checks = track_verdicts(payload, track)
    errored = _error_pairs(payload)
    columns = [Column("model", "model", "{}"), Column("method", "method", "{}")]
    columns += [Column(short(d), d, second=f"{d}_cps") for d in ids]
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
            row: list[Cell] = [model, method]
            row += [(acc[pair][d], cps.get((pair, d)), mark(pair, d)) if d in acc[pair] else None for d in ids]
            row += [(dim_cps.get(pair) or {}).get(dim) for dim in dims]
            row += [track_values.get((pair, t)) for t in tracks]
            row.append(_verdict(mine, pair in errored))
            bad |= {(len(rows), j) for j, key in enumerate(ids + dims + tracks, start=2) if key in failed}
            rows.append(row)
    scored = [s for s in payload.get("scores") or [] if s["dataset"] in ids]
    gen = generated(scored)
    what = "primary metric" if gen else "accuracy"
    notes = [f"cells: {what} (CPS); CPS = log2(1 + {what} / dense {what}), 1.000 = parity"]
    if gen:
        notes.append("primary metric: entity F1 (NER), micro F1 over positive classes (RE), macro F1 (MLC), "
                     "accuracy (QA); unparsed outputs count as wrong (see the unparsed properties)")
    if computed:
        notes.append("track CPS (computed): no track test ran; mean CPS over the datasets shown (dense accuracy > 0)")
    if any(s.get("cps") is None for s in scored):
        notes.append("CPS undefined where the dense accuracy is 0")
    if marks["!"]:
        notes.append("! degenerate: one answer to almost every item; that accuracy says little")
    if marks["*"]:
        notes.append("* loaded by a fallback strategy (see the load telemetry)")
    if dims:
        notes.append(f"{', '.join(dims)} CPS: over the datasets of each CMedBench dimension, as in its Tables 1-2")
    title = info.get("title") or f"{track.capitalize()} track"
    return Table(track, f"{title}: {what} (CPS) per dataset", columns, rows, notes, bad)
