"""ChemProt: the dev split evaluated (no test split), repeated pairs kept, micro F1 over positives."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.datasets.chemprot import LABELS
from medcheck.errors import DatasetError
from tests.datasets.generative_checks import REAL_DATA, check_sample, check_scoring, write

ID = "chemprot"
FOLDER = "bionlp/ChemProt"
HEADER = "index\tsentence\tlabel\n"


def test_bundled_sample() -> None:
    ds = check_sample(ID, "RE")
    assert {i.gold for i in ds.items} == set(LABELS)
    assert all("@CHEMICAL$" in i.text and "@GENE$" in i.text for i in ds.items)
    assert datasets.info(ID).relative_path == f"{FOLDER}/dev.tsv"


def test_a_pair_listed_twice_keeps_both_relations(tmp_path: Path) -> None:
    write(tmp_path, f"{FOLDER}/dev.tsv", HEADER + "1.T1.T2\t@CHEMICAL$ blocks @GENE$.\tCPR:6\n"
          "1.T1.T2\t@CHEMICAL$ blocks @GENE$.\tCPR:5\n"
          '2.T1.T3\t"A ""quoted"" word, @CHEMICAL$ and @GENE$."\tfalse\n')
    items = {i.id: i for i in datasets.load(ID, data_dir=tmp_path).items}
    assert {k: v.gold for k, v in items.items()} == {"1.T1.T2": "CPR:6", "1.T1.T2#2": "CPR:5", "2.T1.T3": "false"}
    assert items["2.T1.T3"].text == 'A "quoted" word, @CHEMICAL$ and @GENE$.'     # pandas' quoting undone


def test_unknown_label_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, f"{FOLDER}/dev.tsv", HEADER + "1.T1.T2\tx @CHEMICAL$ @GENE$\tCPR:3\n"
                 "1.T1.T4\ty @CHEMICAL$ @GENE$\tCPR:10\n")
    with pytest.raises(DatasetError) as info:
        datasets.load(ID, data_dir=tmp_path)
    assert info.value.path == path and info.value.line == 3 and info.value.key == "label"


def test_scoring_bounds() -> None:
    check_scoring(ID)


@pytest.mark.skipif(not (REAL_DATA / FOLDER).is_dir(), reason=f"no ChemProt release files in {REAL_DATA}")
def test_real_release_counts() -> None:
    ds = datasets.load(ID, data_dir=REAL_DATA)
    assert ds.n == 11820 and sum(i.id.endswith("#2") for i in ds.items) == 4
    assert Counter(i.gold for i in ds.items)["false"] == 9404
    assert len(datasets.info(ID).shots(REAL_DATA)) == 200          # disjoint from dev: nothing held out
