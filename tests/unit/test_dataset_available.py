"""datasets.available: a dataset released as one file is present when the file is; one released as
a folder of files (MedSafetyBench) when the folder holds something."""

from __future__ import annotations

from pathlib import Path

from medcheck import datasets


def test_a_folder_release_is_present_when_it_holds_files(tmp_path: Path) -> None:
    folder = tmp_path / datasets.info("medsafetybench").relative_path
    assert not datasets.available("medsafetybench", tmp_path)
    folder.mkdir(parents=True)
    assert not datasets.available("medsafetybench", tmp_path)      # an empty folder is not a release
    (folder / "gpt4").mkdir()
    (folder / "gpt4" / "med_safety_demonstrations_category_1.csv").write_text("x\n")
    assert datasets.available("medsafetybench", tmp_path)


def test_a_file_release_is_present_when_the_file_is(tmp_path: Path) -> None:
    path = tmp_path / datasets.info("medqa").relative_path
    assert not datasets.available("medqa", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("{}\n")
    assert datasets.available("medqa", tmp_path)
