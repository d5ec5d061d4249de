"""BC5CDR chemical NER: CoNLL IOB sentences, mention tuples, located errors, entity-level F1."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.errors import DatasetError
from tests.datasets.generative_checks import REAL_DATA, check_sample, check_scoring, write

ID = "bc5cdr_chem"
FOLDER = "bionlp/BC5CDR-chem-IOB"
IOB = ("Seizures\tO\nafter\tO\n5\tB-Chemical\n-\tI-Chemical\nfluorouracil\tI-Chemical\nand\tO\n"
       "cisplatin\tB-Chemical\n.\tO\n\nNo\tO\nchemicals\tO\n.\tO\n\n\ncisplatin\tB-Chemical\ncisplatin\tB-Chemical\n")


def test_bundled_sample() -> None:
    ds = check_sample(ID, "NER")
    assert sum(len(i.gold) for i in ds.items) >= 30
    assert any(not i.gold for i in ds.items) and any(len(i.gold) > 1 for i in ds.items)
    assert all(isinstance(i.gold, tuple) for i in ds.items)
    assert "chemical" in datasets.info(ID).instruction(datasets.SAMPLES_DIR).lower()


def test_release_format_sentences_and_mentions(tmp_path: Path) -> None:
    write(tmp_path, f"{FOLDER}/test.tsv", "\ufeff" + IOB.replace("\n", "\r\n"))     # a BOM and CRLF are tolerated
    items = sorted(datasets.load(ID, data_dir=tmp_path).items, key=lambda i: i.id)
    assert [i.text for i in items] == ["Seizures after 5 - fluorouracil and cisplatin .", "No chemicals .",
                                       "cisplatin cisplatin"]
    assert [i.gold for i in items] == [("5 - fluorouracil", "cisplatin"), (), ("cisplatin", "cisplatin")]
    spec = datasets.info(ID)
    assert spec.shots(tmp_path) == []                                   # no devel.tsv: no shots
    assert spec.answer(items[0]) == ('Seizures after <span class="chemical">5 - fluorouracil</span> and '
                                     '<span class="chemical">cisplatin</span> .')
    assert spec.parse("Seizures after 5-fluorouracil and cisplatin.", items[0]) == []   # echoed, nothing marked


@pytest.mark.parametrize(("text", "line", "needle"), [
    ("a\tO\nb\tO\tX\n", 2, "expected token<TAB>tag, got 3"),
    ("a\tO\n\nb\tB-Disease\n", 3, "unknown tag 'B-Disease'"),
    ("a\tO\nb\tI-Chemical\n", 2, "I-Chemical follows O"),
    ("\n\n", None, "no sentences"),
    ("a\tO\n\nb\tO\n\tO\n", 4, "expected token<TAB>tag"),
])
def test_malformed_file_names_file_and_line(tmp_path: Path, text: str, line: int | None, needle: str) -> None:
    path = write(tmp_path, f"{FOLDER}/test.tsv", text)
    with pytest.raises(DatasetError) as info:
        datasets.load(ID, data_dir=tmp_path)
    assert info.value.path == path and info.value.line == line and needle in str(info.value)


def test_missing_file_names_the_layout(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="BC5CDR-chem-IOB/test.tsv"):
        datasets.load(ID, data_dir=tmp_path)


def test_scoring_bounds() -> None:
    check_scoring(ID)


def test_no_entity_baseline_is_zero() -> None:
    ds = datasets.load(ID)
    score = datasets.info(ID).score(ds.items, [[] for _ in ds.items])
    assert score.value == 0.0 == score.majority_baseline and score.unparsed == 0 and score.item_scores is None


@pytest.mark.skipif(not (REAL_DATA / FOLDER).is_dir(), reason=f"no BC5CDR release files in {REAL_DATA}")
def test_real_release_counts() -> None:
    ds = datasets.load(ID, data_dir=REAL_DATA)
    assert ds.source == "real" and ds.n == 4797 and sum(len(i.gold) for i in ds.items) == 5385
    assert len(datasets.info(ID).shots(REAL_DATA)) == 4581
    assert "chemical" in datasets.info(ID).instruction(REAL_DATA).lower()
