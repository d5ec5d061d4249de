"""NCBI-disease NER: the BC5CDR reader with Disease tags; its prompt beside the folder; entity F1."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.errors import DatasetError
from tests.datasets.generative_checks import REAL_DATA, check_sample, check_scoring, write

ID = "ncbi_disease"
FOLDER = "bionlp/NCBI-disease"


def test_bundled_sample() -> None:
    ds = check_sample(ID, "NER")
    assert any(not i.gold for i in ds.items) and any(len(i.gold) > 1 for i in ds.items)
    assert "disease" in datasets.info(ID).instruction(datasets.SAMPLES_DIR).lower()


def test_release_format(tmp_path: Path) -> None:
    write(tmp_path, f"{FOLDER}/test.tsv", "Familial\tB-Disease\nhypercholesterolemia\tI-Disease\nrisk\tO\n\n"
                                           "The\tO\ngene\tO\n")
    write(tmp_path, f"{FOLDER}/devel.tsv", "Marfan\tB-Disease\nsyndrome\tI-Disease\n")
    items = sorted(datasets.load(ID, data_dir=tmp_path).items, key=lambda i: i.id)
    assert [i.gold for i in items] == [("Familial hypercholesterolemia",), ()]
    assert [s.gold for s in datasets.info(ID).shots(tmp_path)] == [("Marfan syndrome",)]


def test_prompt_beside_the_folder_is_read_else_the_bundled_one(tmp_path: Path) -> None:
    write(tmp_path, f"{FOLDER}/test.tsv", "a\tO\n")
    spec = datasets.info(ID)
    assert spec.instruction(tmp_path) == spec.instruction(datasets.SAMPLES_DIR)
    write(tmp_path, "bionlp/NCBI-disease-prompt.txt", "Extract disease entities.\nSentence:\n")
    assert spec.instruction(tmp_path) == "Extract disease entities.\nSentence:"
    write(tmp_path, f"{FOLDER}/prompt.txt", "Mark the diseases.")
    assert spec.instruction(tmp_path) == "Mark the diseases."


def test_a_title_line_is_not_part_of_the_instruction(tmp_path: Path) -> None:
    """The benchmark authors' NCBI-disease prompt file starts with the line `NCBI-disease`."""
    write(tmp_path, f"{FOLDER}/test.tsv", "a\tO\n")
    write(tmp_path, "bionlp/NCBI-disease-prompt.txt", "NCBI-disease\nTASK: extract disease entities.\nSentence:\n")
    assert datasets.info(ID).instruction(tmp_path) == "TASK: extract disease entities.\nSentence:"


def test_bare_b_and_i_tags_are_the_disease_tags(tmp_path: Path) -> None:
    write(tmp_path, f"{FOLDER}/test.tsv", "Familial\tB\nhypercholesterolemia\tI\nrisk\tO\n")
    assert [i.gold for i in datasets.load(ID, data_dir=tmp_path).items] == [("Familial hypercholesterolemia",)]


def test_chemical_tags_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, f"{FOLDER}/test.tsv", "a\tO\nb\tB-Chemical\n")
    with pytest.raises(DatasetError) as info:
        datasets.load(ID, data_dir=tmp_path)
    assert info.value.path == path and info.value.line == 2 and "B-Disease" in str(info.value)


def test_scoring_bounds() -> None:
    check_scoring(ID)


@pytest.mark.skipif(not (REAL_DATA / FOLDER / "test.tsv").is_file(), reason=f"no NCBI-disease files in {REAL_DATA}")
def test_real_release_counts() -> None:
    assert datasets.load(ID, data_dir=REAL_DATA).n == 940


# the MTL-Bioinformatics-2016 release (cambridgeltl/MTL-Bioinformatics-2016, data/NCBI-disease-IOB/)
IOB_RELEASE = {
    "train.tsv": "Hereditary\tB-Disease\nretinoblastoma\tI-Disease\n.\tO\n",
    "devel.tsv": "Ovarian\tB-Disease\ncancer\tI-Disease\nrisk\tO\n\nBRCA1\tO\nis\tO\nsecreted\tO\n.\tO\n",
    "test.tsv": "Wiskott\tB-Disease\n-\tI-Disease\nAldrich\tI-Disease\nsyndrome\tI-Disease\nprotein\tO\n.\tO\n\n"
                "The\tO\nRB1\tO\ngene\tO\n.\tO\n\n"
                "ALD\tB-Disease\nand\tO\nAMN\tB-Disease\n.\tO\n",
}


def test_the_release_folder_name_ncbi_disease_iob_is_found_loaded_and_scored(tmp_path: Path) -> None:
    for name, text in IOB_RELEASE.items():
        write(tmp_path, f"bionlp/NCBI-disease-IOB/{name}", text)
    spec = datasets.info(ID)
    assert datasets.available(ID, tmp_path)
    ds = datasets.load(ID, data_dir=tmp_path)
    assert ds.source == "real" and ds.path == str(tmp_path / "bionlp/NCBI-disease-IOB/test.tsv")
    assert sorted(i.gold for i in ds.items) == [(), ("ALD", "AMN"), ("Wiskott - Aldrich syndrome",)]
    assert [f.path for f in ds.files] == [ds.path]       # what the manifest records
    assert [s.gold for s in spec.shots(tmp_path)] == [("Ovarian cancer",), ()]
    parsed = [spec.parse(spec.answer(item), item) for item in ds.items]
    assert spec.score(ds.items, parsed).value == 1.0
    assert spec.score(ds.items, [None] * ds.n).value == 0.0
    # both names present: the folder the benchmark's copy uses comes first
    write(tmp_path, f"{FOLDER}/test.tsv", "Marfan\tB-Disease\nsyndrome\tI-Disease\n")
    assert [i.gold for i in datasets.load(ID, data_dir=tmp_path).items] == [("Marfan syndrome",)]


def test_a_missing_release_names_both_folders(tmp_path: Path) -> None:
    (tmp_path / "bionlp").mkdir()
    assert not datasets.available(ID, tmp_path)
    with pytest.raises(DatasetError) as info:
        datasets.load(ID, data_dir=tmp_path)
    assert "bionlp/NCBI-disease/test.tsv" in str(info.value) and "bionlp/NCBI-disease-IOB/test.tsv" in str(info.value)
