"""Prompt assembly, answer extraction and voting of the prompting strategies (no model)."""

from __future__ import annotations

import pytest

from medcheck import datasets
from medcheck.datasets.types import TextItem
from medcheck.errors import ConfigError
from medcheck.scoring.generative import majority_share, vote
from medcheck.strategies import COT_SUFFIX, Strategy, final_answer, pick_shots, user_prompt


def test_final_answer_takes_the_text_after_the_last_marker():
    assert final_answer("Reasoning... the answer: B is tempting.\nAnswer: C") == "C"
    assert final_answer("ANSWER:  yes ") == "yes"
    assert final_answer("no marker here") == "no marker here"


def test_vote_is_a_majority_that_ignores_unparsed_and_breaks_ties_by_order():
    assert vote(["B", None, "A", "B"]) == ("B", 2)
    assert vote([["x", "y"], ["x", "y"], ["z"]]) == (["x", "y"], 2)
    assert vote([None, None]) == (None, 0)
    assert vote(["A", "B"]) == ("A", 1)


def test_majority_share():
    assert majority_share(["a", "a", "b", "c"]) == 0.5
    assert majority_share([]) == 0.0


def test_shots_are_seeded_fixed_and_never_an_evaluated_item():
    pool = [TextItem(f"s{i}", f"text {i}", "A") for i in range(10)]
    first = pick_shots(pool, 3, seed=1, task="t", exclude={"s0", "s1"})
    assert first == pick_shots(list(reversed(pool)), 3, seed=1, task="t", exclude={"s0", "s1"})
    assert len(first) == 3 and not {"s0", "s1"} & {s.id for s in first}
    assert first != pick_shots(pool, 3, seed=2, task="t", exclude={"s0", "s1"})


def test_prompts_per_strategy():
    spec = datasets.info("medqa_gen")
    items = datasets.load("medqa_gen", limit=3).items
    item, shots = items[0], list(items[1:])
    zero = user_prompt(spec, item, Strategy("zero-shot"), "Answer the question.")
    few = user_prompt(spec, item, Strategy("few-shot"), "Answer the question.", shots)
    cot = user_prompt(spec, item, Strategy("cot"), "Answer the question.")
    assert zero.startswith("Answer the question.") and spec.render(item) in zero and COT_SUFFIX not in zero
    assert all(f"Answer: {spec.answer(s)}" in few for s in shots) and few.endswith(spec.render(item))
    assert cot.endswith(COT_SUFFIX)


def test_strategy_validation_and_keys():
    with pytest.raises(ConfigError, match="unknown strategy"):
        Strategy("tree-of-thought")
    with pytest.raises(ConfigError, match="temperature"):
        Strategy("self-consistency", temperature=0)
    assert Strategy("zero-shot", shots=7).key() == {"name": "zero-shot"}
    assert Strategy("few-shot", shots=5).key() == {"name": "few-shot", "shots": 5}
    assert Strategy("self-consistency").key()["samples"] == 5


def test_a_task_without_the_strategy_runs_zero_shot():
    trust = datasets.info("trust_jailbreak")
    assert Strategy("cot").for_task(trust).name == "zero-shot"
    assert Strategy("cot").for_task(datasets.info("ddi")).name == "cot"
