"""MedQA loader: bundled sample, the release JSONL (both folder levels), line-precise errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.errors import DatasetError

RELATIVE = "medqa/questions/US/4_options/phrases_no_exclude_test.jsonl"
ZIP_LEVEL = "medqa/data_clean/questions/US/4_options/phrases_no_exclude_test.jsonl"


def record(question: str = "  Which drug?  ", answer_idx: str = "C", **changes) -> dict:
    options = {"A": "Aspirin", "B": "Heparin", "C": "Warfarin", "D": "Digoxin"}
    rec = {"question": question, "answer": options.get(answer_idx, "?"), "options": options,
           "meta_info": "step1", "answer_idx": answer_idx, "metamap_phrases": ["drug"]}
    rec.update(changes)
    return rec


def write(root: Path, lines: list[str], relative: str = RELATIVE) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_bundled_sample_loads() -> None:
    ds = datasets.load("medqa")
    assert ds.source == "sample" and ds.n == ds.total >= 40
    ids = [item.id for item in ds.items]
    assert len(set(ids)) == len(ids) and all(i.startswith("medqa-") for i in ids)
    for item in ds.items:
        assert item.labels == ("A", "B", "C", "D") and 0 <= item.gold < 4
        assert item.question == item.question.strip() != ""
        assert len(item.options) == 4 and all(item.options)
    assert {item.gold for item in ds.items} == {0, 1, 2, 3}
    assert ds.path.endswith(RELATIVE)


@pytest.mark.parametrize("relative", [RELATIVE, ZIP_LEVEL], ids=["questions", "data_clean"])
def test_release_format(tmp_path: Path, relative: str) -> None:
    write(tmp_path, [json.dumps(record()), json.dumps(record("Q2", "A"))], relative)
    items = datasets.info("medqa").load(tmp_path)
    assert [i.id for i in items] == ["medqa-00000", "medqa-00001"]
    assert items[0].question == "Which drug?"
    assert items[0].options == ("Aspirin", "Heparin", "Warfarin", "Digoxin")
    assert [i.gold for i in items] == [2, 0]
    ds = datasets.load("medqa", data_dir=tmp_path)
    assert ds.source == "real" and ds.n == 2 and ds.path.endswith(relative)
    # the free-text variant (biomedical NLP track) is found in either layout
    assert datasets.available("medqa", tmp_path) and datasets.available("medqa_gen", tmp_path)


def test_data_clean_level_is_preferred_when_both_exist(tmp_path: Path) -> None:
    write(tmp_path, [json.dumps(record("top level"))], RELATIVE)
    write(tmp_path, [json.dumps(record("zip level"))], ZIP_LEVEL)
    assert [i.question for i in datasets.info("medqa").load(tmp_path)] == ["zip level"]


def test_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    path = write(tmp_path, [json.dumps(record()), "", "   ", json.dumps(record(answer_idx="E"))])
    with pytest.raises(DatasetError) as info:
        datasets.load("medqa", data_dir=tmp_path)
    assert str(info.value).startswith(f"{path}:4")


BAD_LINES = [
    pytest.param('{"question": "Q", "options": {', None, "invalid JSON", id="invalid-json"),
    pytest.param(json.dumps({k: v for k, v in record().items() if k != "question"}), "question",
                 "missing key", id="missing-question"),
    pytest.param(json.dumps({k: v for k, v in record().items() if k != "answer_idx"}), "answer_idx",
                 "missing key", id="missing-answer-idx"),
    pytest.param(json.dumps(record(answer_idx="E")), "answer_idx", "answer_idx must be A-D, got 'E'",
                 id="answer-idx-E"),
    pytest.param(json.dumps(record(answer_idx="a")), "answer_idx", "answer_idx must be A-D", id="answer-idx-lower"),
    pytest.param(json.dumps(record(answer_idx=2)), "answer_idx", "answer_idx must be A-D", id="answer-idx-int"),
    pytest.param(json.dumps(record(options={"A": "x", "B": "y", "C": "z"})), "options", "options must have keys A-D",
                 id="three-options"),
    pytest.param(json.dumps(record(options=["x", "y", "z", "w"])), "options", "options must have keys A-D",
                 id="options-list"),
    pytest.param(json.dumps(record(answer="Digoxin")), "answer", "answer text differs", id="answer-mismatch"),
]


@pytest.mark.parametrize(("bad", "key", "needle"), BAD_LINES)
def test_malformed_line_names_file_line_and_key(tmp_path: Path, bad: str, key: str | None, needle: str) -> None:
    path = write(tmp_path, [json.dumps(record()), json.dumps(record("Q2")), bad])
    with pytest.raises(DatasetError) as info:
        datasets.load("medqa", data_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}:3")
    assert needle in message
    assert info.value.line == 3
    if key is not None:
        assert f"[{key}]" in message and info.value.key == key


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, ["", ""])
    with pytest.raises(DatasetError, match="no questions found"):
        datasets.load("medqa", data_dir=tmp_path)


def test_missing_file_names_expected_relative_path(tmp_path: Path) -> None:
    (tmp_path / "medqa").mkdir()
    with pytest.raises(DatasetError) as info:
        datasets.load("medqa", data_dir=tmp_path)
    message = str(info.value)
    assert f"<data dir>/{RELATIVE}" in message and "file not found" in message
    assert str(tmp_path / RELATIVE) in message
