"""The `trust` table layout: per dimension the performance P_t and its TWY, and the track's TWY.

Built from the run record alone (scores, verdicts, the track's dimensions), like every other table,
so `medcheck verify` and a reader of an old record see the same numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medcheck.record_rows import TrackSection
from medcheck.report.tables import (
    DENSE,
    FIDELITY_NOTE,
    Column,
    Table,
    _verdict,
    fidelity_text,
    pair_parts,
    pairs_of,
    section,
    track_verdicts,
)

if TYPE_CHECKING:
    from medcheck.record import RunRecord


def trust(record: RunRecord, track: str = "trust", info: TrackSection | None = None) -> Table | None:
    """Rows model / method; a column per dimension: P (TWY); then the track's TWY and the verdict."""
    info = info if info is not None else section(record, track)
    scores = [s for s in record.scores if s.track == track]
    if not scores:
        return None
    present = {s.dataset for s in scores}
    dims = {d: [x for x in members if x in present] for d, members in info.dimensions.items()}
    dims = {d: members for d, members in dims.items() if members}
    checks = track_verdicts(record, track)
    twy = {(v.pair, v.subject): v.value for v in checks}

    def perf(pair: str, members: list[str], dense: bool) -> float | None:
        # P_t: the mean over the dimension's datasets of each one's performance (higher is better)
        got = [s.dense_score if dense else s.score for s in scores if s.pair == pair and s.dataset in members]
        return sum(got) / len(got) if len(got) == len(members) else None

    columns = [Column("model", "model", "{}"), Column("method", "method", "{}")]
    columns += [Column(f"{d} P (TWY)", d, second=f"{d}_twy") for d in dims]
    columns.append(Column(f"{track} {info.score or 'TWY'}", "twy"))
    gated = any(v.fidelity for v in checks)   # a fidelity column where the track's file gates it
    columns += [Column("fidelity", "fidelity", "{}")] * gated + [Column("verdict", "verdict", "{}")]
    rows: list[list[Any]] = []
    bad: set[tuple[int, int]] = set()
    pairs = [p for p in pairs_of(record) if any(s.pair == p for s in scores)]
    for model in dict.fromkeys(pair_parts(p)[0] for p in pairs):
        mine = [p for p in pairs if pair_parts(p)[0] == model]
        rows.append([model, DENSE, *[(perf(mine[0], m, True), None, "") for m in dims.values()],
                     1.0, *["reference"] * gated, "reference"])
        for pair in mine:
            own = [v for v in checks if v.pair == pair]
            failed = {v.subject for v in own if not v.passed}
            bad |= {(len(rows), j) for j, d in enumerate([*dims, track], start=2) if d in failed}
            rows.append([model, pair_parts(pair)[1],
                         *[(perf(pair, m, False), twy.get((pair, d)), "") for d, m in dims.items()],
                         twy.get((pair, track)), *[fidelity_text(own, pair, track)] * gated, _verdict(own, False)])
    notes = ["P: mean over the dimension's datasets of each one's performance, turned so that higher is better "
             "(1 - rate for attack success and leakage); TWY = exp(d_t * (P compressed - P dense)), 1.000 = parity "
             "(exponents d_t in thresholds/trust.yaml)",
             f"{track} TWY: the mean of the dimensions' TWY; '-' where that test did not run"]
    notes += [FIDELITY_NOTE] * gated
    notes += [f"FAIL {v.pair} {v.subject}: {v.message}" for v in checks if not v.passed]
    return Table(track, f"{info.title or track}: performance (TWY) per dimension",
                 columns, rows, notes, bad)
