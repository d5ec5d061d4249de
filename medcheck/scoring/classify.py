"""Classification metrics of the generative tasks, in pure Python (no scikit-learn at run time).

Conventions shared by every function:

- A prediction of `None` is an output the parser could not read. It is wrong: it misses its gold
  label (a false negative) and is never a false positive of any label.
- Divisions by zero give 0, as scikit-learn's `zero_division=0`: a label never predicted has
  precision 0, a label never in the gold has recall 0, and F1 is 0 when both are 0.
- Without an explicit label set, per-label averages run over the labels that occur in the gold or
  in the (parsed) predictions of the evaluated items, as scikit-learn does for multi-class input;
  a label that occurs in neither is undefined on these items and left out.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F1 of one label (or one average), with the counts behind them."""

    precision: float
    recall: float
    f1: float
    support: int = 0            # gold occurrences
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @classmethod
    def from_counts(cls, tp: int, fp: int, fn: int) -> PRF:
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        return cls(precision, recall, f1, tp + fn, tp, fp, fn)


def accuracy(gold: Sequence[Any], pred: Sequence[Any]) -> float:
    """Share of items whose prediction equals the gold; an unparsed prediction (None) is wrong."""
    _same_length(gold, pred)
    if not gold:
        return 0.0
    return sum(p is not None and p == g for g, p in zip(gold, pred)) / len(gold)


def per_label(gold: Sequence[Hashable], pred: Sequence[Hashable | None],
              labels: Iterable[Hashable] | None = None) -> dict[Hashable, PRF]:
    """One-vs-rest counts of each label of a single-label task."""
    _same_length(gold, pred)
    chosen = _labels(labels, gold, [p for p in pred if p is not None])
    tp: Counter[Hashable] = Counter()
    fp: Counter[Hashable] = Counter()
    fn: Counter[Hashable] = Counter()
    for g, p in zip(gold, pred):
        if p == g:
            tp[g] += 1
            continue
        fn[g] += 1
        if p is not None:
            fp[p] += 1
    return {label: PRF.from_counts(tp[label], fp[label], fn[label]) for label in chosen}


def averages(scores: dict[Hashable, PRF]) -> dict[str, float]:
    """Macro, micro and support-weighted precision / recall / F1 over per-label scores."""
    out: dict[str, float] = {}
    if not scores:
        return {f"{avg}_{m}": 0.0 for avg in ("macro", "micro", "weighted") for m in ("precision", "recall", "f1")}
    values = list(scores.values())
    micro = PRF.from_counts(sum(s.tp for s in values), sum(s.fp for s in values), sum(s.fn for s in values))
    support = sum(s.support for s in values)
    for metric in ("precision", "recall", "f1"):
        out[f"macro_{metric}"] = sum(getattr(s, metric) for s in values) / len(values)
        out[f"micro_{metric}"] = getattr(micro, metric)
        out[f"weighted_{metric}"] = (sum(getattr(s, metric) * s.support for s in values) / support
                                     if support else 0.0)
    return out


def positive_micro(gold: Sequence[Hashable], pred: Sequence[Hashable | None], negative: Hashable,
                   labels: Iterable[Hashable] | None = None) -> PRF:
    """Relation extraction's micro P/R/F1 over the positive classes only.

    The negative class (DDI-false, ChemProt's false) is left out of the counts: predicting it is
    never a true or false positive, and missing it is never a false negative."""
    positives = [lab for lab in _labels(labels, gold, [p for p in pred if p is not None]) if lab != negative]
    counts = per_label(gold, pred, positives)
    return PRF.from_counts(sum(s.tp for s in counts.values()), sum(s.fp for s in counts.values()),
                           sum(s.fn for s in counts.values()))


def majority_label(gold: Sequence[Any]) -> Any:
    """The most frequent gold value (ties: the one reached first, so the choice is deterministic)."""
    if not gold:
        raise ValueError("no gold labels")
    keyed = [json.dumps(g, sort_keys=True) for g in gold]
    counts = Counter(keyed)
    best = max(counts.values())
    return gold[next(i for i, k in enumerate(keyed) if counts[k] == best)]


def majority_baseline(gold: Sequence[Any], metric: Callable[[Sequence[Any], Sequence[Any]], float]) -> float:
    """What a model answering the most frequent gold value to every evaluated item scores on `metric`."""
    if not gold:
        return 0.0
    mode = majority_label(gold)
    return metric(gold, [mode] * len(gold))


def normalise_mention(text: str) -> str:
    """The form two mentions are compared in: Unicode-normalised, case-folded, without whitespace.

    The releases are tokenised ("5 - fluorouracil"); a model writes "5-fluorouracil". Dropping
    whitespace makes the two one mention without merging different names."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(folded.split()).strip(".,;:'\"`")


def entity_prf(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str] | None]) -> PRF:
    """Entity-level P/R/F1 by exact match of normalised mention strings within each sentence.

    A mention is (sentence, normalised string); repeats within a sentence count as a multiset, so
    a name the gold marks twice must be predicted twice. `None` (unparsed) predicts no entity."""
    _same_length(gold, pred)
    tp = fp = fn = 0
    for g, p in zip(gold, pred):
        g_count = Counter(normalise_mention(m) for m in g)
        p_count = Counter(normalise_mention(m) for m in (p or ()))
        g_count.pop("", None)
        p_count.pop("", None)
        hit = sum((g_count & p_count).values())
        tp += hit
        fp += sum(p_count.values()) - hit
        fn += sum(g_count.values()) - hit
    return PRF.from_counts(tp, fp, fn)


def multilabel(gold: Sequence[Iterable[Hashable]], pred: Sequence[Iterable[Hashable] | None],
               labels: Iterable[Hashable] | None = None) -> tuple[dict[Hashable, PRF], dict[str, float]]:
    """Per-label P/R/F1 of a multi-label task and their macro / micro / weighted averages.

    Each label is a binary decision per item; `None` (unparsed) predicts no label."""
    _same_length(gold, pred)
    gold_sets = [set(g) for g in gold]
    pred_sets = [set(p) if p is not None else set() for p in pred]
    chosen = _labels(labels, [x for g in gold_sets for x in g], [x for p in pred_sets for x in p])
    scores = {}
    for label in chosen:
        tp = sum(label in g and label in p for g, p in zip(gold_sets, pred_sets))
        fp = sum(label not in g and label in p for g, p in zip(gold_sets, pred_sets))
        fn = sum(label in g and label not in p for g, p in zip(gold_sets, pred_sets))
        scores[label] = PRF.from_counts(tp, fp, fn)
    return scores, averages(scores)


def _labels(labels: Iterable[Hashable] | None, gold: Iterable[Hashable], pred: Iterable[Hashable]) -> list[Hashable]:
    if labels is not None:
        return list(dict.fromkeys(labels))
    return sorted(set(gold) | set(pred), key=str)


def _same_length(gold: Sequence[Any], pred: Sequence[Any]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold values but {len(pred)} predictions")
