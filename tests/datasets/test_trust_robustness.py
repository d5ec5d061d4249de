"""TrustLLM robustness: AdvGLUE twin pairs and the attack success of a perturbation."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.errors import DatasetError
from tests.datasets.trust_files import REAL_DATA, line_of, real, spec, write


def rec(index: int, kind: str, task: str = "sst2", label: int = 1) -> dict:
    return {"index": index, "task": task, "prompt": f"{task} {index} {kind}", "label": label, "method": "TextBugger",
            "data construction": "word", "type": kind}


def test_bundled_sample_pairs_every_item_with_its_twin() -> None:
    ds = datasets.load("trust_advglue")
    by_id = {i.id: i for i in ds.items}
    assert ds.n == 24 and spec("trust_advglue").dimension == "robustness"
    for item in ds.items:
        twin = by_id[item.meta["twin"]]
        assert twin.meta["twin"] == item.id and twin.meta["pair"] == item.meta["pair"] and twin.gold == item.gold
        assert {item.meta["type"], twin.meta["type"]} == {"original", "modified"}


def test_gold_words_follow_trustllm(tmp_path: Path) -> None:
    write(tmp_path, "robustness", "AdvGLUE", [rec(1, "original", "qnli", 0), rec(1, "modified", "qnli", 0),
                                              rec(2, "original", "mnli", 1), rec(2, "modified", "mnli", 1)])
    items = spec("trust_advglue").load(tmp_path)
    assert [i.gold for i in items] == ["yes", "yes", "maybe", "maybe"]
    s = spec("trust_advglue")
    assert [s.parse(t, items[2]) for t in ("Maybe.", "yes", "yes or no", "Positive")] == ["maybe", "yes", None, None]


def test_attack_success_counts_changed_pairs(tmp_path: Path) -> None:
    write(tmp_path, "robustness", "AdvGLUE",
          [r for i in (1, 2, 3, 4) for r in (rec(i, "original"), rec(i, "modified"))])
    s = spec("trust_advglue")
    items = s.load(tmp_path)
    # pair 1 holds, pair 2 flips from right to wrong, pair 3 is wrong both times, pair 4 loses its answer
    parsed = ["positive", "positive", "positive", "negative", "negative", "negative", "positive", None]
    score = s.score(items, parsed)
    assert (score.primary, score.higher_is_better, score.unparsed) == ("attack_success", False, 1)
    assert score.metrics["attack_success"] == 0.5 and score.item_scores == (0, 0, 1, 1, 0, 0, 1, 1)
    assert score.metrics["asr_trustllm"] == 0.5                 # of pairs 1, 2 (4 is left out, as TrustLLM does)
    assert (score.metrics["accuracy_original"], score.metrics["accuracy_modified"]) == (0.75, 0.25)
    cut = s.score(items[:3], parsed[:3])                         # a limit split pair 2: the orphan is left out
    assert cut.metrics["orphans"] == 1 and cut.metrics["pairs"] == 1 and cut.item_scores is None


@pytest.mark.parametrize(("records", "bad", "key", "needle"), [
    ([rec(1, "original"), rec(1, "original")], 1, "type", "a second original text"),
    ([rec(1, "original"), rec(2, "modified"), rec(1, "modified")], 1, "index", "no twin"),
    ([rec(1, "original"), rec(1, "modified", label=2)], 1, "label", "unexpected value 2"),
    ([rec(1, "original"), rec(1, "modified", task="cola")], 1, "task", "'cola'"),
])
def test_bad_pairs_name_line_and_key(tmp_path: Path, records: list, bad: int, key: str, needle: str) -> None:
    path = write(tmp_path, "robustness", "AdvGLUE", records)
    with pytest.raises(DatasetError) as info:
        spec("trust_advglue").load(tmp_path)
    assert (info.value.line, info.value.key) == (line_of(path, bad), key) and needle in str(info.value)


@pytest.mark.skipif(not real("trust_advglue"), reason=f"no TrustLLM AdvGLUE.json in {REAL_DATA}")
def test_real_file() -> None:
    ds = datasets.load("trust_advglue", REAL_DATA)
    assert ds.n == 912 and len({i.meta["pair"] for i in ds.items}) == 456
