"""One run record from the records of a distributed run's workers (pytest-xdist).

Each worker evaluates its share of the tests and sends its record (JSON) to the controller,
which merges them here and writes the report once. Rows are concatenated; a row two workers
both produced (the dense reference of a model whose compressions ran on different workers, a
pair a cross test evaluated again) is kept once. Verdicts follow the collection order, so a
merged report lists them as a serial run does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

from medcheck.record import RunRecord, inconclusive_note, snapshots_note
from medcheck.tracks.base import DESCRIPTION

# track-table fields that describe the track (Track.describe); the others are score tables keyed by pair
_TRACK_FIELDS = DESCRIPTION


def _once(rows: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], Hashable]) -> list[dict[str, Any]]:
    seen: set[Hashable] = set()
    out = []
    for row in rows:
        if (k := key(row)) not in seen:
            seen.add(k)
            out.append(row)
    return out


def _tracks(tables: Sequence[Mapping[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per track: its description from the first record, score tables merged by pair. A worker
    that scored none of a track has empty tables under the default metric name: those drop out
    when another worker has scores (a serial run names the track's own metric)."""
    out: dict[str, dict[str, Any]] = {}
    for table in tables:
        for name, track in table.items():
            merged = out.setdefault(name, {k: track[k] for k in _TRACK_FIELDS if k in track})
            for key, scores in track.items():
                if key not in _TRACK_FIELDS:
                    merged.setdefault(key, {}).update(scores)
    for merged in out.values():
        scored = [k for k in merged if k not in _TRACK_FIELDS and merged[k]]
        if scored:
            for key in [k for k in merged if k not in _TRACK_FIELDS and k not in scored]:
                del merged[key]
    return out


def _notes(records: Sequence[Mapping[str, Any]], verdicts: list[dict[str, Any]], unrecorded: int,
           snapshot_key: str) -> list[str]:
    """Notes once each; the two that count tests are counted again over the whole run."""
    counted = {"INCONCLUSIVE:": inconclusive_note(sum(v.get("outcome") == "inconclusive" for v in verdicts)),
               "SNAPSHOTS:": snapshots_note(unrecorded, snapshot_key) if unrecorded else ""}
    notes: list[str] = []
    for note in (n for r in records for n in r["notes"]):
        prefix = next((p for p in counted if note.startswith(p)), None)
        note = counted.get(prefix, note) if prefix else note
        if note and note not in notes:
            notes.append(note)
    return notes


def _samples(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each run's item rows from the first record that has that run."""
    out: list[dict[str, Any]] = []
    taken: set[tuple[str, str]] = set()
    for record in records:
        mine = {(row["pair"], row["dataset"]) for row in record.get("samples", [])} - taken
        out += [row for row in record.get("samples", []) if (row["pair"], row["dataset"]) in mine]
        taken |= mine
    return out


def merge(records: Sequence[Mapping[str, Any]], *, started: float, order: Sequence[str] = (),
          unrecorded_snapshots: int = 0, snapshot_key: str = "") -> RunRecord:
    """The run record of the whole run from its workers' records (RunRecord fields, samples
    included), in worker order; `started` is the controller's start (wall time is its), `order`
    the collected test ids."""
    if not records:
        raise ValueError("merge needs at least one worker record")
    first = records[0]
    rank = {test: i for i, test in enumerate(order)}
    verdicts = sorted((v for r in records for v in r["verdicts"]), key=lambda v: rank.get(v["test"], len(rank)))

    def by_run(row: dict[str, Any]) -> tuple[str, str]:
        return row["pair"], row["dataset"]

    return RunRecord(
        medcheck=first["medcheck"], finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        wall_seconds=round(time.time() - started, 1), settings=first["settings"], runtime=first["runtime"],
        environment=first["environment"], pairs_file=first["pairs_file"], pairs=first["pairs"],
        models={k: v for r in records for k, v in r["models"].items()},
        datasets={k: v for r in records for k, v in r["datasets"].items()},
        tracks=_tracks([r["tracks"] for r in records]),
        runs=_once((row for r in records for row in r["runs"]), by_run),
        scores=_once((row for r in records for row in r["scores"]), by_run),
        verdicts=verdicts,
        efficiency=_once((row for r in records for row in r["efficiency"]), lambda row: row["pair"]),
        cross=_once((row for r in records for row in r["cross"]), lambda row: row["model"]),
        errors={k: v for r in records for k, v in r["errors"].items()},
        notes=_notes(records, verdicts, unrecorded_snapshots, snapshot_key),
        throughput=[row for r in records for row in r["throughput"]],   # work done, twice where it was
        samples=_samples(records),
        schema_version=first["schema_version"])
