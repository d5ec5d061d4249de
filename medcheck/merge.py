"""One run record from the records of a distributed run's workers (pytest-xdist).

Each worker evaluates its share of the tests and sends its record (JSON) to the controller,
which merges them here and writes the report once. Rows are concatenated; a row two workers
both produced (the dense reference of a model whose compressions ran on different workers, a
pair a cross test evaluated again) is kept once. Verdicts follow the collection order, so a
merged report lists them as a serial run does.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from medcheck.record import RunRecord, inconclusive_note, snapshots_note
from medcheck.record_rows import SampleRow, TrackSection, VerdictRow

T = TypeVar("T")


def _once(rows: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    seen: set[Hashable] = set()
    out = []
    for row in rows:
        if (k := key(row)) not in seen:
            seen.add(k)
            out.append(row)
    return out


def _same_row(row: Any) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def _body(bodies: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One track's body from its workers': tables keyed by pair merged, rows concatenated (a row two
    workers both wrote kept once). A worker that scored none of the track has empty tables under the
    default metric name: those drop out when another worker has scores (a serial run names the
    track's own metric)."""
    out: dict[str, Any] = {}
    for body in bodies:
        for key, value in body.items():
            if isinstance(value, Mapping):
                out.setdefault(key, {}).update(value)
            elif isinstance(value, list):
                out[key] = _once([*out.get(key, []), *value], _same_row)
            else:
                out.setdefault(key, value)
    tables = [k for k, v in out.items() if isinstance(v, Mapping)]
    if any(out[k] for k in tables):
        out = {k: v for k, v in out.items() if k not in tables or v}
    return out


def _tracks(sections: Sequence[Mapping[str, TrackSection]]) -> dict[str, TrackSection]:
    """Per track: its description from the first record that has it, its body merged."""
    names = dict.fromkeys(name for s in sections for name in s)
    out = {}
    for name in names:
        mine = [s[name] for s in sections if name in s]
        out[name] = dataclasses.replace(mine[0], body=_body(t.body for t in mine))
    return out


def _notes(records: Sequence[RunRecord], verdicts: list[VerdictRow], unrecorded: int, snapshot_key: str) -> list[str]:
    """Notes once each; the two that count tests are counted again over the whole run."""
    counted = {"INCONCLUSIVE:": inconclusive_note(sum(v.outcome == "inconclusive" for v in verdicts)),
               "SNAPSHOTS:": snapshots_note(unrecorded, snapshot_key) if unrecorded else ""}
    notes: list[str] = []
    for note in (n for r in records for n in r.notes):
        prefix = next((p for p in counted if note.startswith(p)), None)
        note = counted.get(prefix, note) if prefix else note
        if note and note not in notes:
            notes.append(note)
    return notes


def _samples(records: Sequence[RunRecord]) -> list[SampleRow]:
    """Each run's item rows from the first record that has that run."""
    out: list[SampleRow] = []
    taken: set[tuple[str, str]] = set()
    for record in records:
        mine = {(row.pair, row.dataset) for row in record.samples} - taken
        out += [row for row in record.samples if (row.pair, row.dataset) in mine]
        taken |= mine
    return out


def merge(records: Sequence[RunRecord], *, started: float, order: Sequence[str] = (),
          unrecorded_snapshots: int = 0, snapshot_key: str = "") -> RunRecord:
    """The run record of the whole run from its workers' records (samples included), in worker
    order; `started` is the controller's start (wall time is its), `order` the collected test ids."""
    if not records:
        raise ValueError("merge needs at least one worker record")
    first = records[0]
    rank = {test: i for i, test in enumerate(order)}
    verdicts = sorted((v for r in records for v in r.verdicts), key=lambda v: rank.get(v.test, len(rank)))
    return RunRecord(
        medcheck=first.medcheck, finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        wall_seconds=round(time.time() - started, 1), settings=first.settings, runtime=first.runtime,
        environment=first.environment, pairs_file=first.pairs_file, pairs=first.pairs,
        models={k: v for r in records for k, v in r.models.items()},
        datasets={k: v for r in records for k, v in r.datasets.items()},
        tracks=_tracks([r.tracks for r in records]),
        runs=_once((row for r in records for row in r.runs), lambda row: (row.pair, row.dataset)),
        scores=_once((row for r in records for row in r.scores), lambda row: (row.pair, row.dataset)),
        verdicts=verdicts,
        errors={k: v for r in records for k, v in r.errors.items()},
        notes=_notes(records, verdicts, unrecorded_snapshots, snapshot_key),
        throughput=[row for r in records for row in r.throughput],   # work done, twice where it was
        samples=_samples(records),
        schema_version=first.schema_version)
