"""Prompt protocols: how a multiple-choice item becomes log-likelihood requests.

- `letter`: lm-evaluation-harness's zero-shot prompts (MMLU, MedQA-4-options, PubMedQA), scoring
  the answer labels (" A".." D", " yes"/" no"/" maybe"), so numbers compare with lm-eval.
- `option-text`: CMedBench's protocol, the log-likelihood of each option's full text after
  "The following makes sense: \\nQ: {question}\\nA: ", argmax (acc) and per-character (acc_norm).

PROMPT_VERSION enters every cache key and report: bump it whenever any template changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from medcheck.datasets.types import ChoiceItem
from medcheck.registry import suggest

PROMPT_VERSION = 1
PROTOCOLS = ("letter", "option-text")


@dataclass(frozen=True)
class Request:
    """Score log P(continuation | context). Requests of one item share their context."""

    context: str
    continuation: str


def _options_block(item: ChoiceItem) -> str:
    return "".join(f"{label}. {text}\n" for label, text in zip(item.labels, item.options))


def _mmlu(item: ChoiceItem) -> str:
    return (f"The following are multiple choice questions (with answers) about {item.subject}.\n\n"
            f"{item.question.strip()}\n{_options_block(item)}Answer:")


def _qa(item: ChoiceItem) -> str:
    return f"Question: {item.question}\n{_options_block(item)}Answer:"


def _abstract(item: ChoiceItem) -> str:
    return f"Abstract: {item.context}\nQuestion: {item.question}\nAnswer:"


LETTER_STYLES: dict[str, Callable[[ChoiceItem], str]] = {"mmlu": _mmlu, "qa": _qa, "abstract": _abstract}


def requests_for(item: ChoiceItem, protocol: str, prompt_style: str) -> list[Request]:
    """One request per option, in option order."""
    if protocol == "letter":
        if prompt_style not in LETTER_STYLES:
            raise suggest("prompt style", prompt_style, list(LETTER_STYLES))
        context = LETTER_STYLES[prompt_style](item)
        return [Request(context, f" {label}") for label in item.labels]
    if protocol == "option-text":
        question = f"{item.context}\n{item.question}" if item.context else item.question
        context = f"The following makes sense: \nQ: {question}\nA: "
        return [Request(context, option) for option in item.options]
    raise suggest("protocol", protocol, list(PROTOCOLS))
