"""The exact prompt strings of both protocols, per prompt style."""

from __future__ import annotations

import dataclasses
import json

import pytest

from medcheck import datasets, prompts
from medcheck.datasets.types import ChoiceItem
from medcheck.prompts import Request, requests_for
from medcheck.registry import UnknownNameError

OPTIONS = ("Aspirin", "Heparin, unfractionated", "Warfarin", "Digoxin")
MMLU_ITEM = ChoiceItem(id="ck-1", question="  Which drug is an anticoagulant?\n", options=OPTIONS, gold=2,
                       subject="clinical knowledge")
QA_ITEM = ChoiceItem(id="medqa-1", question="A 60-year-old man has chest pain. Which drug?", options=OPTIONS, gold=0)
PUBMED_ITEM = ChoiceItem(id="123", question="Does X reduce Y?", options=("yes", "no", "maybe"),
                         labels=("yes", "no", "maybe"), gold=1, context="First context.\nSecond context.")

LETTER_CASES = [
    pytest.param(MMLU_ITEM, "mmlu",
                 "The following are multiple choice questions (with answers) about clinical knowledge.\n\n"
                 "Which drug is an anticoagulant?\n"
                 "A. Aspirin\nB. Heparin, unfractionated\nC. Warfarin\nD. Digoxin\nAnswer:",
                 [" A", " B", " C", " D"], id="mmlu"),
    pytest.param(QA_ITEM, "qa",
                 "Question: A 60-year-old man has chest pain. Which drug?\n"
                 "A. Aspirin\nB. Heparin, unfractionated\nC. Warfarin\nD. Digoxin\nAnswer:",
                 [" A", " B", " C", " D"], id="medqa"),
    pytest.param(PUBMED_ITEM, "abstract",
                 "Abstract: First context.\nSecond context.\nQuestion: Does X reduce Y?\nAnswer:",
                 [" yes", " no", " maybe"], id="pubmed_qa"),
]


@pytest.mark.parametrize(("item", "style", "context", "continuations"), LETTER_CASES)
def test_letter_protocol_exact_strings(item: ChoiceItem, style: str, context: str, continuations: list[str]) -> None:
    requests = requests_for(item, "letter", style)
    assert requests == [Request(context, c) for c in continuations]


OPTION_TEXT_CASES = [
    pytest.param(dataclasses.replace(MMLU_ITEM, question="Which drug is an anticoagulant?"),
                 "The following makes sense: \nQ: Which drug is an anticoagulant?\nA: ", list(OPTIONS), id="mmlu"),
    pytest.param(QA_ITEM, "The following makes sense: \nQ: A 60-year-old man has chest pain. Which drug?\nA: ",
                 list(OPTIONS), id="medqa"),
    pytest.param(PUBMED_ITEM,
                 "The following makes sense: \nQ: First context.\nSecond context.\nDoes X reduce Y?\nA: ",
                 ["yes", "no", "maybe"], id="pubmed_qa"),
]


@pytest.mark.parametrize(("item", "context", "continuations"), OPTION_TEXT_CASES)
@pytest.mark.parametrize("style", ["mmlu", "qa", "abstract"])
def test_option_text_protocol_exact_strings(item: ChoiceItem, context: str, continuations: list[str],
                                            style: str) -> None:
    # the option-text template is the same for every prompt style
    assert requests_for(item, "option-text", style) == [Request(context, c) for c in continuations]


def test_mmlu_sample_item_through_the_loader() -> None:
    ds = datasets.load("mmlu_clinical_knowledge", limit=1)
    item = ds.items[0]
    requests = requests_for(item, "letter", ds.prompt_style)
    head = "The following are multiple choice questions (with answers) about clinical knowledge.\n\n"
    body = f"{item.question}\n" + "".join(f"{letter}. {o}\n" for letter, o in zip("ABCD", item.options)) + "Answer:"
    assert [r.context for r in requests] == [head + body] * 4
    assert [r.continuation for r in requests] == [" A", " B", " C", " D"]


def test_medqa_sample_item_through_the_loader() -> None:
    ds = datasets.load("medqa", limit=1)
    item = ds.items[0]
    (first, *_rest) = requests_for(item, "letter", ds.prompt_style)
    assert first.context.startswith(f"Question: {item.question}\nA. {item.options[0]}\nB. ")
    assert first.context.endswith(f"\nD. {item.options[3]}\nAnswer:")


def test_pubmed_sample_item_through_the_loader() -> None:
    ds = datasets.load("pubmed_qa", limit=1)
    item = ds.items[0]
    raw = json.loads((datasets.SAMPLES_DIR / "pubmed_qa" / "ori_pqal.json").read_text(encoding="utf-8"))[item.id]
    letter = requests_for(item, "letter", ds.prompt_style)
    assert letter[0].context == f"Abstract: {chr(10).join(raw['CONTEXTS'])}\nQuestion: {raw['QUESTION']}\nAnswer:"
    assert [r.continuation for r in letter] == [" yes", " no", " maybe"]
    option_text = requests_for(item, "option-text", ds.prompt_style)
    abstract = "\n".join(raw["CONTEXTS"])
    assert option_text[0].context == f"The following makes sense: \nQ: {abstract}\n{raw['QUESTION']}\nA: "
    assert option_text[0].context.index(abstract) < option_text[0].context.index(raw["QUESTION"])


def test_one_request_per_option_sharing_one_context() -> None:
    five = ChoiceItem(id="5", question="Q", options=tuple("vwxyz"), labels=tuple("ABCDE"), gold=4)
    for protocol in prompts.PROTOCOLS:
        requests = requests_for(five, protocol, "qa")
        assert len(requests) == 5 and len({r.context for r in requests}) == 1
    assert "E. z\nAnswer:" in requests_for(five, "letter", "qa")[0].context


@pytest.mark.parametrize(("protocol", "suggestion"), [("leter", "letter"), ("option_text", "option-text"),
                                                      ("optiontext", "option-text")])
def test_unknown_protocol_suggests(protocol: str, suggestion: str) -> None:
    with pytest.raises(UnknownNameError) as info:
        requests_for(QA_ITEM, protocol, "qa")
    assert suggestion in info.value.suggestions and "did you mean" in str(info.value)


def test_unknown_prompt_style_suggests() -> None:
    with pytest.raises(UnknownNameError) as info:
        requests_for(QA_ITEM, "letter", "abstrct")
    assert "abstract" in info.value.suggestions


def test_prompt_version_is_declared() -> None:
    assert isinstance(prompts.PROMPT_VERSION, int) and prompts.PROMPT_VERSION >= 1
    assert set(prompts.PROTOCOLS) == {"letter", "option-text"}
