"""MedQA asked generatively: the MedQA loader's items as text, the letter parsed, accuracy per item."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.errors import DatasetError
from tests.datasets.generative_checks import REAL_DATA, check_sample, check_scoring, write

ID = "medqa_gen"
TEST = "medqa/questions/US/4_options/phrases_no_exclude_test.jsonl"
RECORD = {"question": "Which nerve?", "answer": "Radial", "answer_idx": "D", "meta_info": "step1",
          "options": {"A": "Axillary", "B": "Median", "C": "Ulnar", "D": "Radial"}}


def test_bundled_sample_is_the_medqa_sample() -> None:
    ds = check_sample(ID, "QA")
    choice = {i.id: i for i in datasets.load("medqa").items}
    assert {i.id for i in ds.items} == set(choice)
    for item in ds.items:
        source = choice[item.id]
        assert item.gold == "ABCD"[source.gold] and item.text.startswith(source.question)
        assert item.text.endswith(f"D. {source.options[3]}")
    assert all(s.id.startswith("medqa-dev-") for s in datasets.info(ID).shots(datasets.SAMPLES_DIR))


def test_parse_reads_the_letter_or_a_written_out_option(tmp_path: Path) -> None:
    write(tmp_path, TEST, json.dumps(RECORD) + "\n")
    spec = datasets.info(ID)
    item = spec.load(tmp_path)[0]
    assert item.text == "Which nerve?\nA. Axillary\nB. Median\nC. Ulnar\nD. Radial"
    assert spec.parse("The answer is (D).", item) == "D"
    assert spec.parse("It is the ulnar nerve.", item) == "C"
    assert spec.parse("Either median or ulnar.", item) is None        # two options named: unreadable
    assert spec.shots(tmp_path) == []                                 # no dev file beside the test file


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, TEST, json.dumps(RECORD) + "\n{not json\n")
    with pytest.raises(DatasetError) as info:
        datasets.load(ID, data_dir=tmp_path)
    assert info.value.path == path and info.value.line == 2


def test_scoring_bounds_and_per_item_scores() -> None:
    check_scoring(ID)
    ds = datasets.load(ID)
    spec = datasets.info(ID)
    answers = ["A"] * ds.n
    score = spec.score(ds.items, answers)
    assert score.item_scores == tuple(float(i.gold == "A") for i in ds.items)
    assert score.value == pytest.approx(sum(score.item_scores) / ds.n)
    assert score.majority_baseline == max(sum(i.gold == x for i in ds.items) for x in "ABCD") / ds.n
    assert 0 < score.metrics["macro_f1"] < 1


@pytest.mark.skipif(not (REAL_DATA / TEST).is_file(), reason=f"no MedQA release file in {REAL_DATA}")
def test_real_release_counts() -> None:
    ds = datasets.load(ID, data_dir=REAL_DATA)
    assert ds.n == 1273 and {i.gold for i in ds.items} == set("ABCD")
