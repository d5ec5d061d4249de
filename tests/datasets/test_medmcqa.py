"""MedMCQA loader: bundled sample, dev.json JSON lines, cop 1-4 vs 0-3 detection, line-precise errors."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.datasets.medmcqa import cop_base
from medcheck.errors import DatasetError

RELATIVE = "medmcqa/dev.json"
REAL_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def record(cop: object = 3, question: str = " Drug of choice? ", **changes: object) -> dict:
    rec = {"id": f"id-{str(question).strip()}-{cop}", "question": question, "opa": "Aspirin", "opb": "Heparin",
           "opc": "Warfarin", "opd": "Digoxin", "cop": cop, "choice_type": "single", "exp": None,
           "subject_name": "Pharmacology", "topic_name": None}
    rec.update(changes)
    return rec


def write(root: Path, lines: list[str]) -> Path:
    path = root / RELATIVE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def dumps(*records: dict) -> list[str]:
    return [json.dumps(r) for r in records]


def test_bundled_sample_loads_with_balanced_labels() -> None:
    ds = datasets.load("medmcqa")
    spec = datasets.info("medmcqa")
    assert (spec.track, spec.dimension, spec.prompt_style) == ("application", "CDA", "qa")
    assert ds.source == "sample" and ds.n == ds.total >= 40
    assert len({item.id for item in ds.items}) == ds.n
    for item in ds.items:
        assert item.labels == ("A", "B", "C", "D") and len(item.options) == 4 and all(item.options)
        assert item.question == item.question.strip() != "" and item.subject
    golds = Counter(item.gold for item in ds.items)
    assert set(golds) == {0, 1, 2, 3} and max(golds.values()) - min(golds.values()) <= 1
    assert spec.cop_base == 1 and "official" in spec.cop_note
    assert ds.path.endswith(RELATIVE)


def test_official_numbering_1_to_4(tmp_path: Path) -> None:
    write(tmp_path, dumps(record(1, "Q1"), record(4, "Q2"), record(2.0, "Q3")))   # 2.0: a pandas-style float
    items = datasets.info("medmcqa").load(tmp_path)
    assert [i.gold for i in items] == [0, 3, 1]
    assert [i.id for i in items] == ["id-Q1-1", "id-Q2-4", "id-Q3-2.0"]
    assert items[0].question == "Q1" and items[0].options == ("Aspirin", "Heparin", "Warfarin", "Digoxin")
    assert items[0].subject == "Pharmacology"
    spec = datasets.info("medmcqa")
    assert spec.cop_base == 1 and spec.cop_note == "cop numbered 1-4 (official release): a 4 was seen"


def test_hugging_face_numbering_0_to_3(tmp_path: Path) -> None:
    write(tmp_path, dumps(record(0, "Q1"), record(3, "Q2"), record(1, "Q3")))
    items = datasets.info("medmcqa").load(tmp_path)
    assert [i.gold for i in items] == [0, 3, 1]
    spec = datasets.info("medmcqa")
    assert spec.cop_base == 0 and "0-3 (Hugging Face copy)" in spec.cop_note


def test_only_1_to_3_assumes_official_numbering_and_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, dumps(record(1, "Q1"), record(3, "Q2")))
    with pytest.warns(UserWarning, match="assumed") as caught:
        items = datasets.info("medmcqa").load(tmp_path)
    assert str(path) in str(caught[0].message)
    assert [i.gold for i in items] == [0, 2]
    assert datasets.info("medmcqa").cop_base == 1 and "assumed" in datasets.info("medmcqa").cop_note


def test_no_warning_when_numbering_is_evident(tmp_path: Path) -> None:
    write(tmp_path, dumps(record(4, "Q1")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        datasets.info("medmcqa").load(tmp_path)


def test_both_0_and_4_is_an_error_naming_lines(tmp_path: Path) -> None:
    path = write(tmp_path, dumps(record(2, "Q1"), record(0, "Q2"), record(1, "Q3"), record(4, "Q4")))
    with pytest.raises(DatasetError) as info:
        datasets.load("medmcqa", data_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}:4 [cop]:") and "cop 0 (line 2) and cop 4 (line 4)" in message
    assert datasets.info("medmcqa").cop_base is None   # a failed load leaves no stale decision


@pytest.mark.parametrize(("cops", "expected"), [
    ({0, 1, 2, 3}, (0, False)), ({1, 2, 3, 4}, (1, False)), ({0}, (0, False)), ({4}, (1, False)),
    ({1, 2, 3}, (1, True)), ({2}, (1, True)), ({0, 4}, None),
])
def test_cop_base(cops: set[int], expected: tuple[int, bool] | None) -> None:
    assert cop_base(cops) == expected


def test_missing_id_numbers_items(tmp_path: Path) -> None:
    write(tmp_path, dumps({k: v for k, v in record(4).items() if k != "id"}, record(1, "Q2", id=None)))
    assert [i.id for i in datasets.info("medmcqa").load(tmp_path)] == ["medmcqa-00000", "medmcqa-00001"]


BAD_LINES = [
    pytest.param('{"question": "Q", "opa": "x", "opb', None, "invalid JSON", id="truncated-line"),
    pytest.param(json.dumps(["Q", "a"]), None, "expected a JSON object", id="not-an-object"),
    pytest.param(json.dumps({k: v for k, v in record().items() if k != "opc"}), "opc", "missing key", id="missing-opc"),
    pytest.param(json.dumps({k: v for k, v in record().items() if k != "cop"}), "cop", "missing key", id="missing-cop"),
    pytest.param(json.dumps(record(5)), "cop", "cop must be an option number 0-4, got 5", id="cop-5"),
    pytest.param(json.dumps(record("2")), "cop", "got '2'", id="cop-string"),
    pytest.param(json.dumps(record(True)), "cop", "got True", id="cop-bool"),
    pytest.param(json.dumps(record(2.5)), "cop", "got 2.5", id="cop-fraction"),
    pytest.param(json.dumps(record(opb=None)), "opb", "expected text, got NoneType", id="option-null"),
    pytest.param(json.dumps(record(question=7)), "question", "expected text, got int", id="question-int"),
]


@pytest.mark.parametrize(("bad", "key", "needle"), BAD_LINES)
def test_malformed_line_names_file_line_and_key(tmp_path: Path, bad: str, key: str | None, needle: str) -> None:
    path = write(tmp_path, [json.dumps(record(4, "Q1")), "", bad])
    with pytest.raises(DatasetError) as info:
        datasets.load("medmcqa", data_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}:3") and needle in message
    assert info.value.line == 3 and info.value.key == key


def test_duplicate_id_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, dumps(record(4, "Q1"), record(4, "Q1")))
    with pytest.raises(DatasetError, match=r"duplicate id \(first on line 1\)") as info:
        datasets.load("medmcqa", data_dir=tmp_path)
    assert str(info.value).startswith(f"{path}:2 [id]")


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, ["", "  "])
    with pytest.raises(DatasetError, match="no questions found"):
        datasets.load("medmcqa", data_dir=tmp_path)


def test_missing_file_names_expected_relative_path(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        datasets.load("medmcqa", data_dir=tmp_path)
    assert f"<data dir>/{RELATIVE}" in str(info.value) and "file not found" in str(info.value)


@pytest.mark.skipif(not (REAL_DATA / RELATIVE).is_file(), reason=f"no real MedMCQA dev.json in {REAL_DATA}")
def test_real_medmcqa_dev_split() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # the real file shows a 4: no assumption, no warning
        ds = datasets.load("medmcqa", data_dir=REAL_DATA)
    assert ds.source == "real" and ds.n == ds.total == 4183
    assert len({i.id for i in ds.items}) == ds.n
    assert datasets.info("medmcqa").cop_base == 1
    assert {i.gold for i in ds.items} == {0, 1, 2, 3}
