"""Corruptions of release files, by format, and the check every loader must pass on them.

A loader given a broken file must end in a `MedcheckError` (naming file, line or key, and the
fix) or, where the file is still well-formed, return every item it holds: never a bare
traceback, never a silently shortened list.
"""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from medcheck.datasets.types import ChoiceItem, TextItem
from medcheck.errors import MedcheckError

HUGE = 2_000_000    # characters in a "huge field": past csv's field limit, far past any real item

# values of the wrong type, shape or size for any field of a record
junk = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["", " ", "nan", "NaN", "null", "A", "Z", "0", "-1", "\u202e", "\ud800"]),
    st.just("x" * HUGE),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=3))

INVALID_UTF8 = [b"\xff", b"\xfe\xfe", b"\xc3\x28", b"\xa0\xa1", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80"]


def detect_format(path: Path) -> str | None:
    """jsonl | json | csv | tsv, from a pristine sample file; None when unknown."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".csv":
        return "csv"
    if path.suffix == ".tsv":
        return "tsv"
    try:
        json.loads(text)
        return "json"
    except ValueError:
        pass
    lines = [line for line in text.splitlines() if line.strip()]
    try:
        if lines and all(isinstance(json.loads(line), dict) for line in lines):
            return "jsonl"
    except ValueError:
        pass
    return None


@dataclass
class Outcome:
    error: MedcheckError | None
    items: list[Any] | None
    warned: list[str]


def attempt(load: Callable[[], Any]) -> Outcome:
    """Run a load; anything but a MedcheckError propagates (that is the failure under test)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            dataset = load()
        except MedcheckError as exc:
            return Outcome(exc, None, [])
    return Outcome(None, list(dataset.items), [str(w.message) for w in caught if w.category is UserWarning])


def check_items(items: list[Any]) -> None:
    """Every item is well-formed: typed, with a unique non-empty id and text where text belongs."""
    ids = [item.id for item in items]
    assert all(isinstance(i, str) and i for i in ids), ids[:5]
    assert len(set(ids)) == len(ids), "duplicate item ids"
    for item in items:
        if isinstance(item, ChoiceItem):
            assert isinstance(item.question, str) and all(isinstance(o, str) for o in item.options), item.id
            assert isinstance(item.gold, int) and not isinstance(item.gold, bool), item.id
        else:
            assert isinstance(item, TextItem) and isinstance(item.text, str), item.id
        json.dumps(item.__dict__, allow_nan=True)   # JSON-able, as the report and the hash need


def expect_error(outcome: Outcome, path: Path, what: str) -> None:
    assert outcome.error is not None, f"{what}: loaded {len(outcome.items or [])} items instead of failing"
    message = str(outcome.error)
    assert str(path.name) in message, f"{what}: the error does not name the file: {message}"


def expect_whole(outcome: Outcome, allowed_counts: set[int], what: str) -> None:
    """Either a located error, or every item (a shorter list only with a warning that says why)."""
    if outcome.error is not None:
        return
    assert outcome.items is not None
    check_items(outcome.items)
    assert len(outcome.items) in allowed_counts or outcome.warned, (
        f"{what}: {len(outcome.items)} items, expected {sorted(allowed_counts)} and no warning")


# -- structural mutations, per format -------------------------------------------------------------------
def mutate_records(records: list[Any], data: st.DataObject) -> tuple[list[Any], str, int]:
    """One mutation of a list of records (dicts or rows); returns (records, what, item count delta)."""
    records = [dict(r) if isinstance(r, dict) else list(r) if isinstance(r, list) else r for r in records]
    at = data.draw(st.integers(0, len(records) - 1), label="record")
    record = records[at]
    filled = isinstance(record, (dict, list)) and bool(record)
    kinds = ["duplicate", "non-record"] + (["set", "delete", "all-nan"] if filled else [])
    kind = data.draw(st.sampled_from(kinds), label="mutation")
    if kind == "duplicate":
        records.insert(at + 1, records[at])
        return records, f"record {at} duplicated", 1
    if kind == "non-record":
        # never an empty list: as a CSV row that is a blank line, which some formats read as a separator
        records.insert(at, data.draw(junk.filter(lambda v: v != []), label="value"))
        return records, f"a non-record inserted at {at}", 0
    keys = list(record) if isinstance(record, dict) else list(range(len(record)))
    if kind == "all-nan":
        records[at] = {k: math.nan for k in keys} if isinstance(record, dict) else ["nan"] * len(record)
        return records, f"record {at} all NaN", 0
    key = data.draw(st.sampled_from(keys), label="key")
    if kind == "delete":
        del record[key]
        return records, f"record {at} lost {key!r}", 0
    value = data.draw(junk, label="value")
    if isinstance(record, dict):
        record[key] = value
    elif isinstance(record, list):
        record[key] = value if isinstance(value, str) else json.dumps(value)
    else:
        records[at] = value
    return records, f"record {at}[{key!r}] = {str(value)[:40]!r}", 0


def dump_jsonl(records: list[Any]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)   # ASCII: a lone surrogate stays a \\u escape


def dump_csv(rows: list[Any], delimiter: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    for row in rows:
        writer.writerow(row if isinstance(row, list) else [json.dumps(row)])
    return out.getvalue()


def parse(text: str, fmt: str) -> Any:
    if fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if fmt == "json":
        return json.loads(text)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter="\t" if fmt == "tsv" else ","))


def mutate(text: str, fmt: str, data: st.DataObject) -> tuple[str, str, int]:
    """A structurally mutated file of format `fmt`: (text, what was done, item count delta)."""
    parsed = parse(text, fmt)
    if fmt == "jsonl":
        records, what, delta = mutate_records(parsed, data)
        return dump_jsonl(records), what, delta
    if fmt in ("csv", "tsv"):
        rows, what, delta = mutate_records(parsed, data)
        return dump_csv(rows, "\t" if fmt == "tsv" else ","), what, delta
    if isinstance(parsed, list) and parsed:
        records, what, delta = mutate_records(parsed, data)
        return json.dumps(records), what, delta
    if isinstance(parsed, dict) and parsed:
        key = data.draw(st.sampled_from(sorted(parsed)), label="top key")
        inner = parsed[key]
        if isinstance(inner, (dict, list)) and inner and data.draw(st.booleans(), label="go inside"):
            # one level down: a record of a PMID-keyed object or a column of a pandas table
            wrapped, what, delta = mutate_records([inner], data)
            if len(wrapped) == 1 or isinstance(wrapped[0], type(inner)):
                parsed[key] = wrapped[0]
                return json.dumps(parsed), f"{key}: {what}", 0
        if data.draw(st.booleans(), label="delete"):
            del parsed[key]
            return json.dumps(parsed), f"{key!r} deleted", -1
        parsed[key] = data.draw(junk, label="value")
        return json.dumps(parsed), f"{key!r} = {str(parsed[key])[:40]!r}", 0
    return text, "unchanged", 0
