"""JMED loader (assumed JSONL layout, up to 21 options A..U), and 21 options through prompts and scoring."""

from __future__ import annotations

import json
import string
from collections import Counter
from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.backends import LogLik
from medcheck.errors import DatasetError
from medcheck.prompts import Request, requests_for
from medcheck.scoring.choice import score_item

RELATIVE = "jmed/JMED.jsonl"
REAL_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
U21 = tuple(string.ascii_uppercase[:21])


def record(n: int = 21, answer: str = "U", **changes: object) -> dict:
    rec = {"question": " Fever and a stiff neck. Most likely diagnosis? ",
           "options": {letter: f"Diagnosis {letter}" for letter in U21[:n]}, "answer": answer}
    rec.update(changes)
    return rec


def write(root: Path, records: list[object]) -> Path:
    path = root / RELATIVE
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_bundled_sample_loads_with_21_options_and_every_letter_used() -> None:
    ds = datasets.load("jmed")
    spec = datasets.info("jmed")
    assert (spec.track, spec.dimension, spec.prompt_style) == ("application", "CDA", "qa")
    assert ds.source == "sample" and ds.n == ds.total >= 40
    assert len({item.id for item in ds.items}) == ds.n
    full = [item for item in ds.items if len(item.options) == 21]
    assert len(full) >= 40 and all(item.labels == U21 for item in full)
    for item in ds.items:
        assert item.labels == U21[:len(item.options)] and len(set(item.options)) == len(item.options)
        assert item.question == item.question.strip() != ""
    golds = Counter(item.labels[item.gold] for item in ds.items)
    assert set(golds) == set(U21) and max(golds.values()) <= 3      # balanced over A..U


def test_release_format_variable_option_counts(tmp_path: Path) -> None:
    write(tmp_path, [record(), record(4, "B"), record(10, "J", id=77), record(21, "A", id="case-9")])
    items = datasets.info("jmed").load(tmp_path)
    assert [i.id for i in items] == ["jmed-00000", "jmed-00001", "77", "case-9"]
    assert [len(i.options) for i in items] == [21, 4, 10, 21]
    assert [i.labels[i.gold] for i in items] == ["U", "B", "J", "A"]
    assert items[0].options[-1] == "Diagnosis U"
    assert items[0].question == "Fever and a stiff neck. Most likely diagnosis?"
    assert datasets.load("jmed", data_dir=tmp_path).source == "real"


def test_answer_idx_is_accepted_and_wins(tmp_path: Path) -> None:
    no_answer = {k: v for k, v in record().items() if k != "answer"}
    write(tmp_path, [{**no_answer, "answer_idx": "C"}, record(answer="Diagnosis U", answer_idx="D")])
    assert [i.gold for i in datasets.info("jmed").load(tmp_path)] == [2, 3]


def test_an_answer_as_a_one_letter_list_or_a_letter_with_its_text(tmp_path: Path) -> None:
    """The one public reader of the release takes `answer[0]`: a list, or a string that starts with the letter."""
    write(tmp_path, [record(answer=["C"]), record(answer="D. Diagnosis D"), record(answer="E)")])
    assert [i.gold for i in datasets.info("jmed").load(tmp_path)] == [2, 3, 4]


def test_options_as_a_list_are_lettered_in_order(tmp_path: Path) -> None:
    write(tmp_path, [record(options=["first", "second", "third", "fourth", "fifth"], answer="E")])
    (item,) = datasets.info("jmed").load(tmp_path)
    assert item.labels == ("A", "B", "C", "D", "E") and item.options[item.gold] == "fifth"


def test_21_options_through_both_prompt_protocols_and_scoring(tmp_path: Path) -> None:
    write(tmp_path, [record(answer="U")])
    (item,) = datasets.load("jmed", data_dir=tmp_path).items
    letter = requests_for(item, "letter", "qa")
    assert [r.continuation for r in letter] == [f" {x}" for x in U21]
    context = letter[0].context
    assert context.startswith(f"Question: {item.question}\nA. Diagnosis A\n")
    assert context.endswith("\nT. Diagnosis T\nU. Diagnosis U\nAnswer:") and context.count("\n") == 22
    assert requests_for(item, "option-text", "qa") == [
        Request(f"The following makes sense: \nQ: {item.question}\nA: ", f"Diagnosis {x}") for x in U21]
    scores = [-5.0] * 21
    scores[20] = -1.0                                   # the model prefers U, the gold answer
    logliks = [LogLik(logprob=s, greedy=False, tokens=1, context_tokens=300) for s in scores]
    record_ = score_item(item, logliks, [len(o) for o in item.options])
    assert (record_.prediction, record_.prediction_norm, record_.gold) == ("U", "U", "U")
    assert record_.correct and len(record_.scores) == 21


BAD = [
    pytest.param('{"question": "Q", "options": {"A": "x", "B"', None, "invalid JSON", id="truncated-line"),
    pytest.param({k: v for k, v in record().items() if k != "question"}, "question", "missing key",
                 id="missing-question"),
    pytest.param({k: v for k, v in record().items() if k != "answer"}, "answer", "missing key", id="missing-answer"),
    pytest.param(record(answer="V"), "answer", "answer must be one of the option letters A-U, got 'V'",
                 id="answer-V"),
    pytest.param(record(4, "E"), "answer", "A-D, got 'E'", id="answer-beyond-options"),
    pytest.param(record(answer="u"), "answer", "got 'u'", id="answer-lowercase"),
    pytest.param(record(answer=3), "answer", "got 3", id="answer-int"),
    pytest.param(record(answer=["A", "B"]), "answer", "got ['A', 'B']", id="answer-two-letters"),
    pytest.param(record(answer="B cells"), "answer", "got 'B cells'", id="answer-text"),
    pytest.param(record(options={"A": "x", "B": "y", "D": "z"}, answer="A"), "options", "without gaps",
                 id="letter-gap"),
    pytest.param(record(options={x: x for x in string.ascii_uppercase[:22]}, answer="A"), "options",
                 "got 22 entries", id="22-options"),
    pytest.param(record(options={"A": "only"}, answer="A"), "options", "2-21 letters", id="one-option"),
    pytest.param(record(options="A. x B. y", answer="A"), "options", "got str", id="options-string"),
    pytest.param(record(options={"A": "x", "B": " "}, answer="A"), "options.B", "non-empty text", id="blank-option"),
    pytest.param(record(question=""), "question", "non-empty text", id="empty-question"),
    pytest.param("[]", None, "expected a JSON object", id="not-an-object"),
]


@pytest.mark.parametrize(("bad", "key", "needle"), BAD)
def test_malformed_line_names_file_line_and_key(tmp_path: Path, bad: object, key: str | None, needle: str) -> None:
    path = write(tmp_path, [record(), "", bad])
    with pytest.raises(DatasetError) as info:
        datasets.load("jmed", data_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}:3") and needle in message
    assert info.value.line == 3 and info.value.key == key


def test_duplicate_id_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, [record(id="x"), record(id="x")])
    with pytest.raises(DatasetError, match=r"duplicate id \(first on line 1\)") as info:
        datasets.load("jmed", data_dir=tmp_path)
    assert str(info.value).startswith(f"{path}:2 [id]")


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, [""])
    with pytest.raises(DatasetError, match="no questions found"):
        datasets.load("jmed", data_dir=tmp_path)


def test_missing_file_names_expected_relative_path(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        datasets.load("jmed", data_dir=tmp_path)
    assert f"<data dir>/{RELATIVE}" in str(info.value) and "file not found" in str(info.value)


@pytest.mark.skipif(not (REAL_DATA / RELATIVE).is_file(), reason=f"JMED release not obtainable here ({REAL_DATA})")
def test_real_jmed_has_1000_items() -> None:
    ds = datasets.load("jmed", data_dir=REAL_DATA)
    assert ds.n == ds.total == 1000
    assert max(len(i.options) for i in ds.items) == 21
