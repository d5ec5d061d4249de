"""medcheck.record.RunRecord.from_json / load_record and medcheck.record_rows: a record read back equals
the record written, older schemas are upgraded, and what cannot be read is named by file, key and fix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from medcheck.errors import RecordError
from medcheck.record import RunRecord, load_record
from medcheck.record_rows import SCHEMA_VERSION, VerdictRow, read_samples
from tests.report.payloads import NF4, base, full, legacy, rec, save, schema3

REPO = Path(__file__).resolve().parents[2]


def test_a_record_read_back_is_the_record_written():
    data = full()
    record = rec(data)
    assert record.as_dict() == data                                    # byte for byte what report.json held
    assert RunRecord.from_json(record.as_dict()) == record             # and typed again, the same record
    assert isinstance(record.verdicts[0], VerdictRow) and record.verdicts[0].datasets == ("mmlu_anatomy",)
    assert record.tracks["efficiency"].rows == data["tracks"]["efficiency"]["rows"]
    assert record.tracks["knowledge"].body == {}                       # the hand-built track has no scores


def test_no_top_level_field_per_track():
    fields = set(rec(full()).as_dict())
    assert not fields & {"efficiency", "cross"}
    assert fields == set(base())   # a track's rows add nothing at the top level


def test_older_schemas_are_upgraded_to_the_current_shape():
    new = rec(full())
    for old in (schema3(), legacy()):
        record = rec(old)
        assert record.schema_version == SCHEMA_VERSION
        assert record.tracks == new.tracks and record.verdicts == new.verdicts


@pytest.mark.parametrize("change, key, words", [
    (lambda d: d.update(schema_version=SCHEMA_VERSION + 1), "schema_version",
     "written by a newer medcheck (this one reads schemas 2 to"),
    (lambda d: d.update(schema_version=1), "schema_version", "an older schema"),
    (lambda d: d.pop("schema_version"), "schema_version", "missing: not a run record written by medcheck"),
    (lambda d: d.update(schema_version="4"), "schema_version", "expected an integer, got str"),
    (lambda d: d["verdicts"][2].pop("floor"), "verdicts[2].floor", "missing"),
    (lambda d: d["verdicts"][0].update(passed="yes"), "verdicts[0].passed", "expected true or false, got str"),
    (lambda d: d["scores"][1].update(score=None), "scores[1].score", "expected a number, got NoneType"),
    (lambda d: d["tracks"]["cross"].pop("table"), "tracks.cross.table", "missing"),
    (lambda d: d.update(runs={}), "runs", "expected a list, got dict"),
    (lambda d: d.pop("throughput"), "throughput", "missing"),
])
def test_what_cannot_be_read_names_the_file_the_key_and_the_fix(tmp_path, change, key, words):
    data = full()
    change(data)
    run = save(data, tmp_path / "run")
    with pytest.raises(RecordError) as info:
        load_record(run)
    message = str(info.value)
    assert message.startswith(f"{run / 'report.json'}: {key}: ") and words in message
    assert info.value.key == key and info.value.fix
    fixes = {"newer": "upgrade medcheck", "older": "rerun the gate", "missing: not a run": "report dir written by"}
    assert next((fix for what, fix in fixes.items() if what in words), "rerun the gate") in info.value.fix


def test_a_file_that_is_not_json_or_not_there(tmp_path):
    with pytest.raises(FileNotFoundError, match="no report.json at"):
        load_record(tmp_path)
    (tmp_path / "report.json").write_text('{"schema_version": 4,')
    with pytest.raises(RecordError, match=r"report.json: not JSON: .*\(line 1\)"):
        load_record(tmp_path)


def test_a_bad_samples_line_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "samples.jsonl"
    path.write_text(json.dumps({"pair": NF4, "dataset": "medqa", "item_id": "q1", "correct": True}) + "\n"
                    + json.dumps({"pair": NF4, "item_id": "q2"}) + "\n")
    with pytest.raises(RecordError, match=r"samples.jsonl:2: dataset: missing"):
        read_samples(path)
    path.write_text(json.dumps({"pair": NF4, "dataset": "medqa", "item_id": 7, "correct": True}) + "\n")
    (row,) = read_samples(path)
    assert row.item_id == "7" and row.record() == {"item_id": 7, "correct": True}


def test_the_commands_refuse_a_newer_record_with_the_fix(tmp_path):
    run = save(full() | {"schema_version": SCHEMA_VERSION + 1}, tmp_path / "run")
    for command in (["report", run], ["compare", run, run], ["power", run]):
        done = subprocess.run([sys.executable, "-m", "medcheck", *map(str, command)], cwd=REPO, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert "schema_version" in done.stderr and "upgrade medcheck" in done.stderr, done.stderr
