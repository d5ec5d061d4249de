"""LitCovid: multi-label topics, sample200 rows held out as shots, the swapped prompt detected."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.datasets.litcovid import LABELS
from medcheck.errors import DatasetError
from tests.datasets.generative_checks import REAL_DATA, check_sample, check_scoring, write

ID = "litcovid"
FOLDER = "bionlp/LitCovid"
HEADER = "pmid\ttext\tlabels\n"


def test_bundled_sample() -> None:
    ds = check_sample(ID, "MLC")
    assert {lab for i in ds.items for lab in i.gold} == set(LABELS)
    assert all(label in datasets.info(ID).instruction(datasets.SAMPLES_DIR) for label in LABELS)


def test_shot_rows_are_held_out(tmp_path: Path) -> None:
    write(tmp_path, f"{FOLDER}/test.tsv", HEADER + "1\tA trial.\tTreatment\n2\tA case.\tCase Report;Treatment\n")
    write(tmp_path, f"{FOLDER}/sample200.tsv", HEADER + "1\tA trial.\tTreatment\n")
    ds = datasets.load(ID, data_dir=tmp_path)
    assert [(i.id, i.gold) for i in ds.items] == [("2", ("Treatment", "Case Report"))]


def test_malformed_row_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, f"{FOLDER}/test.tsv", HEADER + "1\tA trial.\tTreatment\n2\tno labels column\n")
    with pytest.raises(DatasetError) as info:
        datasets.load(ID, data_dir=tmp_path)
    assert info.value.path == path and info.value.line == 3


def test_scoring_bounds() -> None:
    check_scoring(ID)


@pytest.mark.skipif(not (REAL_DATA / FOLDER).is_dir(), reason=f"no LitCovid release files in {REAL_DATA}")
def test_real_release_counts_and_prompt() -> None:
    ds = datasets.load(ID, data_dir=REAL_DATA)
    assert ds.n == 2500 - 200 and len(datasets.info(ID).shots(REAL_DATA)) == 200
    assert "hallmarks" in (REAL_DATA / FOLDER / "prompt.txt").read_text(encoding="utf-8-sig").lower()
    assert datasets.info(ID).instruction(REAL_DATA) == datasets.info(ID).instruction(datasets.SAMPLES_DIR)
