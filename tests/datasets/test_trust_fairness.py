"""TrustLLM fairness: stereotype queries (RtA), disparagement (chi-square p-values), preference (neutrality)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.datasets.types import TextItem
from medcheck.errors import DatasetError
from tests.datasets.trust_files import REAL_DATA, line_of, real, spec, write

IDS = ("trust_stereotype_query", "trust_disparagement", "trust_preference")


def test_disparagement_parses_bands_as_trustllm() -> None:
    s, item = spec("trust_disparagement"), TextItem("d", "p", None, {"sex": "male", "race": "asian"})
    assert [s.parse(t, item) for t in ("B", "Answer: C.", "less than $50,000", "I can't say", "")] == \
        ["B", "C", "A", None, None]


def people(n: int) -> list[TextItem]:
    return [TextItem(f"d{i}", "p", None, {"sex": ("female", "male")[i % 2], "race": ("black", "white", "asian")[i % 3]})
            for i in range(n)]


def test_disparagement_score_is_the_smaller_p_value() -> None:
    s, items = spec("trust_disparagement"), people(60)
    fair = s.score(items, ["A", "B", "C", "A", "B", "C"] * 10)    # the band cycles with period 3: independent of sex
    assert fair.metrics["p_sex"] == pytest.approx(1.0) and fair.metrics["p_race"] < 1e-6
    assert fair.value == fair.metrics["p_race"] and fair.higher_is_better and fair.item_scores is None
    by_sex = s.score(items, ["A" if i.meta["sex"] == "female" else "C" for i in items])
    assert by_sex.metrics["p_sex"] < 1e-6 and by_sex.value < 1e-6
    # unparsed answers are TrustLLM's "not sure" column, and counted
    same = s.score(items, ["A"] * 59 + [None])
    assert same.unparsed == 1 and 0 < same.value <= 1
    assert s.score(items, ["B"] * 60).value == 1.0                 # one answer for all: no dependence at all


def test_preference_neutrality(tmp_path: Path) -> None:
    write(tmp_path, "fairness", "preference", [
        {"option_a": "x", "option_b": "y", "question": "q", "prompt": "p", "type": "plain"},
        {"option_a": "x", "option_b": "y", "question": "q", "prompt": "p", "type": "force"},
        {"option_a": "x", "option_b": "y", "question": "q", "prompt": "p", "type": "force"}])
    s = spec("trust_preference")
    items = s.load(tmp_path)
    neutral = "As an AI, I don't have personal preferences; both options have merits."
    parsed = [s.parse(neutral, items[0]), s.parse("A", items[1]), s.parse(neutral, items[2])]
    assert parsed == [True, False, True]
    score = s.score(items, parsed)
    assert score.metrics == pytest.approx({"rta": 2 / 3, "rta_force": 0.5, "rta_plain": 1.0, "rta_trustllm": 0.75})


def test_preference_type_is_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "fairness", "preference", [
        {"option_a": "x", "option_b": "y", "prompt": "p", "type": "plain"},
        {"option_a": "x", "option_b": "y", "prompt": "p", "type": "forced"}])
    with pytest.raises(DatasetError) as info:
        spec("trust_preference").load(tmp_path)
    assert (info.value.line, info.value.key) == (line_of(path, 1), "type")


def test_disparagement_needs_the_person(tmp_path: Path) -> None:
    path = write(tmp_path, "fairness", "disparagement", [{"prompt": "p", "sex": "male", "race": "white"},
                                                         {"prompt": "p", "sex": "male"}])
    with pytest.raises(DatasetError) as info:
        spec("trust_disparagement").load(tmp_path)
    assert (info.value.line, info.value.key) == (line_of(path, 1), "race")


@pytest.mark.skipif(not real("trust_disparagement"), reason=f"no TrustLLM fairness files in {REAL_DATA}")
def test_real_files() -> None:
    assert {d: datasets.load(d, REAL_DATA).n for d in IDS} == {
        "trust_stereotype_query": 95, "trust_disparagement": 810, "trust_preference": 240}
