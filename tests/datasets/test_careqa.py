"""CareQA loader: bundled sample, the pandas-dumped JSONL with all-NaN rows (counted, skipped, reported)."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.errors import DatasetError

RELATIVE = "careqa/CareQA_en.jsonl"
REAL_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
NAN_ROW = ('{"exam_id": NaN, "question": NaN, "op1": NaN, "op2": NaN, "op3": NaN, "op4": NaN, "cop": NaN, '
           '"year": NaN, "category": NaN, "unique_id": NaN}')


def record(cop: object = 2.0, question: str = "Which drug?", **changes: object) -> dict:
    rec = {"exam_id": 26.0, "question": question, "op1": "Warfarin.", "op2": "Heparin.", "op3": "Aspirin.",
           "op4": "Digoxin.", "cop": cop, "year": 2024.0, "category": "Pharmacology", "unique_id": f"u-{question}"}
    rec.update(changes)
    return rec


def write(root: Path, lines: list[str]) -> Path:
    path = root / RELATIVE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_bundled_sample_loads_skipping_its_nan_rows() -> None:
    with pytest.warns(UserWarning, match=r"skipped 2 row\(s\) that are entirely NaN \(lines 21, 22\)"):
        ds = datasets.load("careqa")
    spec = datasets.info("careqa")
    assert (spec.track, spec.dimension, spec.prompt_style) == ("application", "CDA", "qa")
    assert spec.skipped_rows == 2 and spec.skipped_lines == (21, 22)
    assert ds.source == "sample" and ds.n == ds.total >= 40
    assert len({item.id for item in ds.items}) == ds.n
    for item in ds.items:
        assert item.labels == ("A", "B", "C", "D") and len(item.options) == 4 and all(item.options)
        assert item.question and item.subject
    golds = Counter(item.gold for item in ds.items)
    assert set(golds) == {0, 1, 2, 3} and max(golds.values()) - min(golds.values()) <= 1


def test_nan_rows_are_counted_skipped_and_reported(tmp_path: Path) -> None:
    path = write(tmp_path, [json.dumps(record(1.0, "Q1")), NAN_ROW, "", NAN_ROW, json.dumps(record(4.0, "Q2"))])
    with pytest.warns(UserWarning) as caught:
        items = datasets.info("careqa").load(tmp_path)
    message = str(caught[0].message)
    assert str(path) in message and "lines 2, 4" in message and "not scored" in message
    assert [i.id for i in items] == ["u-Q1", "u-Q2"] and [i.gold for i in items] == [0, 3]
    assert items[0].subject == "Pharmacology" and items[0].options[0] == "Warfarin."
    spec = datasets.info("careqa")
    assert spec.skipped_rows == 2 and spec.skipped_lines == (2, 4)


def test_clean_file_resets_the_count_and_stays_quiet(tmp_path: Path) -> None:
    write(tmp_path, [json.dumps(record(3, "Q1"))])        # an int cop is accepted too
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        items = datasets.info("careqa").load(tmp_path)
    assert items[0].gold == 2
    assert datasets.info("careqa").skipped_rows == 0 and datasets.info("careqa").skipped_lines == ()


def test_file_of_only_nan_rows_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, [NAN_ROW, NAN_ROW])
    with pytest.raises(DatasetError, match=r"no questions found \(2 all-NaN rows\)"):
        datasets.load("careqa", data_dir=tmp_path)


def test_missing_unique_id_numbers_items(tmp_path: Path) -> None:
    write(tmp_path, [json.dumps(record(unique_id=float("nan"))), json.dumps({**record(), "unique_id": None})])
    assert [i.id for i in datasets.info("careqa").load(tmp_path)] == ["careqa-00000", "careqa-00001"]


BAD_LINES = [
    pytest.param('{"exam_id": 1.0, "question": "Q", "op1": "a", "op2', None, "invalid JSON", id="truncated-line"),
    pytest.param(json.dumps(record(question=float("nan"))), "question", "NaN in a row that is not entirely NaN",
                 id="partial-nan"),
    pytest.param(json.dumps({k: v for k, v in record().items() if k != "op3"}), "op3", "missing key",
                 id="missing-op3"),
    pytest.param(json.dumps({k: v for k, v in record().items() if k != "cop"}), "cop", "missing key",
                 id="missing-cop"),
    pytest.param(json.dumps(record(5.0)), "cop", "cop must be an option number 1-4, got 5.0", id="cop-5"),
    pytest.param(json.dumps(record(0.0)), "cop", "got 0.0", id="cop-0"),
    pytest.param(json.dumps(record(2.5)), "cop", "got 2.5", id="cop-fraction"),
    pytest.param(json.dumps(record("B")), "cop", "got 'B'", id="cop-letter"),
    pytest.param(json.dumps(record(op2=None)), "op2", "expected text", id="option-null"),
    pytest.param("[1, 2]", None, "expected a JSON object", id="not-an-object"),
]


@pytest.mark.parametrize(("bad", "key", "needle"), BAD_LINES)
def test_malformed_line_names_file_line_and_key(tmp_path: Path, bad: str, key: str | None, needle: str) -> None:
    path = write(tmp_path, [json.dumps(record(question="Q1")), NAN_ROW, bad])
    with pytest.raises(DatasetError) as info:
        datasets.load("careqa", data_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}:3") and needle in message
    assert info.value.line == 3 and info.value.key == key


def test_duplicate_unique_id_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, [json.dumps(record()), json.dumps(record())])
    with pytest.raises(DatasetError, match="duplicate unique_id") as info:
        datasets.load("careqa", data_dir=tmp_path)
    assert str(info.value).startswith(f"{path}:2 [unique_id]")


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, [""])
    with pytest.raises(DatasetError, match="no questions found"):
        datasets.load("careqa", data_dir=tmp_path)


def test_missing_file_names_expected_relative_path(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        datasets.load("careqa", data_dir=tmp_path)
    assert f"<data dir>/{RELATIVE}" in str(info.value) and "file not found" in str(info.value)


@pytest.mark.skipif(not (REAL_DATA / RELATIVE).is_file(), reason=f"no real CareQA file in {REAL_DATA}")
def test_real_careqa_scores_5621_and_skips_2_nan_rows() -> None:
    with pytest.warns(UserWarning, match="skipped 2 row"):
        ds = datasets.load("careqa", data_dir=REAL_DATA)
    assert ds.source == "real" and ds.n == ds.total == 5621
    assert len({i.id for i in ds.items}) == ds.n
    assert datasets.info("careqa").skipped_rows == 2
    assert {i.gold for i in ds.items} == {0, 1, 2, 3}
