"""Prompting strategies for generative tasks (seed 001): zero-shot, few-shot, chain of thought and
self-consistency, and the run that turns items into parsed `GenRecord`s through a backend.

    zero-shot         the task's instruction, then the item
    few-shot          the instruction, k solved examples from the task's dev split (seeded, fixed
                      order), then the item
    cot               zero-shot plus a request to reason first and end with "Answer: <answer>"
    self-consistency  the cot prompt sampled n times at a temperature; the parsed answers vote

The parser always reads what follows the last "Answer:" when the text has one, so a chain of
thought's reasoning never reaches it. A task that supports only some strategies (trust probes are
zero-shot by design) runs zero-shot, and its records say so.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from medcheck.backends import Backend, GenerationRequest
from medcheck.datasets.types import TextItem
from medcheck.errors import ConfigError
from medcheck.scoring.generative import GenerativeSpec, GenRecord, vote

STRATEGIES = ("zero-shot", "few-shot", "cot", "self-consistency")
COT_SUFFIX = ("Think step by step. Then write the final answer on its own last line, in the form "
              "\"Answer: <answer>\".")
GENERATION_VERSION = 1   # bump when prompt assembly or answer extraction changes: part of every store key
_ANSWER = re.compile(r"answer\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class Strategy:
    name: str = "zero-shot"
    shots: int = 3               # few-shot examples
    samples: int = 5             # self-consistency draws
    temperature: float = 0.7     # self-consistency sampling temperature
    reasoning_tokens: int = 256  # budget added to the task's answer budget when the model reasons first

    def __post_init__(self) -> None:
        if self.name not in STRATEGIES:
            raise ConfigError("settings", "strategy", f"unknown strategy {self.name!r}",
                              f"use one of {', '.join(STRATEGIES)}")
        if self.shots < 1 or self.samples < 1 or not 0 < self.temperature <= 2:
            raise ConfigError("settings", "strategy", f"shots and samples must be >= 1 and temperature in (0, 2], "
                              f"got shots={self.shots}, samples={self.samples}, temperature={self.temperature}")

    def for_task(self, spec: GenerativeSpec) -> Strategy:
        """The strategy a task actually runs: zero-shot where it does not support this one."""
        return self if self.name in spec.strategies else Strategy("zero-shot")

    def key(self) -> dict[str, Any]:
        """The fields that shape this strategy's outputs: part of the store key."""
        wanted = {"zero-shot": (), "few-shot": ("shots",), "cot": ("reasoning_tokens",),
                  "self-consistency": ("samples", "temperature", "reasoning_tokens")}[self.name]
        return {"name": self.name, **{k: v for k, v in asdict(self).items() if k in wanted}}

    @property
    def reasons(self) -> bool:
        return self.name in ("cot", "self-consistency")


def final_answer(text: str) -> str:
    """What follows the last "Answer:" marker, or the whole text when there is none."""
    marks = list(_ANSWER.finditer(text))
    return text[marks[-1].end():].strip() if marks else text.strip()


def pick_shots(pool: Sequence[TextItem], k: int, seed: int, task: str, exclude: set[str]) -> list[TextItem]:
    """k examples from the dev pool in a seeded, fixed order; never an evaluated item."""
    candidates = sorted((s for s in pool if s.id not in exclude), key=lambda s: s.id)
    random.Random(f"{seed}:{task}:shots").shuffle(candidates)
    return candidates[:k]


def user_prompt(spec: GenerativeSpec, item: TextItem, strategy: Strategy, instruction: str,
                shots: Sequence[TextItem] = ()) -> str:
    parts = [instruction.strip()] if instruction.strip() else []
    if strategy.name == "few-shot":
        parts += [f"{spec.render(s)}\nAnswer: {spec.answer(s)}" for s in shots]
    parts.append(spec.render(item))
    if strategy.reasons:
        parts.append(COT_SUFFIX)
    return "\n\n".join(parts)


def generation_requests(backend: Backend, strategy: Strategy, prompts: Sequence[str], max_new_tokens: int,
                        seed: int) -> tuple[list[tuple[str, bool]], list[GenerationRequest]]:
    """The rendered prompts and the requests that answer them (`strategy.samples` draws each for
    self-consistency, one otherwise)."""
    budget = max_new_tokens + (strategy.reasoning_tokens if strategy.reasons else 0)
    draws = strategy.samples if strategy.name == "self-consistency" else 1
    rendered = [backend.chat(p) for p in prompts]
    return rendered, [GenerationRequest(prompt=text, max_new_tokens=budget,
                                        temperature=strategy.temperature if draws > 1 else 0.0,
                                        seed=seed * 1000 + d)
                      for text, _ in rendered for d in range(draws)]


def generate_records(backend: Backend, spec: GenerativeSpec, items: Sequence[TextItem], strategy: Strategy,
                     prompts: Sequence[str], max_new_tokens: int, seed: int,
                     on_tokens: Callable[[int], None] | None = None) -> list[GenRecord]:
    """Generate (batched by the backend), parse and vote: one record per item, nothing dropped."""
    draws = strategy.samples if strategy.name == "self-consistency" else 1
    rendered, requests = generation_requests(backend, strategy, prompts, max_new_tokens, seed)
    t0 = time.perf_counter()
    outputs = backend.generate(requests)
    costs = [o.cost for o in outputs]   # made ahead with other datasets' requests: each output's share
    spent = sum(c for c in costs if c is not None) if None not in costs else time.perf_counter() - t0
    per_item = spent / max(len(items), 1)
    if on_tokens:
        on_tokens(sum(o.new_tokens for o in outputs))
    records = []
    for i, item in enumerate(items):
        mine = outputs[i * draws:(i + 1) * draws]
        parsed, votes = vote([spec.parse(final_answer(o.text), item) for o in mine])
        records.append(GenRecord(item_id=item.id, prompt=rendered[i][0], texts=tuple(o.text for o in mine),
                                 parsed=parsed, votes=votes, new_tokens=sum(o.new_tokens for o in mine),
                                 prompt_tokens=mine[0].prompt_tokens, chat_template=rendered[i][1],
                                 finish=mine[0].finish, timing={"seconds": round(per_item, 4)}))
    return records

