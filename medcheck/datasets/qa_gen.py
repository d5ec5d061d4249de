"""Multiple-choice questions asked generatively: the model writes its answer, a parser reads it.

The choice datasets score options by log-likelihood; the biomedical NLP benchmark (Chen et al.,
Nature Communications 2025) and the quantization studies built on it ask for the answer as text.
`GenerativeQA` wraps a choice dataset's loader, so both read the same release files and items:
an item's text is its context, question and lettered options; its gold is the option's label
(a letter, or yes / no / maybe). Scored by accuracy (a mean of per-item scores), macro F1 beside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from medcheck.datasets.types import ChoiceItem, TextItem
from medcheck.scoring import classify, parse
from medcheck.scoring.generative import TaskScore
from medcheck.strategies import STRATEGIES


class ChoiceSource(Protocol):
    """The choice dataset a generative one asks (its release files and items)."""

    relative_path: str

    def load(self, root: Path) -> list[ChoiceItem]: ...


class GenerativeQA:
    track = "bionlp"
    dimension = "QA"
    kind = "generate"
    prompt_style = "generate"
    strategies = STRATEGIES
    max_new_tokens = 8
    parse_version: str | None = None   # parsing is code alone

    def __init__(self, id: str, source: ChoiceSource, instruction: str,
                 shots: Callable[[Path], list[ChoiceItem]] | None = None, loader_version: int = 1) -> None:
        self.id, self._source, self._instruction, self._shots = id, source, instruction, shots
        self.loader_version = loader_version
        self.relative_path: str = source.relative_path
        # every layout the source's release comes in (`datasets.available` looks for each)
        self.release_paths: tuple[str, ...] = tuple(getattr(source, "release_paths", ()))

    def load(self, root: Path) -> list[TextItem]:
        return [self.text_item(item) for item in self._source.load(root)]

    def shots(self, root: Path) -> list[TextItem]:
        return [self.text_item(item) for item in self._shots(root)] if self._shots else []

    def instruction(self, root: Path) -> str:
        return self._instruction

    @staticmethod
    def text_item(item: ChoiceItem) -> TextItem:
        lettered = item.labels != item.options      # yes / no / maybe are their own labels
        lines = [f"Context: {item.context}"] if item.context else []
        lines.append(f"Question: {item.question}" if item.context else item.question)
        if lettered:
            lines += [f"{label}. {option}" for label, option in zip(item.labels, item.options)]
        return TextItem(id=item.id, text="\n".join(lines), gold=item.labels[item.gold],
                        meta={"labels": list(item.labels), "options": list(item.options)})

    def render(self, item: TextItem) -> str:
        return item.text

    def answer(self, item: TextItem) -> str:
        return str(item.gold)

    def parse(self, text: str, item: TextItem) -> str | None:
        labels, options = item.meta["labels"], item.meta["options"]
        if labels == options:
            return parse.decision(text, labels)
        found = parse.letter(text, labels)
        if found is None:           # the option's text written out instead of its letter
            named = [lab for lab, opt in zip(labels, options) if opt.strip().lower() in text.lower()]
            found = named[0] if len(named) == 1 else None
        return found

    def score(self, items: Sequence[TextItem], parsed: Sequence[object]) -> TaskScore:
        gold = [i.gold for i in items]
        per_item = tuple(float(p is not None and p == g) for g, p in zip(gold, parsed))
        avg = classify.averages(classify.per_label(gold, parsed))
        metrics = {"accuracy": classify.accuracy(gold, parsed), "macro_f1": avg["macro_f1"],
                   "precision": avg["macro_precision"], "recall": avg["macro_recall"]}
        return TaskScore(primary="accuracy", metrics=metrics, n=len(items), unparsed=sum(p is None for p in parsed),
                         item_scores=per_item, majority_baseline=classify.majority_baseline(gold, classify.accuracy))
