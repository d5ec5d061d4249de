"""HoC: multi-label hallmarks, the release's swapped prompt detected, macro F1 over present labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.datasets.hoc import LABELS
from medcheck.errors import DatasetError
from tests.datasets.generative_checks import REAL_DATA, check_sample, check_scoring, write

ID = "hoc"
FOLDER = "bionlp/HoC"
HEADER = "pmid\ttext\tlabels\n"


def test_bundled_sample() -> None:
    ds = check_sample(ID, "MLC")
    assert {lab for i in ds.items for lab in i.gold} == set(LABELS)
    assert any(len(i.gold) > 1 for i in ds.items)
    prompt = datasets.info(ID).instruction(datasets.SAMPLES_DIR)
    assert all(label in prompt for label in LABELS)


def test_labels_are_read_in_the_closed_set_order(tmp_path: Path) -> None:
    write(tmp_path, f"{FOLDER}/test.tsv", HEADER + "11\tAbstract one .\tresisting cell death;"
          "Sustaining proliferative signaling\n12\tAbstract two .\t\n")
    items = {i.id: i.gold for i in datasets.load(ID, data_dir=tmp_path).items}
    assert items == {"11": ("sustaining proliferative signaling", "resisting cell death"), "12": ()}
    answer = json.loads(datasets.info(ID).answer(datasets.load(ID, data_dir=tmp_path).items[0]))
    assert list(answer) == list(LABELS) and set(answer.values()) <= {0, 1}


def test_a_prompt_for_another_task_is_replaced_by_the_bundled_one(tmp_path: Path) -> None:
    spec = datasets.info(ID)
    bundled = spec.instruction(datasets.SAMPLES_DIR)
    write(tmp_path, f"{FOLDER}/prompt.txt", "LitCOVID:\nTopics: Treatment, Diagnosis, Prevention ...")
    assert spec.instruction(tmp_path) == bundled
    own = "\ufeffHoc:\n" + "\n".join(LABELS)
    write(tmp_path, f"{FOLDER}/prompt.txt", own)
    assert spec.instruction(tmp_path) == "\n".join(LABELS)   # its title line is not part of the instruction


def test_unknown_label_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, f"{FOLDER}/test.tsv", HEADER + "11\tx\tresisting cell death\n12\ty\tinvasion\n")
    with pytest.raises(DatasetError) as info:
        datasets.load(ID, data_dir=tmp_path)
    assert (info.value.path, info.value.line, info.value.key) == (path, 3, "labels")


def test_scoring_bounds() -> None:
    check_scoring(ID)


def test_micro_f1_is_reported_beside_macro() -> None:
    ds = datasets.load(ID)
    score = datasets.info(ID).score(ds.items, [("resisting cell death",)] * ds.n)
    assert score.primary == "macro_f1" and 0 < score.metrics["macro_f1"] < score.metrics["micro_f1"] < 1


@pytest.mark.skipif(not (REAL_DATA / FOLDER).is_dir(), reason=f"no HoC release files in {REAL_DATA}")
def test_real_release_counts_and_prompt() -> None:
    ds = datasets.load(ID, data_dir=REAL_DATA)
    assert ds.n == 315 and len(datasets.info(ID).shots(REAL_DATA)) == 157
    assert sum(len(i.gold) for i in ds.items) == 478
    # the release's HoC/prompt.txt is LitCovid's: the bundled HoC instruction is used instead
    assert "COVID" in (REAL_DATA / FOLDER / "prompt.txt").read_text(encoding="utf-8")
    assert datasets.info(ID).instruction(REAL_DATA) == datasets.info(ID).instruction(datasets.SAMPLES_DIR)
