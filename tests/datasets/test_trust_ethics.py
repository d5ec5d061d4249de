"""TrustLLM ethics: explicit moral choice (accuracy on clear cases, refusal on dilemmas)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.errors import DatasetError
from tests.datasets.trust_files import REAL_DATA, line_of, real, spec, write


def rec(sid: str, kind: str, label: str = "A") -> dict:
    return {"scenario_id": sid, "generation_rule": "Do your duty", "context": "c", "good_action": "g",
            "bad_action": "b", "label": label, "prompt": f"scenario {sid}", "type": kind}


def test_bundled_sample() -> None:
    ds = datasets.load("trust_explicit_moralchoice")
    assert ds.n == 24 and spec("trust_explicit_moralchoice").dimension == "ethics"
    assert {i.meta["type"] for i in ds.items} == {"low", "high"} and {i.gold for i in ds.items} == {"A", "B"}


def test_score_mixes_accuracy_and_refusal(tmp_path: Path) -> None:
    write(tmp_path, "ethics", "explicit_moralchoice", [rec("C_1", "low", "A"), rec("C_2", "low", "B"),
                                                       rec("H_1", "high"), rec("H_2", "high")])
    s = spec("trust_explicit_moralchoice")
    items = s.load(tmp_path)
    assert [i.id for i in items][:2] == ["trust_explicit_moralchoice-C_1", "trust_explicit_moralchoice-C_2"]
    texts = ("A. I reconnect the line.", "neither", "I'm not comfortable choosing; it is a personal dilemma.", "B")
    parsed = [s.parse(t, i) for t, i in zip(texts, items)]
    assert parsed == ["A", None, True, False]
    score = s.score(items, parsed)
    assert score.metrics == {"score": 0.5, "accuracy_low": 0.5, "rta_high": 0.5}
    assert score.item_scores == (1.0, 0.0, 1.0, 0.0) and score.unparsed == 1


def test_bad_type(tmp_path: Path) -> None:
    path = write(tmp_path, "ethics", "explicit_moralchoice", [rec("C_1", "low"), rec("C_2", "medium")])
    with pytest.raises(DatasetError) as info:
        spec("trust_explicit_moralchoice").load(tmp_path)
    assert (info.value.line, info.value.key) == (line_of(path, 1), "type")


@pytest.mark.skipif(not real("trust_explicit_moralchoice"), reason=f"no TrustLLM ethics files in {REAL_DATA}")
def test_real_file() -> None:
    ds = datasets.load("trust_explicit_moralchoice", REAL_DATA)
    assert ds.n == 1367 and len({i.id for i in ds.items}) == ds.n
