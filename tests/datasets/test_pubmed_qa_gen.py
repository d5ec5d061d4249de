"""PubMedQA asked generatively: context and question as text, yes / no / maybe parsed, non-test shots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.errors import DatasetError
from tests.datasets.generative_checks import REAL_DATA, check_sample, check_scoring, write

ID = "pubmed_qa_gen"


def entry(question: str, decision: str) -> dict[str, object]:
    return {"QUESTION": question, "CONTEXTS": ["Background.", "Results."], "final_decision": decision}


def test_bundled_sample_is_the_pubmed_qa_sample() -> None:
    ds = check_sample(ID, "QA")
    choice = {i.id: i for i in datasets.load("pubmed_qa").items}
    assert {i.id for i in ds.items} == set(choice)
    for item in ds.items:
        assert item.gold == choice[item.id].labels[choice[item.id].gold]
        assert item.text.startswith("Context: ") and f"Question: {choice[item.id].question}" in item.text
    assert {i.gold for i in ds.items} == {"yes", "no", "maybe"}


def test_shots_are_the_labelled_items_outside_the_test_split(tmp_path: Path) -> None:
    write(tmp_path, "pubmed_qa/ori_pqal.json",
          json.dumps({"1": entry("Test q?", "yes"), "2": entry("Train q?", "maybe")}))
    write(tmp_path, "pubmed_qa/test_ground_truth.json", json.dumps({"1": "yes"}))
    spec = datasets.info(ID)
    assert [i.id for i in spec.load(tmp_path)] == ["1"]
    shots = spec.shots(tmp_path)
    assert [(s.id, s.gold) for s in shots] == [("2", "maybe")] and spec.answer(shots[0]) == "maybe"
    item = spec.load(tmp_path)[0]
    assert item.text == "Context: Background.\nResults.\nQuestion: Test q?"
    assert spec.parse("Based on the results, the answer is no.", item) == "no"
    assert spec.parse("It depends on the population.", item) is None


def test_malformed_ground_truth_names_the_key(tmp_path: Path) -> None:
    write(tmp_path, "pubmed_qa/ori_pqal.json", json.dumps({"1": entry("q?", "yes")}))
    path = write(tmp_path, "pubmed_qa/test_ground_truth.json", json.dumps({"1": "Yes"}))
    with pytest.raises(DatasetError) as info:
        datasets.load(ID, data_dir=tmp_path)
    assert info.value.path == path and info.value.key == "1"


@pytest.mark.parametrize(("record", "key", "needle"), [
    pytest.param(entry("Train q?", "YES"), "2.final_decision", "got 'YES'", id="upper-case-decision"),
    pytest.param({"QUESTION": "q?", "CONTEXTS": "one text", "final_decision": "no"}, "2.CONTEXTS",
                 "list of texts", id="contexts-not-a-list"),
    pytest.param({"CONTEXTS": [], "final_decision": "no"}, "2.QUESTION", "the question as", id="no-question"),
    pytest.param(entry(" ", "no"), "2.QUESTION", "the question as", id="empty-question"),
    pytest.param(["not", "an", "object"], "2", "expected an object", id="not-an-object"),
])
def test_a_malformed_shot_record_names_its_pmid_and_key(tmp_path: Path, record: object, key: str, needle: str) -> None:
    """The few-shot pool is read as strictly as the test split: a bad record is an error, not a smaller pool."""
    path = write(tmp_path, "pubmed_qa/ori_pqal.json", json.dumps({"1": entry("Test q?", "yes"), "2": record}))
    write(tmp_path, "pubmed_qa/test_ground_truth.json", json.dumps({"1": "yes"}))
    with pytest.raises(DatasetError, match=needle) as info:
        datasets.info(ID).shots(tmp_path)
    assert info.value.path == path and info.value.key == key


def test_scoring_bounds() -> None:
    check_scoring(ID)


@pytest.mark.skipif(not (REAL_DATA / "pubmed_qa").is_dir(), reason=f"no PubMedQA release files in {REAL_DATA}")
def test_real_release_counts() -> None:
    assert datasets.load(ID, data_dir=REAL_DATA).n == 500
    assert len(datasets.info(ID).shots(REAL_DATA)) == 500
