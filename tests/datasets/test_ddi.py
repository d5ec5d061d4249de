"""DDI 2013: header TSV with @DRUG$ masks, sample200 rows held out as shots, micro F1 over positives."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.datasets.ddi import LABELS
from medcheck.errors import DatasetError
from tests.datasets.generative_checks import REAL_DATA, check_sample, check_scoring, write

ID = "ddi"
FOLDER = "bionlp/DDI"
HEADER = "index\tsentence\tlabel\n"
ROWS = ["DDI-DrugBank.d1.s0.p0\t@DRUG$ raises @DRUG$ levels.\tDDI-mechanism\n",
        "DDI-DrugBank.d1.s0.p1\t@DRUG$ and @DRUG$ were given.\tDDI-false\n",
        "DDI-MedLine.d2.s1.p0\tAvoid @DRUG$ with @DRUG$.\tDDI-advise\n"]


def test_bundled_sample() -> None:
    ds = check_sample(ID, "RE")
    assert {i.gold for i in ds.items} == set(LABELS) and all("@DRUG$" in i.text for i in ds.items)
    test_rows = (datasets.SAMPLES_DIR / FOLDER / "test.tsv").read_text(encoding="utf-8").count("\n") - 1
    assert ds.n == test_rows - len(datasets.info(ID).shots(datasets.SAMPLES_DIR))   # shots are test rows


def test_shot_rows_are_held_out_of_the_evaluation(tmp_path: Path) -> None:
    write(tmp_path, f"{FOLDER}/test.tsv", HEADER + "".join(ROWS))
    assert {i.id for i in datasets.load(ID, data_dir=tmp_path).items} == {r.split("\t")[0] for r in ROWS}
    assert datasets.info(ID).shots(tmp_path) == []
    write(tmp_path, f"{FOLDER}/sample200.tsv", HEADER + ROWS[0])
    ds = datasets.load(ID, data_dir=tmp_path)
    assert ds.n == ds.total == 2 and "DDI-DrugBank.d1.s0.p0" not in {i.id for i in ds.items}
    assert [s.gold for s in datasets.info(ID).shots(tmp_path)] == ["DDI-mechanism"]


@pytest.mark.parametrize(("text", "line", "needle"), [
    (HEADER + ROWS[0] + "DDI-x\tonly two columns\n", 3, "expected 3 tab-separated columns, got 2"),
    (HEADER + ROWS[0] + "DDI-x\tA sentence.\tDDI-unknown\n", 3, "unknown label 'DDI-unknown'"),
    ("id\ttext\tlabel\n" + ROWS[0], 1, "header must be index<TAB>sentence<TAB>label"),
    (HEADER + "\t@DRUG$ x\tDDI-false\n", 2, "empty index"),
    (HEADER, None, "no rows"),
    (HEADER + ROWS[0] + 'DDI-x\t"an open quote @DRUG$\tDDI-false\n' + ROWS[1], 3, "a quote left open?"),
])
def test_malformed_file_names_file_and_line(tmp_path: Path, text: str, line: int | None, needle: str) -> None:
    path = write(tmp_path, f"{FOLDER}/test.tsv", text)
    with pytest.raises(DatasetError) as info:
        datasets.load(ID, data_dir=tmp_path)
    assert info.value.path == path and info.value.line == line and needle in str(info.value)


def test_scoring_bounds() -> None:
    check_scoring(ID)


def test_predicting_the_negative_class_everywhere_scores_zero() -> None:
    ds = datasets.load(ID)
    score = datasets.info(ID).score(ds.items, ["DDI-false"] * ds.n)
    assert score.value == 0.0 and score.metrics["accuracy"] > 0 and score.unparsed == 0


@pytest.mark.skipif(not (REAL_DATA / FOLDER).is_dir(), reason=f"no DDI release files in {REAL_DATA}")
def test_real_release_counts() -> None:
    ds = datasets.load(ID, data_dir=REAL_DATA)
    assert ds.n == 5761 - 200                                          # sample200 rows are the shots
    assert Counter(i.gold for i in ds.items) == {"DDI-false": 4762, "DDI-effect": 291, "DDI-mechanism": 242,
                                                  "DDI-advise": 188, "DDI-int": 78}
    assert len(datasets.info(ID).shots(REAL_DATA)) == 200
    assert datasets.info(ID).score(ds.items, ["DDI-false"] * ds.n).majority_baseline == 0.0


def test_bytes_that_are_not_utf8_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / FOLDER / "test.tsv"
    path.parent.mkdir(parents=True)
    path.write_bytes((HEADER + ROWS[0]).encode() + b"DDI-x\tbad \xff byte\tDDI-false\n")
    with pytest.raises(DatasetError) as info:
        datasets.load(ID, data_dir=tmp_path)
    assert info.value.path == path and info.value.line == 3 and "not UTF-8" in str(info.value)
