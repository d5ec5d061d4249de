"""MedXpertQA Text loader: split by question_type, "Answer Choices:" tail cut, 10 options, line-precise errors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.datasets.medxpertqa import stem
from medcheck.errors import DatasetError
from medcheck.prompts import requests_for

RELATIVE = "medxpertqa/Text/test.jsonl"
REAL_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
J10 = tuple("ABCDEFGHIJ")
IDS = ["medxpertqa_reasoning", "medxpertqa_understanding"]


def record(n: int, question_type: str = "Reasoning", label: str = "C", **changes: object) -> dict:
    options = {letter: f"Option {letter}" for letter in J10}
    choices = " ".join(f"({k}) {v}" for k, v in options.items())
    rec = {"id": f"Text-{n}", "question": f"A 40-year-old has X. What next?\nAnswer Choices: {choices}",
           "options": options, "label": label, "question_type": question_type}
    rec.update(changes)
    return rec


def write(root: Path, records: list[object]) -> Path:
    path = root / RELATIVE
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("dataset_id", IDS)
def test_bundled_sample_loads_with_balanced_labels(dataset_id: str) -> None:
    ds = datasets.load(dataset_id)
    spec = datasets.info(dataset_id)
    assert (spec.track, spec.dimension, spec.prompt_style) == ("application", "EUR", "qa")
    assert ds.source == "sample" and ds.n == ds.total >= 30 and ds.path.endswith(RELATIVE)
    assert len({item.id for item in ds.items}) == ds.n
    for item in ds.items:
        assert item.labels == J10 and len(set(item.options)) == 10
        assert "Answer Choices" not in item.question and "(A)" not in item.question
        assert item.question == item.question.strip() != ""
    golds = Counter(item.gold for item in ds.items)
    assert set(golds) == set(range(10)) and max(golds.values()) - min(golds.values()) <= 1


def test_the_two_splits_partition_the_file() -> None:
    reasoning, understanding = (datasets.load(d) for d in IDS)
    assert not {i.id for i in reasoning.items} & {i.id for i in understanding.items}
    lines = (datasets.SAMPLES_DIR / RELATIVE).read_text(encoding="utf-8").splitlines()
    assert reasoning.n + understanding.n == len(lines)


@pytest.mark.parametrize(("question", "expected"), [
    ("Stem text.\nAnswer Choices: (A) x (B) y", "Stem text."),
    ("Stem mentions Answer Choices: once.\nAnswer Choices: (A) x", "Stem mentions Answer Choices: once."),
    ("  No inline list here.  ", "No inline list here."),
    ("Answer Choices: (A) x", ""),
])
def test_stem_cuts_the_answer_choices_tail(question: str, expected: str) -> None:
    assert stem(question) == expected


def test_release_format_splits_by_question_type(tmp_path: Path) -> None:
    write(tmp_path, [record(0, label="A"), record(1, "Understanding", "J"), "", record(2, label="E")])
    reasoning = datasets.info("medxpertqa_reasoning").load(tmp_path)
    understanding = datasets.info("medxpertqa_understanding").load(tmp_path)
    assert [i.id for i in reasoning] == ["Text-0", "Text-2"] and [i.gold for i in reasoning] == [0, 4]
    assert [(i.id, i.gold) for i in understanding] == [("Text-1", 9)]
    assert reasoning[0].question == "A 40-year-old has X. What next?"
    assert reasoning[0].options == tuple(f"Option {x}" for x in J10) and reasoning[0].labels == J10


def test_options_mapping_is_the_authority_over_the_inline_list(tmp_path: Path) -> None:
    rec = record(0)
    rec["question"] = rec["question"].replace("(H) Option H", "(H) Something else")
    write(tmp_path, [rec])
    (item,) = datasets.info("medxpertqa_reasoning").load(tmp_path)
    assert item.options[7] == "Option H" and "Something else" not in item.question


def test_ten_options_in_the_letter_prompt_shown_once(tmp_path: Path) -> None:
    write(tmp_path, [record(0)])
    (item,) = datasets.info("medxpertqa_reasoning").load(tmp_path)
    requests = requests_for(item, "letter", "qa")
    assert [r.continuation for r in requests] == [f" {x}" for x in J10]
    assert requests[0].context.count("Option J") == 1 and requests[0].context.endswith("J. Option J\nAnswer:")


BAD = [
    pytest.param('{"id": "Text-9", "question": "Q", "opt', None, "invalid JSON", id="truncated-line"),
    pytest.param({k: v for k, v in record(9).items() if k != "label"}, "label", "missing key", id="missing-label"),
    pytest.param({k: v for k, v in record(9).items() if k != "question_type"}, "question_type", "missing key",
                 id="missing-type"),
    pytest.param(record(9, "Recall"), "question_type", "must be Reasoning or Understanding, got 'Recall'",
                 id="unknown-type"),
    pytest.param(record(9, label="K"), "label", "label must be one of A-J, got 'K'", id="label-K"),
    pytest.param(record(9, label=2), "label", "got 2", id="label-int"),
    pytest.param(record(9, options={"A": "x", "B": "y", "D": "z"}), "options", "no gaps", id="letter-gap"),
    pytest.param(record(9, options=["x", "y"]), "options", "must map the letters", id="options-list"),
    pytest.param(record(9, options={"A": "x", "B": None}, label="A"), "options", "must be text", id="null-option"),
    pytest.param(record(9, question="Answer Choices: (A) x"), "question", "stem before", id="no-stem"),
]


@pytest.mark.parametrize(("bad", "key", "needle"), BAD)
@pytest.mark.parametrize("dataset_id", IDS)
def test_malformed_line_names_file_line_and_key(tmp_path: Path, dataset_id: str, bad: object, key: str | None,
                                                needle: str) -> None:
    # every line is checked, whichever split is being loaded
    path = write(tmp_path, [record(0), record(1, "Understanding"), bad])
    with pytest.raises(DatasetError) as info:
        datasets.load(dataset_id, data_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}:3") and needle in message
    assert info.value.line == 3 and info.value.key == key


def test_duplicate_id_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, [record(0), record(0, "Understanding")])
    with pytest.raises(DatasetError, match=r"duplicate id \(first on line 1\)") as info:
        datasets.load("medxpertqa_reasoning", data_dir=tmp_path)
    assert str(info.value).startswith(f"{path}:2 [id]")


def test_a_split_without_items_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, [record(0), record(1)])
    with pytest.raises(DatasetError, match="no Understanding questions found"):
        datasets.load("medxpertqa_understanding", data_dir=tmp_path)


def test_missing_file_names_expected_relative_path(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        datasets.load("medxpertqa_reasoning", data_dir=tmp_path)
    assert f"<data dir>/{RELATIVE}" in str(info.value) and "file not found" in str(info.value)


@pytest.mark.skipif(not (REAL_DATA / RELATIVE).is_file(), reason=f"no real MedXpertQA Text file in {REAL_DATA}")
@pytest.mark.parametrize(("dataset_id", "size"), [("medxpertqa_reasoning", 1861), ("medxpertqa_understanding", 589)])
def test_real_medxpertqa_split_sizes(dataset_id: str, size: int) -> None:
    ds = datasets.load(dataset_id, data_dir=REAL_DATA)
    assert ds.source == "real" and ds.n == ds.total == size
    assert len({i.id for i in ds.items}) == ds.n
    assert all(i.labels == J10 and "Answer Choices:" not in i.question for i in ds.items)
    assert {i.gold for i in ds.items} == set(range(10))
