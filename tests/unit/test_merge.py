"""medcheck.merge: two workers' records into one, as a serial run would have written it."""

from __future__ import annotations

import dataclasses
import time

import pytest

from medcheck.merge import merge
from medcheck.record import RunRecord, inconclusive_note, snapshots_note

TRACK = {"title": "Knowledge", "score": "CPS", "kind": "choice", "table": "choice", "dimensions": {"GMK": ["a", "b"]},
         "datasets": ["a", "b"]}


def _run(pair: str, accuracy: float) -> dict:
    return {"pair": pair, "dataset": "a", "fingerprint": "f", "cache_key": "k", "cached_items": 0, "seconds": 1.0,
            "load": {}, "backend": {}, "accuracy": accuracy}


def record(pair: str, test: str, outcome: str, notes: list[str], scored: bool = True) -> RunRecord:
    verdict = {"test": test, "kind": "dataset", "track": "knowledge", "pair": pair, "subject": "a", "datasets": ["a"],
               "metric": "CPS", "value": 0.9, "n": 6, "passed": outcome != "fail", "outcome": outcome, "message": "",
               "floor": 0.8, "rule": "knowledge.yaml: cps.default", "decision_rule": {"mode": "point"}}
    return RunRecord.from_json({
        "medcheck": "0", "finished": "", "wall_seconds": 1.0, "settings": {"limit": 6}, "runtime": {"protocol": "p"},
        "environment": {}, "pairs_file": "pairs.yaml", "pairs": ["m/x", "m/y"], "schema_version": 4,
        "models": {"m": {"fingerprint": "f"}}, "datasets": {"a": {"n": 6}, f"d-{pair}": {"n": 6}},
        "tracks": {"knowledge": {**TRACK, **({"cps": {pair: 1.0}, "dimension_cps": {pair: {"GMK": 1.0}}} if scored
                                             else {"cps": {}, "dimension_cps": {}})},
                   "trust": {**TRACK, "twy": {pair: 0.9}, "dimension_twy": {pair: {}}} if scored else
                   {**TRACK, "cps": {}, "dimension_cps": {}},
                   "cross": {**TRACK, "rows": [{"model": "m", "ccs": 1.0}]}},
        "runs": [_run("m/dense", 0.5), _run(pair, 0.4)],
        "scores": [{"pair": pair, "dataset": "a", "track": "knowledge", "dense_score": 0.5, "score": 0.4, "cps": 0.9}],
        "verdicts": [verdict], "errors": {}, "notes": notes,
        "throughput": [{"pair": "m/dense", "dataset": "a", "items": 6, "seconds": 1.0, "items_per_s": 6.0}],
        "samples": [{"pair": "m/dense", "dataset": "a", "item_id": "1"},
                    {"pair": pair, "dataset": "a", "item_id": "1"}]}, f"the record of {pair}")


def test_rows_once_verdicts_in_collection_order_notes_recounted():
    first = record("m/x", "t::x", "inconclusive", ["SAMPLE DATA", inconclusive_note(1), snapshots_note(1, "k")])
    second = record("m/y", "t::y", "inconclusive", ["SAMPLE DATA", "NEAR CHANCE y", inconclusive_note(1),
                                                    snapshots_note(1, "k")])
    merged = merge([first, second], started=time.time() - 5, order=["t::y", "t::x"], unrecorded_snapshots=2,
                   snapshot_key="k")
    assert [v.test for v in merged.verdicts] == ["t::y", "t::x"]
    assert [(r.pair, r.dataset) for r in merged.runs] == [("m/dense", "a"), ("m/x", "a"), ("m/y", "a")]
    assert [(r.pair, r.item_id) for r in merged.samples] == [("m/dense", "1"), ("m/x", "1"), ("m/y", "1")]
    assert len(merged.throughput) == 2   # the dense reference was scored by both: work done, twice
    assert merged.tracks["cross"].rows == [{"model": "m", "ccs": 1.0}]
    assert set(merged.datasets) == {"a", "d-m/x", "d-m/y"}
    assert merged.notes == ["SAMPLE DATA", inconclusive_note(2), snapshots_note(2, "k"), "NEAR CHANCE y"]
    assert merged.tracks["knowledge"].body["cps"] == {"m/x": 1.0, "m/y": 1.0}
    assert merged.wall_seconds >= 5
    assert RunRecord.from_json(merged.as_dict()) == dataclasses.replace(merged, samples=[])   # still a record


def test_a_worker_without_a_tracks_scores_leaves_no_empty_table():
    merged = merge([record("m/x", "t::x", "pass", [], scored=False), record("m/y", "t::y", "pass", [])],
                   started=time.time())
    trust = merged.tracks["trust"].body
    assert trust["twy"] == {"m/y": 0.9} and "cps" not in trust and "dimension_cps" not in trust
    assert not any(n.startswith("INCONCLUSIVE") for n in merged.notes)


def test_no_records_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        merge([], started=time.time())
