"""Dataset resolution: registry and tracks, seeded order and --limit, content hashes, the real MMLU files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.datasets.types import TextItem, content_hash
from medcheck.prompts import LETTER_STYLES
from medcheck.registry import UnknownNameError

ALL_IDS = datasets.dataset_ids()
REAL_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MMLU_TEST_SIZES = {"mmlu_anatomy": 135, "mmlu_clinical_knowledge": 265, "mmlu_college_biology": 144,
                   "mmlu_college_medicine": 173, "mmlu_medical_genetics": 100,
                   "mmlu_professional_medicine": 272}


KNOWLEDGE = {*MMLU_TEST_SIZES, "medqa", "pubmed_qa"}
APPLICATION_DIMENSIONS = {
    **{f"medexqa_{s}": "AME" for s in ("biomedical_engineer", "clinical_laboratory_scientist", "clinical_psychologist",
                                       "occupational_therapist", "speech_pathologist")},
    "medmcqa": "CDA", "careqa": "CDA", "medbullets_op4": "CDA", "medbullets_op5": "CDA", "jmed": "CDA",
    "medxpertqa_reasoning": "EUR", "medxpertqa_understanding": "EUR",
}
# the CareQA sample keeps the release's all-NaN rows; each load reports them, which is noise here
pytestmark = pytest.mark.filterwarnings("ignore:.*entirely NaN:UserWarning")


def ids(ds: datasets.Dataset) -> list[str]:
    return [item.id for item in ds.items]


def test_registry_lists_each_track_with_its_dimensions() -> None:
    assert set(datasets.by_track("knowledge")) == KNOWLEDGE
    assert set(datasets.by_track("application")) == set(APPLICATION_DIMENSIONS)
    assert datasets.dimensions("application") == {
        dim: tuple(i for i in APPLICATION_DIMENSIONS if APPLICATION_DIMENSIONS[i] == dim)
        for dim in ("AME", "CDA", "EUR")}
    assert set(datasets.dimensions("knowledge")) == {"GMK", "AMK", "BLC"}
    for dataset_id in ALL_IDS:
        spec = datasets.info(dataset_id)
        assert spec.id == dataset_id and spec.loader_version >= 1 and spec.relative_path
        if getattr(spec, "kind", "choice") == "choice":
            assert spec.prompt_style in LETTER_STYLES   # every choice dataset can be prompted by the letter protocol
        else:                                           # a generative task parses and scores its own outputs
            assert spec.kind == "generate" and spec.max_new_tokens >= 1 and spec.strategies
            assert callable(spec.parse) and callable(spec.score)


@pytest.mark.parametrize(("typo", "suggestion"), [
    ("medqaa", "medqa"), ("pubmedqa", "pubmed_qa"), ("mmlu_anatomyy", "mmlu_anatomy"),
    ("mmlu_clinical_knowlege", "mmlu_clinical_knowledge"),
])
def test_unknown_dataset_suggests_the_nearest(typo: str, suggestion: str) -> None:
    with pytest.raises(UnknownNameError) as info:
        datasets.load(typo)
    assert suggestion in info.value.suggestions
    assert "did you mean" in str(info.value) and suggestion in str(info.value)
    assert isinstance(info.value, KeyError)


def test_unknown_dataset_without_near_name_lists_known() -> None:
    with pytest.raises(UnknownNameError) as info:
        datasets.info("zzz")
    assert "did you mean" not in str(info.value) and "medqa" in str(info.value)


@pytest.mark.parametrize("dataset_id", ALL_IDS)
@pytest.mark.parametrize("limit", [1, 7, 20])
def test_limit_is_a_stable_prefix_of_the_seeded_order(dataset_id: str, limit: int) -> None:
    full = datasets.load(dataset_id)
    first = datasets.load(dataset_id, limit=limit)
    again = datasets.load(dataset_id, limit=limit)
    assert ids(first) == ids(again)
    assert first.items == full.items[:first.n]
    grouped = any(getattr(i, "meta", {}).get("group") for i in full.items)   # twins are drawn together
    assert first.n == limit or (grouped and 1 <= first.n <= max(limit, 2))   # one whole pair at least
    assert first.total == full.total == full.n
    assert first.sha256 == again.sha256 != full.sha256


@pytest.mark.parametrize("dataset_id", ALL_IDS)
def test_order_is_seeded_and_not_file_order(dataset_id: str) -> None:
    default = datasets.load(dataset_id)
    assert ids(datasets.load(dataset_id, seed=1234)) == ids(default)
    other = datasets.load(dataset_id, seed=99)
    assert ids(other) != ids(default)
    assert sorted(ids(other)) == sorted(ids(default))
    assert ids(default) != sorted(ids(default))
    small = datasets.load(dataset_id, limit=5, seed=99)
    assert small.items == other.items[:small.n]


def test_order_depends_on_the_dataset_id() -> None:
    a = [i.id.split("-")[-1] for i in datasets.load("mmlu_anatomy").items]
    b = [i.id.split("-")[-1] for i in datasets.load("mmlu_college_biology").items]
    assert len(a) == len(b) and a != b


def test_limit_larger_than_the_split_takes_everything() -> None:
    full = datasets.load("medqa")
    big = datasets.load("medqa", limit=full.total + 100)
    assert big.items == full.items and big.sha256 == full.sha256


@pytest.mark.parametrize("dataset_id", ALL_IDS)
def test_content_hash_is_stable_and_content_sensitive(dataset_id: str) -> None:
    ds = datasets.load(dataset_id, limit=10)
    assert len(ds.sha256) == 64 and int(ds.sha256, 16) >= 0
    assert ds.sha256 == content_hash(ds.items) == datasets.load(dataset_id, limit=10).sha256
    assert datasets.load(dataset_id, limit=ds.n + 2).sha256 != ds.sha256
    first = ds.items[0]
    changes = ([{"text": first.text + "?"}, {"gold": [first.gold, "other"]}, {"meta": {**first.meta, "x": 1}},
                {"id": first.id + "x"}] if isinstance(first, TextItem) else
               [{"question": first.question + "?"}, {"gold": (first.gold + 1) % len(first.options)},
                {"options": (first.options[1], first.options[0], *first.options[2:])},
                {"context": first.context + " more"}, {"id": first.id + "x"}])
    for change in changes:
        changed = (dataclasses.replace(first, **change), *ds.items[1:])
        assert content_hash(changed) != ds.sha256, change
    # the hash covers the evaluation order too
    assert content_hash(ds.items[::-1]) != ds.sha256


def test_hash_differs_between_sample_and_a_copy_with_one_edit(tmp_path: Path) -> None:
    source = datasets.SAMPLES_DIR / "mmlu" / "test" / "anatomy_test.csv"
    target = tmp_path / "mmlu" / "test" / "anatomy_test.csv"
    target.parent.mkdir(parents=True)
    text = source.read_text(encoding="utf-8")
    target.write_text(text, encoding="utf-8")
    copy = datasets.load("mmlu_anatomy", data_dir=tmp_path)
    sample = datasets.load("mmlu_anatomy")
    assert copy.source == "real" and copy.sha256 == sample.sha256   # same items, same order
    target.write_text(text.replace("deltoid", "trapezius", 1), encoding="utf-8")
    assert datasets.load("mmlu_anatomy", data_dir=tmp_path).sha256 != sample.sha256


@pytest.mark.skipif(not (REAL_DATA / "mmlu").is_dir(), reason=f"no real MMLU release files in {REAL_DATA}")
@pytest.mark.parametrize("dataset_id", sorted(MMLU_TEST_SIZES))
def test_real_mmlu_test_split_sizes(dataset_id: str) -> None:
    ds = datasets.load(dataset_id, data_dir=REAL_DATA)
    assert ds.source == "real"
    assert ds.n == ds.total == MMLU_TEST_SIZES[dataset_id]
    assert len({i.id for i in ds.items}) == ds.n
    limited = datasets.load(dataset_id, data_dir=REAL_DATA, limit=40)
    assert limited.items == ds.items[:40] and limited.total == ds.total
