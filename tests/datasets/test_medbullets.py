"""MedBullets loader: bundled op4/op5 samples, the release CSV and the pandas column JSON give the same items."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.errors import DatasetError

IDS = ["medbullets_op4", "medbullets_op5"]
HEADER5 = "link,question,opa,opb,opc,opd,ope,answer_idx,answer,explanation"


def csv_text(rows: list[list[str]], header: str = HEADER5) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header.split(","), *rows])
    return buffer.getvalue()


def row(question: str = "A 30-year-old man, febrile.\n\nWhich drug?", answer: str = "C", n: int = 5) -> list[str]:
    options = ["Aspirin", "Heparin, unfractionated", "Warfarin", "Digoxin", "Atropine"][:n]
    return ["https://example.org/q", question, *options, answer, "Warfarin", "Because,\nreasons."]


def write(root: Path, name: str, text: str) -> Path:
    path = root / "medbullets" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def to_column_json(csv_path: Path) -> str:
    """What pandas' `DataFrame.to_json()` writes for the table: {column: {row: value}}."""
    with csv_path.open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    return json.dumps({column: {str(i): r[column] for i, r in enumerate(records)} for column in records[0]})


@pytest.mark.parametrize("dataset_id", IDS)
def test_bundled_sample_loads_with_balanced_labels(dataset_id: str) -> None:
    ds = datasets.load(dataset_id)
    spec = datasets.info(dataset_id)
    n = int(dataset_id[-1])
    assert (spec.track, spec.dimension, spec.prompt_style) == ("application", "CDA", "qa")
    assert ds.source == "sample" and ds.n == ds.total >= 40
    assert len({item.id for item in ds.items}) == ds.n
    for item in ds.items:
        assert item.labels == tuple("ABCDE"[:n]) and len(item.options) == n and all(item.options)
        assert item.question == item.question.strip() != ""
    golds = Counter(item.gold for item in ds.items)
    assert set(golds) == set(range(n)) and max(golds.values()) - min(golds.values()) <= 1
    assert ds.path.endswith(f"medbullets/{dataset_id}.csv")


@pytest.mark.parametrize("dataset_id", IDS)
def test_csv_and_column_json_give_identical_items(tmp_path: Path, dataset_id: str) -> None:
    sample_csv = datasets.SAMPLES_DIR / "medbullets" / f"{dataset_id}.csv"
    write(tmp_path, f"{dataset_id}.json", to_column_json(sample_csv))
    from_json = datasets.load(dataset_id, data_dir=tmp_path)
    assert from_json.path == str(tmp_path / "medbullets" / f"{dataset_id}.json")   # the file actually read
    from_csv = datasets.load(dataset_id)
    assert from_json.items == from_csv.items and from_json.sha256 == from_csv.sha256
    assert datasets.info(dataset_id).relative_path == f"medbullets/{dataset_id}.csv"


def test_csv_is_preferred_when_both_exist(tmp_path: Path) -> None:
    write(tmp_path, "medbullets_op5.csv", csv_text([row("from csv")]))
    write(tmp_path, "medbullets_op5.json", json.dumps({"question": {"0": "from json"}}))
    assert [i.question for i in datasets.info("medbullets_op5").load(tmp_path)] == ["from csv"]


def test_release_csv_multiline_fields_and_columns_by_name(tmp_path: Path) -> None:
    header = "question,answer_idx,opa,opb,opc,opd,link,answer,explanation"   # any column order
    text = csv_text([["Stem,\nquestion?", " B ", "a", "b, c", "d", "e", "x", "b, c", "why"]], header)
    write(tmp_path, "medbullets_op4.csv", text)
    (item,) = datasets.info("medbullets_op4").load(tmp_path)
    assert item.question == "Stem,\nquestion?" and item.options == ("a", "b, c", "d", "e") and item.gold == 1
    assert item.id == "medbullets_op4-0000" and item.labels == ("A", "B", "C", "D")


# row() spans four physical lines (a blank line in the stem, a newline in the explanation): errors name
# the line where the record starts, as the MMLU loader does.
@pytest.mark.parametrize(("text", "line", "key", "needle"), [
    pytest.param(csv_text([row()], HEADER5.replace(",ope", "")), 1, "ope", "missing column", id="op5-without-ope"),
    pytest.param(csv_text([row()], HEADER5.replace("answer_idx", "answer_index")), 1, "answer_idx",
                 "missing column", id="missing-answer-idx"),
    pytest.param(csv_text([row(), row()[:-2]]), 6, None, "expected 10 fields (as in the header), got 8",
                 id="short-row-after-multiline"),
    pytest.param(csv_text([row(answer="F")]), 2, "answer_idx", "answer_idx must be one of A-E, got 'F'",
                 id="answer-F"),
    pytest.param(csv_text([row(answer="3")]), 2, "answer_idx", "got '3'", id="answer-number"),
    pytest.param(csv_text([row(question=" ")]), 2, "question", "empty question", id="empty-question"),
    pytest.param(csv_text([row("one line")]) + '"truncated,', 4, None, "expected 10 fields", id="truncated-line"),
])
def test_malformed_csv_names_file_line_and_column(tmp_path: Path, text: str, line: int, key: str | None,
                                                  needle: str) -> None:
    path = write(tmp_path, "medbullets_op5.csv", text)
    with pytest.raises(DatasetError) as info:
        datasets.load("medbullets_op5", data_dir=tmp_path)
    assert str(info.value).startswith(f"{path}:{line}") and needle in str(info.value)
    assert info.value.line == line and info.value.key == key


def test_op4_rejects_answer_e(tmp_path: Path) -> None:
    header = HEADER5.replace(",ope", "")
    path = write(tmp_path, "medbullets_op4.csv", csv_text([row(n=4), row(answer="E", n=4)], header))
    with pytest.raises(DatasetError, match="answer_idx must be one of A-D, got 'E'") as info:
        datasets.load("medbullets_op4", data_dir=tmp_path)
    assert str(info.value).startswith(f"{path}:6 [answer_idx]")   # records span lines 2-5 and 6-9


def column_json(**changes: object) -> dict:
    table = {"link": {"0": "x", "1": "y"}, "question": {"0": "Q0", "1": "Q1"}, "opa": {"0": "a", "1": "a"},
             "opb": {"0": "b", "1": "b"}, "opc": {"0": "c", "1": "c"}, "opd": {"0": "d", "1": "d"},
             "answer_idx": {"0": "A", "1": "D"}, "answer": {"0": "a", "1": "d"}, "explanation": {"0": None, "1": "e"}}
    table.update(changes)
    return table


def test_column_json_rows_in_numeric_order(tmp_path: Path) -> None:
    table = column_json()
    table = {column: dict(reversed(list(values.items()))) for column, values in table.items()}
    write(tmp_path, "medbullets_op4.json", json.dumps(table))
    items = datasets.info("medbullets_op4").load(tmp_path)
    assert [(i.question, i.gold) for i in items] == [("Q0", 0), ("Q1", 3)]


@pytest.mark.parametrize(("text", "key", "needle"), [
    pytest.param(json.dumps({k: v for k, v in column_json().items() if k != "opc"}), "opc", "missing column",
                 id="missing-column"),
    pytest.param(json.dumps(column_json(opb={"0": "b"})), "opb.1", "row missing from a column", id="missing-row"),
    pytest.param(json.dumps(column_json(answer_idx={"0": "A", "1": "E"})), "answer_idx.1",
                 "answer_idx must be one of A-D, got 'E'", id="answer-E"),
    pytest.param(json.dumps(column_json(opa={"0": None, "1": "a"})), "opa.0", "expected text, got NoneType",
                 id="null-option"),
    pytest.param(json.dumps(column_json(question={"0": "Q0", "x": "Q1"})), "question.x", "row keys must be integers",
                 id="non-integer-row"),
    pytest.param(json.dumps([{"question": "Q0"}]), None, "expected column-oriented JSON", id="records-orient"),
])
def test_malformed_column_json_names_file_and_key(tmp_path: Path, text: str, key: str | None, needle: str) -> None:
    path = write(tmp_path, "medbullets_op4.json", text)
    with pytest.raises(DatasetError) as info:
        datasets.load("medbullets_op4", data_dir=tmp_path)
    assert str(info.value).startswith(str(path)) and needle in str(info.value)
    assert info.value.key == key


def test_invalid_column_json_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "medbullets_op4.json", '{"question": {"0": "Q0",\n "1": }}')
    with pytest.raises(DatasetError, match="invalid JSON") as info:
        datasets.load("medbullets_op4", data_dir=tmp_path)
    assert str(info.value).startswith(f"{path}:2:")


@pytest.mark.parametrize("text", ["", HEADER5 + "\n", HEADER5 + "\n\n"], ids=["empty", "header-only", "blank-rows"])
def test_empty_file_is_an_error(tmp_path: Path, text: str) -> None:
    write(tmp_path, "medbullets_op5.csv", text)
    with pytest.raises(DatasetError, match="missing column|no questions found"):
        datasets.load("medbullets_op5", data_dir=tmp_path)


@pytest.mark.parametrize("dataset_id", IDS)
def test_missing_file_names_both_distributions(tmp_path: Path, dataset_id: str) -> None:
    with pytest.raises(DatasetError) as info:
        datasets.load(dataset_id, data_dir=tmp_path)
    message = str(info.value)
    assert f"<data dir>/medbullets/{dataset_id}.csv" in message
    assert f"<data dir>/medbullets/{dataset_id}.json" in message
    assert "file not found" in message


def test_trailing_empty_columns_and_a_lower_case_answer_are_read(tmp_path: Path) -> None:
    """Some copies of the release end the header and every row with empty columns (`,,,,`)."""
    header = "link,question,opa,opb,opc,opd,answer_idx,answer,explanation"
    rows = [row(n=4, answer="c") + ["", "", "", ""], row("Second?", n=4, answer="A") + ["", "", "", ""]]
    write(tmp_path, "medbullets_op4.csv", csv_text(rows, header + ",,,,"))
    items = datasets.load("medbullets_op4", data_dir=tmp_path).items
    assert sorted(item.gold for item in items) == [0, 2] and all(len(item.options) == 4 for item in items)


def test_available_finds_the_json_form(tmp_path: Path) -> None:
    csv_path = write(tmp_path, "medbullets_op5.csv", csv_text([row()]))
    assert datasets.available("medbullets_op5", tmp_path)
    write(tmp_path, "medbullets_op5.json", to_column_json(csv_path))
    csv_path.unlink()
    assert datasets.available("medbullets_op5", tmp_path)


@pytest.mark.parametrize("column", ["opb", "ope"])
def test_an_empty_option_is_refused_with_its_line_and_column(tmp_path: Path, column: str) -> None:
    """An empty option would be scored as an answer (and could be the gold): refused, not loaded."""
    bad = row()
    bad[HEADER5.split(",").index(column)] = "  "
    path = write(tmp_path, "medbullets_op5.csv", csv_text([row(), bad]))
    with pytest.raises(DatasetError, match="empty option") as info:
        datasets.load("medbullets_op5", data_dir=tmp_path)
    assert str(info.value).startswith(f"{path}:6 [{column}]")


def test_crlf_inside_fields_reads_as_an_lf_copy(tmp_path: Path) -> None:
    """A copy saved with Windows line endings, inside quoted fields too, gives the same items."""
    text = csv_text([row(), row(answer="A")])
    write(tmp_path / "lf", "medbullets_op5.csv", text)
    write(tmp_path / "crlf", "medbullets_op5.csv", text.replace("\n", "\r\n"))
    lf = datasets.info("medbullets_op5").load(tmp_path / "lf")
    crlf = datasets.info("medbullets_op5").load(tmp_path / "crlf")
    assert crlf == lf and "\r" not in lf[0].question and lf[0].question.count("\n") == 2
