"""Generative scoring: a prompt per item, text generated through the backend, parsed, scored per task.

A generative dataset module's spec (`kind = "generate"`) says how its items become prompts and how
its outputs are parsed and scored (`GenerativeSpec`); the prompting strategy (medcheck.strategies)
wraps the spec's prompt. Nothing is scored silently: an output the parser cannot read is `None`,
counted as "unparsed" and reported, and the generated text is kept per item for audit.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from medcheck.datasets.types import TextItem


@dataclass(frozen=True)
class GenRecord:
    """One item's generation: the prompt sent, every sampled text, and the parsed answer."""

    item_id: str
    prompt: str
    texts: tuple[str, ...]          # one per sample (self-consistency draws several)
    parsed: Any                     # JSON-able answer after voting; None: unparsed
    votes: int                      # how many samples agreed with `parsed`
    new_tokens: int                 # summed over samples
    prompt_tokens: int
    chat_template: bool             # whether the model's chat template rendered the prompt
    finish: str                     # finish reason of the first sample ("eos", "stop", "length")
    timing: dict[str, float] = field(default_factory=dict)   # seconds: kept apart from the outcome
    teacher: dict[str, Any] | None = None   # the teacher-forced pass over the dense answer (medcheck.scoring.forced)

    @property
    def unparsed(self) -> bool:
        return self.parsed is None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenRecord:
        return cls(**{**data, "texts": tuple(data["texts"])})


@dataclass(frozen=True)
class TaskScore:
    """A task's metrics on one run. `primary` names the metric the track scores, a fraction in [0, 1]
    whose direction `higher_is_better` states. `item_scores` are per-item values whose mean is the
    primary metric, where it is such a mean (accuracy, refusal rate); None for corpus metrics (F1)."""

    primary: str
    metrics: dict[str, float]
    n: int
    unparsed: int
    higher_is_better: bool = True
    item_scores: tuple[float, ...] | None = None
    majority_baseline: float | None = None

    @property
    def value(self) -> float:
        return self.metrics[self.primary]

    @property
    def performance(self) -> float:
        """The primary metric turned so that higher is better (1 - rate where lower is better)."""
        return self.value if self.higher_is_better else 1.0 - self.value

    @property
    def unparsed_share(self) -> float:
        return self.unparsed / self.n if self.n else 0.0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("item_scores")
        return out


class GenerativeSpec(Protocol):
    """What a `kind = "generate"` dataset spec adds to the choice specs' fields (medcheck.datasets)."""

    id: str
    track: str
    dimension: str
    loader_version: int
    relative_path: str
    kind: str                       # "generate"
    max_new_tokens: int             # the token budget of one answer (chain of thought gets more)
    strategies: tuple[str, ...]     # the prompting strategies this task supports

    @property
    def parse_version(self) -> str | None:
        """What decides parsed answers beyond the code (a judge's fingerprint), for the store key."""
        ...

    def load(self, root: Path) -> list[TextItem]: ...

    def shots(self, root: Path) -> list[TextItem]:
        """Labelled examples for few-shot prompts (a dev split); [] when the release has none."""
        ...

    def instruction(self, root: Path) -> str:
        """The zero-shot instruction (the release's prompt.txt where it has one)."""
        ...

    def render(self, item: TextItem) -> str:
        """The item's input as it follows the instruction."""
        ...

    def answer(self, item: TextItem) -> str:
        """The gold answer written as the model should write it (few-shot examples)."""
        ...

    def parse(self, text: str, item: TextItem) -> Any:
        """The answer found in generated text (JSON-able), or None when none can be read."""
        ...

    def score(self, items: Sequence[TextItem], parsed: Sequence[Any]) -> TaskScore: ...


def vote(parsed: Sequence[Any]) -> tuple[Any, int]:
    """Majority over parsed answers (self-consistency); unparsed samples do not vote.

    Ties go to the answer first reached, so the vote is deterministic for a fixed seed."""
    keyed = [json.dumps(p, sort_keys=True) for p in parsed if p is not None]
    if not keyed:
        return None, 0
    counts = Counter(keyed)
    best = max(counts.values())
    winner = next(k for k in keyed if counts[k] == best)
    return json.loads(winner), best


def majority_share(labels: Sequence[Any]) -> float:
    """Share of the most frequent gold label: what always answering it would score as accuracy."""
    if not labels:
        return 0.0
    keyed = Counter(json.dumps(x, sort_keys=True) for x in labels)
    return max(keyed.values()) / len(labels)
