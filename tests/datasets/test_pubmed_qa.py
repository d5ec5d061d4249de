"""PubMedQA loader: bundled sample, ori_pqal.json + test_ground_truth.json, key-precise errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from medcheck import datasets
from medcheck.datasets.pubmed_qa import DECISIONS
from medcheck.errors import DatasetError


def entry(question: str, contexts: list[str], decision: str) -> dict[str, Any]:
    return {"QUESTION": question, "CONTEXTS": contexts, "LABELS": ["BACKGROUND"] * len(contexts),
            "MESHES": ["Humans"], "YEAR": "2001", "reasoning_required_pred": decision,
            "reasoning_free_pred": decision, "final_decision": decision, "LONG_ANSWER": "Long answer."}


ORI = {
    "11111111": entry("Does A cause B?", ["Background text.", "Results text."], "yes"),
    "22222222": entry("Is C better than D?", ["Only context."], "no"),
    "33333333": entry("Train item, not in test?", ["x"], "maybe"),
    "44444444": entry("Is E linked to F?", ["One.", "Two.", "Three."], "maybe"),
}
TRUTH = {"11111111": "yes", "22222222": "no", "44444444": "maybe"}


def write(root: Path, ori: Any = ORI, truth: Any = TRUTH) -> tuple[Path, Path]:
    folder = root / "pubmed_qa"
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "ori_pqal.json", folder / "test_ground_truth.json"
    for path, data in zip(paths, (ori, truth)):
        if data is not None:
            path.write_text(data if isinstance(data, str) else json.dumps(data, indent=1), encoding="utf-8")
    return paths


def test_bundled_sample_loads() -> None:
    ds = datasets.load("pubmed_qa")
    assert ds.source == "sample" and ds.n == ds.total >= 40
    ids = [item.id for item in ds.items]
    assert len(set(ids)) == len(ids) and all(i.isdigit() for i in ids)
    for item in ds.items:
        assert item.labels == item.options == DECISIONS and 0 <= item.gold < 3
        assert item.context and item.question
    assert {item.gold for item in ds.items} == {0, 1, 2}


def test_bundled_sample_test_split_is_the_ground_truth_pmids() -> None:
    root = datasets.SAMPLES_DIR / "pubmed_qa"
    truth = json.loads((root / "test_ground_truth.json").read_text(encoding="utf-8"))
    ori = json.loads((root / "ori_pqal.json").read_text(encoding="utf-8"))
    ds = datasets.load("pubmed_qa")
    assert {i.id for i in ds.items} == set(truth)
    for item in ds.items:
        assert item.labels[item.gold] == truth[item.id]
        assert item.context == "\n".join(ori[item.id]["CONTEXTS"])


def test_release_format(tmp_path: Path) -> None:
    write(tmp_path)
    ds = datasets.load("pubmed_qa", data_dir=tmp_path)
    assert ds.source == "real" and ds.n == ds.total == 3
    by_id = {item.id: item for item in ds.items}
    assert set(by_id) == set(TRUTH)                          # 33333333 is not in the test split
    assert by_id["11111111"].context == "Background text.\nResults text."
    assert by_id["11111111"].question == "Does A cause B?"
    assert [by_id[p].gold for p in ("11111111", "22222222", "44444444")] == [0, 1, 2]
    assert by_id["44444444"].context == "One.\nTwo.\nThree."


@pytest.mark.parametrize(("ori", "truth", "bad_file", "key", "needle"), [
    pytest.param(ORI, {**TRUTH, "99999999": "yes"}, "ori_pqal.json", "99999999", "not found", id="pmid-missing"),
    pytest.param(ORI, {**TRUTH, "22222222": "Yes"}, "test_ground_truth.json", "22222222",
                 "label must be yes/no/maybe, got 'Yes'", id="bad-label"),
    pytest.param(ORI, {**TRUTH, "22222222": None}, "test_ground_truth.json", "22222222", "label must be",
                 id="null-label"),
    pytest.param({**ORI, "11111111": {"CONTEXTS": ["c"]}}, TRUTH, "ori_pqal.json", "11111111.QUESTION",
                 "missing key", id="missing-question"),
    pytest.param({**ORI, "11111111": {"QUESTION": "q"}}, TRUTH, "ori_pqal.json", "11111111.CONTEXTS",
                 "missing key", id="missing-contexts"),
    pytest.param({**ORI, "22222222": {"QUESTION": "q", "CONTEXTS": "not a list"}}, TRUTH, "ori_pqal.json",
                 "22222222.CONTEXTS", "must be a list of strings", id="contexts-string"),
])
def test_malformed_names_file_and_key(tmp_path: Path, ori, truth, bad_file: str, key: str, needle: str) -> None:
    write(tmp_path, ori, truth)
    with pytest.raises(DatasetError) as info:
        datasets.load("pubmed_qa", data_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'pubmed_qa' / bad_file} [{key}]:")
    assert needle in message and info.value.key == key


@pytest.mark.parametrize(("ori", "truth", "bad_file"), [
    ('{"11111111": {"QUESTION": "q",\n  oops}', TRUTH, "ori_pqal.json"),
    (ORI, '{\n "11111111": "yes",\n}', "test_ground_truth.json"),
])
def test_invalid_json_names_file_and_line(tmp_path: Path, ori, truth, bad_file: str) -> None:
    write(tmp_path, ori, truth)
    with pytest.raises(DatasetError, match="invalid JSON") as info:
        datasets.load("pubmed_qa", data_dir=tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'pubmed_qa' / bad_file}:") and info.value.line is not None


@pytest.mark.parametrize(("ori", "truth", "needle"), [
    (["not", "a", "mapping"], TRUTH, "ori_pqal.json"),
    (ORI, ["11111111"], "test_ground_truth.json"),
    (ORI, {}, "no test PMIDs found"),
])
def test_wrong_top_level_shape(tmp_path: Path, ori, truth, needle: str) -> None:
    write(tmp_path, ori, truth)
    with pytest.raises(DatasetError, match=needle):
        datasets.load("pubmed_qa", data_dir=tmp_path)


@pytest.mark.parametrize(("ori", "truth", "relative"), [
    (None, TRUTH, "pubmed_qa/ori_pqal.json"),
    (ORI, None, "pubmed_qa/test_ground_truth.json"),
])
def test_missing_file_names_expected_relative_path(tmp_path: Path, ori, truth, relative: str) -> None:
    write(tmp_path, ori, truth)
    with pytest.raises(DatasetError) as info:
        datasets.load("pubmed_qa", data_dir=tmp_path)
    assert f"<data dir>/{relative}" in str(info.value) and "file not found" in str(info.value)


def test_the_repository_data_folder_is_read(tmp_path: Path) -> None:
    """The repository keeps both files in `data/`: `<data dir>/pubmed_qa/data/` is read as well."""
    write(tmp_path / "pubmed_qa")   # -> <tmp>/pubmed_qa/pubmed_qa/..., so move it one level down
    (tmp_path / "pubmed_qa" / "pubmed_qa").rename(tmp_path / "pubmed_qa" / "data")
    assert datasets.available("pubmed_qa", tmp_path)
    ds = datasets.load("pubmed_qa", data_dir=tmp_path)
    assert ds.n == 3 and ds.path.endswith("pubmed_qa/data/ori_pqal.json")
    # the generative variant: the same items, and its few-shot pool (the labelled items outside the test split)
    assert datasets.available("pubmed_qa_gen", tmp_path)
    assert datasets.load("pubmed_qa_gen", data_dir=tmp_path).n == 3
    assert [s.id for s in datasets.info("pubmed_qa_gen").shots(tmp_path)] == ["33333333"]


@pytest.mark.parametrize("folder", ["pubmedqa", "pubmedqa/data"])
def test_a_clone_named_as_the_repository_is_read(tmp_path: Path, folder: str) -> None:
    """`git clone github.com/pubmedqa/pubmedqa` into the data dir gives `pubmedqa/data/`: found as it is."""
    write(tmp_path / "x")   # -> <tmp>/x/pubmed_qa/...
    (tmp_path / folder).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "x" / "pubmed_qa").rename(tmp_path / folder)
    assert datasets.available("pubmed_qa", tmp_path) and datasets.available("pubmed_qa_gen", tmp_path)
    ds = datasets.load("pubmed_qa", data_dir=tmp_path)
    assert ds.n == 3 and ds.path.endswith(f"{folder}/ori_pqal.json")
    assert datasets.load("pubmed_qa_gen", data_dir=tmp_path).n == 3
