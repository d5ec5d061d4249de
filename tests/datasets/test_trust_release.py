"""The TrustLLM release reader: element-by-element JSON with errors naming the file, line and key."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.datasets.types import TextItem
from medcheck.errors import DatasetError
from medcheck.trust.release import letter, read_records, relative, words, yes_no
from tests.datasets.trust_files import line_of, spec, write

REL = relative("fairness", "stereotype_query_test")


def test_records_come_with_the_line_they_start_on(tmp_path: Path) -> None:
    path = write(tmp_path, "fairness", "stereotype_query_test", [{"prompt": "a"}, {"prompt": "b", "x": [1, 2]}])
    got = read_records(tmp_path, REL, "t")
    assert [r["prompt"] for _, r in got] == ["a", "b"]
    assert [line for line, _ in got] == [line_of(path, 0), line_of(path, 1)] == [2, 5]


@pytest.mark.parametrize(("text", "line", "key", "needle"), [
    ('[{"prompt": "a"},\n {"prompt": ]', 2, None, "invalid JSON"),
    ('[{"prompt": "a"},\n "loose text"]', 2, None, "expected a JSON object, got str"),
    ('[{"prompt": "a"},\n\n {"promt": "b"}]', 3, "prompt", "missing key"),
    ('[{"prompt": "a"},\n {"prompt": "  "}]', 2, "prompt", "non-empty text"),
    ('[{"prompt": "a"} {"prompt": "b"}]', 1, None, "expected ',' or ']'"),
    ('[{"prompt": "a"},\n', 2, None, "not closed"),
    ('{"prompt": "a"}', 1, None, "expected a JSON array"),
])
def test_malformed_file_names_line_and_key(tmp_path: Path, text: str, line: int, key: str | None, needle: str) -> None:
    path = tmp_path / REL
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        read_records(tmp_path, REL, "t")
    assert needle in str(info.value) and str(info.value).startswith(f"{path}:{line}")
    assert (info.value.line, info.value.key) == (line, key)


def test_empty_array_and_missing_file(tmp_path: Path) -> None:
    write(tmp_path, "fairness", "stereotype_query_test", [])
    with pytest.raises(DatasetError, match="no records found"):
        read_records(tmp_path, REL, "t")
    with pytest.raises(DatasetError, match="<data dir>/trust/trustllm/ethics/x.json"):
        read_records(tmp_path, relative("ethics", "x"), "t")


@pytest.mark.parametrize(("text", "expected"), [
    ("A", "A"), ("(B)", "B"), ("Answer is C.", "C"), ("A country in Europe", None), ("A because it is kind", "A"),
    ("I pick B, not A", "B"), ("none", None),
])
def test_letter(text: str, expected: str | None) -> None:
    assert letter(text, "ABCD") == expected


def test_yes_no_and_words() -> None:
    assert (yes_no("Yes."), yes_no("No, it does not."), yes_no("Yes and no"), yes_no("unsure")) == \
        ("yes", "no", None, None)
    assert yes_no("Maybe.", maybe=True) == "maybe" and yes_no("Maybe.") is None
    assert words('"Yes," he said.') == ["yes", "he", "said"]


DIMENSIONS = {"truthfulness": ("trust_internal_codah", "trust_external", "trust_hallucination"),
              "safety": ("trust_jailbreak", "trust_misuse", "trust_exaggerated_safety", "medsafetybench"),
              "fairness": ("trust_stereotype_query", "trust_disparagement", "trust_preference"),
              "robustness": ("trust_advglue",),
              "privacy": ("trust_privacy_confaide", "trust_privacy_query", "trust_privacy_leakage"),
              "ethics": ("trust_explicit_moralchoice",)}


def test_trust_track_datasets_and_dimensions() -> None:
    assert datasets.dimensions("trust") == DIMENSIONS


@pytest.mark.parametrize("dataset_id", [d for ids in DIMENSIONS.values() for d in ids])
def test_bundled_sample(dataset_id: str) -> None:
    ds, s = datasets.load(dataset_id), spec(dataset_id)
    assert (ds.kind, ds.source, s.track, s.strategies) == ("generate", "sample", "trust", ("zero-shot",))
    assert ds.n >= 15 and len({i.id for i in ds.items}) == ds.n and ds.path.endswith(s.relative_path)
    assert all(isinstance(i, TextItem) and i.text.strip() and s.render(i) == i.text for i in ds.items)
    assert s.instruction(Path()) == "" and s.shots(Path()) == [] and s.max_new_tokens >= 16


@pytest.mark.parametrize("dataset_id", [d for ids in DIMENSIONS.values() for d in ids])
def test_scores_stay_fractions_on_resamples_and_empty_sets(dataset_id: str) -> None:
    """The track's bootstrap rescores resampled items (with repeats): every scorer must take them."""
    s, items = spec(dataset_id), list(datasets.load(dataset_id).items)
    texts = ("I'm sorry, but I cannot help with that.", "A", "yes", "Answer: 1", "")
    parsed = [s.parse(texts[n % len(texts)], item) for n, item in enumerate(items)]
    rng = random.Random(5)
    picks = rng.choices(range(len(items)), k=len(items))
    for chosen in (range(len(items)), picks, []):
        score = s.score([items[i] for i in chosen], [parsed[i] for i in chosen])
        assert 0.0 <= score.value <= 1.0 and score.n == len(chosen) and 0 <= score.unparsed <= score.n
        assert score.item_scores is None or sum(score.item_scores) / max(len(score.item_scores), 1) == \
            pytest.approx(score.value if chosen else 0.0)


def test_refusal_tasks_carry_the_judge_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDCHECK_REFUSAL_JUDGE", raising=False)
    assert spec("trust_jailbreak").parse_version.startswith("patterns:") and spec("trust_external").parse_version == ""
    monkeypatch.setenv("MEDCHECK_REFUSAL_JUDGE", "openai:http://127.0.0.1:9/v1/judge")
    assert spec("trust_preference").parse_version == "openai:judge"
