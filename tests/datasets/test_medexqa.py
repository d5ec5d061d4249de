"""MedExQA loader: bundled samples, the release TSV (8 columns, CSV-quoted fields), line-precise errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.datasets.medexqa import SPECIALTIES
from medcheck.errors import DatasetError

IDS = [f"medexqa_{s}" for s in SPECIALTIES]
REAL_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
REAL_SIZES = {"biomedical_engineer": 143, "clinical_laboratory_scientist": 372, "clinical_psychologist": 106,
              "occupational_therapist": 189, "speech_pathologist": 130}


def row(question: str = "Which unit?", answer: str = "B", options: tuple[str, ...] = ("volt", "gray", "ohm", "hertz"),
        explanations: tuple[str, str] = ("One.", "Two.")) -> str:
    return "\t".join((question, *options, *explanations, answer))


def write(root: Path, text: str, specialty: str = "speech_pathologist") -> Path:
    path = root / "medexqa" / "test" / f"{specialty}_test.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize("dataset_id", IDS)
def test_bundled_sample_loads_with_balanced_labels(dataset_id: str) -> None:
    ds = datasets.load(dataset_id)
    spec = datasets.info(dataset_id)
    assert (spec.track, spec.dimension, spec.prompt_style) == ("application", "AME", "qa")
    assert ds.source == "sample" and ds.n == ds.total >= 40
    assert len({item.id for item in ds.items}) == ds.n
    for item in ds.items:
        assert item.labels == ("A", "B", "C", "D") and len(item.options) == 4 and all(item.options)
        assert item.question == item.question.strip() != ""
    golds = Counter(item.gold for item in ds.items)
    assert set(golds) == {0, 1, 2, 3} and max(golds.values()) - min(golds.values()) <= 1
    assert ds.path.endswith(f"medexqa/test/{dataset_id.removeprefix('medexqa_')}_test.tsv")


def test_release_format_with_quoted_explanations(tmp_path: Path) -> None:
    quoted = '"The ratio is 10/6, so the answer is ""1.67""."'       # pandas quotes a field holding quotes
    text = (row("Q1?", "B") + "\n"
            + "\t".join(("Q2?", "1.67", "0.50", "1.33", "1.50", quoted, "Plain.", "A")) + "\n"
            + row("  Q3?  ", " D ") + "\n\n")
    write(tmp_path, text)
    items = datasets.info("medexqa_speech_pathologist").load(tmp_path)   # file order
    assert [i.id for i in items] == ["speech_pathologist-0000", "speech_pathologist-0001", "speech_pathologist-0002"]
    assert [i.gold for i in items] == [1, 0, 3]
    assert items[1].options == ("1.67", "0.50", "1.33", "1.50")
    assert items[2].question == "Q3?" and items[0].subject == "speech pathologist"
    ds = datasets.load("medexqa_speech_pathologist", data_dir=tmp_path)
    assert ds.source == "real" and ds.n == 3


@pytest.mark.parametrize(("text", "line", "needle"), [
    pytest.param(row() + "\n" + "\t".join(["Q?", "a", "b", "c", "d", "e1", "B"]) + "\n", 2,
                 "expected 8 tab-separated fields, got 7", id="seven-columns"),
    pytest.param(row() + "\n" + row() + "\textra\n", 2, "expected 8 tab-separated fields, got 9", id="nine-columns"),
    pytest.param(row() + "\n" + "Which unit?\tvolt\tgray\n", 2, "got 3", id="truncated-line"),
    pytest.param(row() + "\n" + row(answer="E") + "\n", 2, "answer (column 8) must be one of A-D, got 'E'",
                 id="answer-E"),
    pytest.param(row(answer="b") + "\n", 1, "must be one of A-D, got 'b'", id="answer-lowercase"),
    pytest.param(row(answer="") + "\n", 1, "must be one of A-D, got ''", id="answer-empty"),
    pytest.param(row(question="  ") + "\n", 1, "empty question", id="empty-question"),
])
def test_malformed_rows_name_file_and_line(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DatasetError) as info:
        datasets.load("medexqa_speech_pathologist", data_dir=tmp_path)
    assert str(info.value).startswith(f"{path}:{line}:")
    assert needle in str(info.value)
    assert info.value.line == line and info.value.path == path


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "\n\n")
    with pytest.raises(DatasetError, match="no questions found") as info:
        datasets.load("medexqa_speech_pathologist", data_dir=tmp_path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("dataset_id", IDS)
def test_missing_file_names_expected_relative_path(tmp_path: Path, dataset_id: str) -> None:
    with pytest.raises(DatasetError) as info:
        datasets.load(dataset_id, data_dir=tmp_path)
    specialty = dataset_id.removeprefix("medexqa_")
    assert f"<data dir>/medexqa/test/{specialty}_test.tsv" in str(info.value)
    assert "file not found" in str(info.value) and dataset_id in str(info.value)


@pytest.mark.skipif(not (REAL_DATA / "medexqa").is_dir(), reason=f"no real MedExQA release files in {REAL_DATA}")
@pytest.mark.parametrize("specialty", sorted(REAL_SIZES))
def test_real_medexqa_test_sizes(specialty: str) -> None:
    ds = datasets.load(f"medexqa_{specialty}", data_dir=REAL_DATA)
    assert ds.source == "real" and ds.n == ds.total == REAL_SIZES[specialty]
    assert len({i.id for i in ds.items}) == ds.n
    assert {i.gold for i in ds.items} == {0, 1, 2, 3}
