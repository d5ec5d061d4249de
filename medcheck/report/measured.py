"""Tables of the tracks measured per pair or per model (layouts `efficiency` and `cross`): their rows
live in the track's own section (tracks.<name>.rows), not in the record's scores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medcheck.record_rows import TrackSection
from medcheck.report.tables import DENSE, DIMENSIONS, Cell, Column, Table, _verdict, pair_parts, track_verdicts

if TYPE_CHECKING:
    from medcheck.record import RunRecord


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k, *_ in DIMENSIONS)


def cross(record: RunRecord, track: str, info: TrackSection) -> Table | None:
    """Rows models, columns compression settings (dense included): accuracy, then CCS."""
    entries = info.rows
    if not entries:
        return None
    settings = [DENSE] + list(dict.fromkeys(s for e in entries for s in e.get("accuracies", {}) if s != DENSE))
    columns = [Column("model", "model", "{}")] + [Column(s, s) for s in settings] + [Column("CCS", "ccs")]
    rows = [[e["model"], *[e.get("accuracies", {}).get(s) for s in settings], e.get("ccs")] for e in entries]
    failing = {v.pair for v in track_verdicts(record, track) if not v.passed}
    bad = {(i, len(columns) - 1) for i, e in enumerate(entries) if e["model"] in failing}
    sets = {", ".join(e.get("datasets", [])) for e in entries}
    notes = [f"cells: mean accuracy over {sets.pop()}" if len(sets) == 1 else "cells: mean accuracy over each "
             "model's cross datasets (see report.json)",
             "CCS = mean over settings (dense included) of log2(1 + accuracy / dense accuracy); 1.000 = parity"]
    notes += [f"FAIL {v.pair}: {v.message}" for v in track_verdicts(record, track) if not v.passed]
    return Table(track, "Cross-combination: accuracy per compression setting, CCS", columns, rows, notes, bad)


def efficiency(record: RunRecord, track: str, info: TrackSection) -> Table | None:
    """Rows pairs, columns memory, bits/weight, TTFT, ACT, TPS: value (oriented ratio), then CES."""
    entries = info.rows
    if not entries:
        return None
    columns = [Column("model", "model", "{}"), Column("method", "method", "{}")]
    columns += [Column(title, key, fmt, f"{key}_ratio", " ({:.2f}x)") for _, title, key, _, fmt, _ in DIMENSIONS]
    columns += [Column("CES", "ces"), Column("verdict", "verdict", "{}")]
    rows: list[list[Cell]] = []
    bad: set[tuple[int, int]] = set()
    shown: dict[str, dict[str, Any]] = {}
    checks = track_verdicts(record, track)
    for e in entries:
        model = e.get("model") or pair_parts(e["pair"])[0]
        dense, cand, ratios = e.get("dense") or {}, e.get("candidate") or {}, e.get("ratios") or {}
        if model not in shown or not _same(shown[model], dense):
            shown[model] = dense
            rows.append([model, DENSE, *[None if dense.get(k) is None else dense[k] / scale
                                         for k, _, _, scale, _, _ in DIMENSIONS], None, "reference"])
        mine = [v for v in checks if v.pair == e["pair"]]
        if any(not v.passed for v in mine):
            bad.add((len(rows), len(columns) - 2))
        rows.append([model, e.get("compression") or pair_parts(e["pair"])[1],
                     *[(None if cand.get(k) is None else cand[k] / scale, ratios.get(k), "")
                       for k, _, _, scale, _, _ in DIMENSIONS], e.get("ces"), _verdict(mine, False)])
    kinds = dict.fromkeys(f"{e.get('memory_kind', 'not stated')} [{e.get('device', '?')}]" for e in entries)
    notes = ["(r x) = ratio oriented so that > 1 means the compressed model is more efficient than its dense "
             "model, both measured in the same run; CES = mean of the ratios",
             "memory measured: " + "; ".join(kinds), "timings are medians over repeats (spread in report.json)",
             "each ratio's interval (report.json: ratio_intervals) and CES's (the verdict) come from the timed "
             "runs; memory and bits are deterministic"]
    notes += [f"FAIL {v.pair}: {v.message}" for v in checks if not v.passed]
    return Table(track, "Efficiency: value (oriented ratio) per dimension, CES", columns, rows, notes, bad)
