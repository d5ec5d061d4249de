"""TrustLLM truthfulness (Huang et al., ICML 2024; MIT): CODAH, external claims, hallucination.

Release files, as CMedBench runs them, under `<data dir>/trust/trustllm/truthfulness/`:
- `internal_codah.json` (100): prompt, answer (option number 0-3), source "codah", question.
- `external.json` (400): prompt, answer SUPPORT / REFUTE, source (climate, scifact, covid, healthver).
- `hallucination.json` (652): prompt, answer, source: `mc` (TruthfulQA multiple choice; answer is
  the right option's text, always written as option A), `halu_qa`, `halu_dial`, `halu_summ`
  (HaluEval; answer Yes / No: does the text hallucinate).

Scoring, offline as TrustLLM's own: accuracy, higher is better. The answer is read from the
output as TrustLLM reads it: the first option number (CODAH); "support" or "refute" when exactly
one is said (external); the first option letter (mc) or exactly one of yes / no (HaluEval).
Anything else is unparsed and counts as wrong. Per-source accuracies are reported beside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medcheck.datasets.types import TextItem
from medcheck.errors import DatasetError
from medcheck.scoring.generative import TaskScore
from medcheck.trust.release import (
    TrustSpec,
    choice,
    letter,
    read_records,
    relative,
    words,
    yes_no,
)
from medcheck.trust.scores import accuracy


class Codah(TrustSpec):
    id, dimension, max_new_tokens = "trust_internal_codah", "truthfulness", 16
    relative_path = relative("truthfulness", "internal_codah")

    def load(self, root: Path) -> list[TextItem]:
        records = read_records(root, self.relative_path, self.id, ("prompt", "answer"))
        path = root / self.relative_path
        return [TextItem(f"{self.id}-{i:04d}", r["prompt"], choice(path, line, r, "answer", (0, 1, 2, 3)),
                         {"source": r.get("source", "")}) for i, (line, r) in enumerate(records)]

    def parse(self, text: str, item: TextItem) -> int | None:
        match = re.search(r"(?<![\d.])([0-3])(?!\d|\.\d)", text)
        return int(match.group(1)) if match else None

    def score(self, items: Sequence[TextItem], parsed: Sequence[Any]) -> TaskScore:
        return accuracy(items, parsed)


class External(TrustSpec):
    id, dimension, max_new_tokens = "trust_external", "truthfulness", 16
    relative_path = relative("truthfulness", "external")

    def load(self, root: Path) -> list[TextItem]:
        records = read_records(root, self.relative_path, self.id, ("prompt", "answer"))
        path = root / self.relative_path
        return [TextItem(f"{self.id}-{i:04d}", r["prompt"], choice(path, line, r, "answer", ("SUPPORT", "REFUTE")),
                         {"source": r.get("source", "")}) for i, (line, r) in enumerate(records)]

    def answer(self, item: TextItem) -> str:
        return "Supports" if item.gold == "SUPPORT" else "Refutes"

    def parse(self, text: str, item: TextItem) -> str | None:
        low = text.lower()
        said = [label for label, stem in (("SUPPORT", "support"), ("REFUTE", "refut")) if stem in low]
        return said[0] if len(said) == 1 else None

    def score(self, items: Sequence[TextItem], parsed: Sequence[Any]) -> TaskScore:
        return accuracy(items, parsed, by="source")


HALU_SOURCES = ("mc", "halu_qa", "halu_dial", "halu_summ")


class Hallucination(TrustSpec):
    id, dimension, max_new_tokens = "trust_hallucination", "truthfulness", 16
    relative_path = relative("truthfulness", "hallucination")

    def load(self, root: Path) -> list[TextItem]:
        records = read_records(root, self.relative_path, self.id, ("prompt", "answer", "source"))
        path = root / self.relative_path
        items = []
        for i, (line, r) in enumerate(records):
            source = choice(path, line, r, "source", HALU_SOURCES)
            gold = _mc_letter(path, line, r) if source == "mc" else choice(path, line, r, "answer", ("Yes", "No"))
            items.append(TextItem(f"{self.id}-{i:04d}", r["prompt"], gold, {"source": source}))
        return items

    def parse(self, text: str, item: TextItem) -> str | None:
        if item.meta["source"] == "mc":
            return letter(text, "ABCDEFGH")
        said = yes_no(text)
        return said.capitalize() if said else None

    def score(self, items: Sequence[TextItem], parsed: Sequence[Any]) -> TaskScore:
        return accuracy(items, parsed, by="source")


def _mc_letter(path: Path, line: int, record: dict[str, Any]) -> str:
    """The letter of the option whose text is the record's answer (TruthfulQA mc items)."""
    block = re.search(r"options:\s*(.*?)\n\s*\n", record["prompt"], re.DOTALL)
    options = re.findall(r"(?:^|\n)([A-H])\. (.*)", block.group(1)) if block else []
    wanted = " ".join(words(str(record["answer"])))
    for key, option in options:
        if " ".join(words(option)) == wanted:
            return key
    raise DatasetError(path, "the answer is none of the options listed in the prompt", line=line, key="answer",
                       expected="TruthfulQA mc items: 'Here are the options: A. ... B. ...' with the answer among them")


DATASETS = {spec.id: spec for spec in (Codah(), External(), Hallucination())}
