"""Multiple choice by log-likelihood: per-item records and per-dataset summaries.

Where the backend keeps them (medcheck.backends.teacher.option_distributions), a record also holds
each option's tokens with their top-k next-token distributions from the scoring pass (`dists`):
what fidelity to the dense model reads per token (medcheck.fidelity.choice_item).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from medcheck.backends import LogLik
from medcheck.backends.teacher import TokenDists
from medcheck.datasets.types import ChoiceItem
from medcheck.stats import wilson  # the accuracy interval of a Summary

DEGENERATE_SHARE = 0.9   # one answer for more than this share of items
TOP_K = 10               # ids kept per option token: ~20 numbers a token, as generated items keep
DIGITS = 5               # log-probabilities stored to 1e-5 nats, far below any fidelity floor (0.05)


@dataclass(frozen=True)
class SampleRecord:
    item_id: str
    prediction: str            # label of the highest summed log-likelihood (acc)
    prediction_norm: str       # label of the highest per-character log-likelihood (acc_norm)
    gold: str
    correct: bool
    correct_norm: bool
    scores: tuple[float, ...]  # summed log-likelihood per option
    prompt_tokens: int
    dists: tuple[dict[str, Any], ...] | None = None   # per option: TokenDists.rounded (None: not kept)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.dists is None:   # records of engines that keep none read as before
            del out["dists"]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SampleRecord:
        dists = data.get("dists")
        return cls(**{**data, "scores": tuple(data["scores"]), "dists": None if dists is None else tuple(dists)})

    def option_dists(self) -> list[TokenDists] | None:
        return None if self.dists is None else [TokenDists.from_dict(d) for d in self.dists]


def score_item(item: ChoiceItem, logliks: Sequence[LogLik], option_chars: Sequence[int],
               dists: Sequence[TokenDists] | None = None) -> SampleRecord:
    scores = [ll.logprob for ll in logliks]
    best = max(range(len(scores)), key=scores.__getitem__)
    # lm-eval's acc_norm: log-likelihood divided by the continuation's length in characters
    norm = [s / max(n, 1) for s, n in zip(scores, option_chars)]
    best_norm = max(range(len(norm)), key=norm.__getitem__)
    return SampleRecord(item_id=item.id, prediction=item.labels[best], prediction_norm=item.labels[best_norm],
                        gold=item.labels[item.gold], correct=best == item.gold, correct_norm=best_norm == item.gold,
                        scores=tuple(round(s, 6) for s in scores), prompt_tokens=logliks[0].context_tokens,
                        dists=None if dists is None else tuple(d.rounded(DIGITS) for d in dists))


@dataclass(frozen=True)
class Summary:
    n: int
    accuracy: float
    acc_norm: float
    ci95: tuple[float, float]
    top_answer: str
    top_share: float            # share of items given the most common prediction
    gold_share: float           # share of items whose gold label is that same answer
    degenerate: bool
    majority_baseline: float | None = None   # accuracy of always answering the most common gold label
    classification: dict[str, float] = field(default_factory=dict)   # seed 002: macro / weighted P, R, F1

    @property
    def performance(self) -> float:
        """What a relative score compares: accuracy (higher is better)."""
        return self.accuracy

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(records: Sequence[SampleRecord]) -> Summary:
    n = len(records)
    if n == 0:
        raise ValueError("no records to summarize: the dataset selection is empty")
    correct = sum(r.correct for r in records)
    top, count = Counter(r.prediction for r in records).most_common(1)[0]
    gold_share = sum(r.gold == top for r in records) / n
    top_share = count / n
    # Degenerate: one answer for almost every item although the gold labels are not that skewed.
    degenerate = top_share > DEGENERATE_SHARE and gold_share <= DEGENERATE_SHARE
    return Summary(n=n, accuracy=correct / n, acc_norm=sum(r.correct_norm for r in records) / n,
                   ci95=wilson(correct, n), top_answer=top, top_share=top_share, gold_share=gold_share,
                   degenerate=degenerate,
                   majority_baseline=Counter(r.gold for r in records).most_common(1)[0][1] / n,
                   classification=_classification(records))


def _classification(records: Sequence[SampleRecord]) -> dict[str, float]:
    """Macro and support-weighted precision, recall and F1 over the gold and predicted labels."""
    from medcheck.scoring.classify import averages, per_label

    scores = averages(per_label([r.gold for r in records], [r.prediction for r in records]))
    return {k: round(v, 6) for k, v in scores.items() if k.startswith(("macro_", "weighted_"))}
