"""MMLU loader: bundled samples, the release CSV format, and errors that name file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.datasets import MMLU_IDS
from medcheck.errors import DatasetError

# A record with a quoted comma, then one whose question spans two physical lines (1-2 and 2-3).
RELEASE_CSV = (
    '"Which nerve, if cut, paralyses the deltoid?",Radial,Axillary,Ulnar,Median,B\n'
    '"First line of the stem\nsecond line?",alpha,"beta, gamma",delta,epsilon,D\n'
    "Plain question?,w,x,y,z,A\n"
)


def write_csv(root: Path, text: str, subject: str = "anatomy") -> Path:
    path = root / "mmlu" / "test" / f"{subject}_test.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize("dataset_id", MMLU_IDS)
def test_bundled_sample_loads(dataset_id: str) -> None:
    ds = datasets.load(dataset_id)
    assert ds.source == "sample"
    assert ds.n == ds.total >= 40
    ids = [item.id for item in ds.items]
    assert len(set(ids)) == len(ids)
    subject = dataset_id.removeprefix("mmlu_").replace("_", " ")
    for item in ds.items:
        assert item.labels == ("A", "B", "C", "D")
        assert 0 <= item.gold < 4
        assert item.subject == subject
        assert item.question and item.question == item.question.strip()
        assert len(item.options) == 4 and all(isinstance(o, str) and o for o in item.options)
    # every answer letter is used: a sample skewed to one letter would hide a degenerate model
    assert {item.gold for item in ds.items} == {0, 1, 2, 3}
    assert ds.path.endswith(f"mmlu/test/{dataset_id.removeprefix('mmlu_')}_test.csv")


def test_release_format_quoted_comma_and_newline(tmp_path: Path) -> None:
    write_csv(tmp_path, RELEASE_CSV)
    items = datasets.info("mmlu_anatomy").load(tmp_path)   # file order
    assert [i.id for i in items] == ["anatomy-0000", "anatomy-0001", "anatomy-0002"]
    assert items[0].question == "Which nerve, if cut, paralyses the deltoid?"
    assert items[0].options == ("Radial", "Axillary", "Ulnar", "Median") and items[0].gold == 1
    assert items[1].question == "First line of the stem\nsecond line?"
    assert items[1].options[1] == "beta, gamma" and items[1].gold == 3
    assert items[2].gold == 0 and items[2].subject == "anatomy"


def test_release_file_via_data_dir(tmp_path: Path) -> None:
    write_csv(tmp_path, RELEASE_CSV)
    ds = datasets.load("mmlu_anatomy", data_dir=tmp_path)
    assert ds.source == "real" and ds.n == ds.total == 3
    assert ds.path == str(tmp_path / "mmlu/test/anatomy_test.csv")
    assert {i.question for i in ds.items} >= {"First line of the stem\nsecond line?"}


def test_crlf_answer_whitespace_and_blank_lines(tmp_path: Path) -> None:
    write_csv(tmp_path, "Q1?,a,b,c,d,C\r\n\r\nQ2?,a,b,c,d, A \r\n")
    items = datasets.info("mmlu_anatomy").load(tmp_path)
    assert [i.gold for i in items] == [2, 0]
    assert items[0].options == ("a", "b", "c", "d")


@pytest.mark.parametrize(("text", "line", "needle"), [
    # the multi-line record ends on physical line 2, so the bad record is on line 3
    ('"Q\nstill Q",a,b,c,d,A\nQ2?,a,b,c,A\n', 3, "expected 6 fields, got 5"),
    # a bad record spanning lines 2-3 is named by its first line
    ('Q1?,a,b,c,d,A\n"Q2\nstill Q2",a,b,c,A\n', 2, "expected 6 fields, got 5"),
    ("Q1?,a,b,c,d,A\nQ2?,a,b,c,d,e,A\n", 2, "expected 6 fields, got 7"),
    ("Q1?,a,b,c,d,A\nQ2?,a,b,c,d,E\n", 2, "answer must be one of A-D, got 'E'"),
    ("Q1?,a,b,c,d,b\n", 1, "answer must be one of A-D, got 'b'"),
    ("question,A,B,C,D,answer\nQ1?,a,b,c,d,A\n", 1, "answer must be one of A-D"),   # a header row
])
def test_malformed_rows_name_file_and_line(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = write_csv(tmp_path, text)
    with pytest.raises(DatasetError) as info:
        datasets.load("mmlu_anatomy", data_dir=tmp_path)
    message = str(info.value)
    assert f"{path}:{line}:" in message
    assert needle in message
    assert info.value.line == line and info.value.path == path


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "\n\n")
    with pytest.raises(DatasetError, match="no questions found") as info:
        datasets.load("mmlu_anatomy", data_dir=tmp_path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("dataset_id", MMLU_IDS)
def test_missing_file_names_expected_relative_path(tmp_path: Path, dataset_id: str) -> None:
    subject = dataset_id.removeprefix("mmlu_")
    write_csv(tmp_path, RELEASE_CSV, subject="some_other_subject")
    with pytest.raises(DatasetError) as info:
        datasets.load(dataset_id, data_dir=tmp_path)
    message = str(info.value)
    assert f"<data dir>/mmlu/test/{subject}_test.csv" in message
    assert "file not found" in message and dataset_id in message
