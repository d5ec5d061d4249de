"""What a generative dataset is prompted with in a run: its strategy, its few-shot examples and its
answer budget. One object per run, so the evaluator never builds prompts itself.

Few-shot examples come from the dataset's dev pool; where that holds too few, from items of its own
split that are not evaluated (the reason lands in `shot_sources` and the report's notes); never an
evaluated item. Their identity is part of the store key (`components`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any, cast

from medcheck import datasets
from medcheck.datasets.types import Dataset, TextItem
from medcheck.errors import ConfigError
from medcheck.memo import Memo
from medcheck.scoring.generative import GenerativeSpec
from medcheck.settings import Settings
from medcheck.strategies import GENERATION_VERSION, Strategy, pick_shots, user_prompt


def spec_of(dataset_id: str) -> GenerativeSpec:
    """The generative spec of a dataset whose task kind is generation."""
    return cast(GenerativeSpec, datasets.info(dataset_id))


Budgets = Callable[[str], dict[str, int]]   # dataset id -> {"limit", "max_new_tokens"} from its track's YAML


class Prompting:
    def __init__(self, settings: Settings, default_strategy: str, budgets: Budgets) -> None:
        self.settings = settings
        self.default_strategy = default_strategy
        self.budgets = budgets
        self._shots: Memo[str, list[TextItem]] = Memo()
        self.shot_sources: dict[str, str] = {}   # dataset id -> where its few-shot examples came from

    @functools.cached_property
    def base_strategy(self) -> Strategy:
        s = self.settings
        return Strategy(s.strategy or self.default_strategy, shots=s.shots, samples=s.samples,
                        temperature=s.temperature)

    def strategy(self, dataset: Dataset) -> Strategy:
        """The strategy a generative dataset runs (the task may not support the chosen one)."""
        return self.base_strategy.for_task(spec_of(dataset.id))

    def budget(self, dataset: Dataset) -> int:
        return self.budgets(dataset.id).get("max_new_tokens", spec_of(dataset.id).max_new_tokens)

    def components(self, dataset: Dataset) -> dict[str, Any]:
        """What shapes a generated record beyond the model and the items: enters the store key."""
        spec = spec_of(dataset.id)
        shots = self.shots(dataset)
        # the instruction is read from the data dir (a release's prompt.txt): records made under
        # another text are other records
        instruction = spec.instruction(datasets.data_root(self.settings.data_dir))
        return {"kind": "generate", "strategy": self.strategy(dataset).key(), "generation_version": GENERATION_VERSION,
                "max_new_tokens": self.budget(dataset), "seed": self.settings.seed,
                "parse_version": spec.parse_version,
                "instruction": hashlib.sha256(instruction.encode()).hexdigest()[:16],
                **({"shots": hashlib.sha256(json.dumps([(s.id, spec.render(s), spec.answer(s)) for s in shots])
                                            .encode()).hexdigest()[:16]} if shots else {})}

    def prompts(self, dataset: Dataset, items: list[TextItem]) -> list[str]:
        spec = spec_of(dataset.id)
        instruction = spec.instruction(datasets.data_root(self.settings.data_dir))
        strategy, shots = self.strategy(dataset), self.shots(dataset)
        return [user_prompt(spec, item, strategy, instruction, shots) for item in items]

    def shots(self, dataset: Dataset) -> list[TextItem]:
        """The few-shot examples of a dataset (none unless the strategy is few-shot)."""
        strategy = self.strategy(dataset)
        if strategy.name != "few-shot":
            return []
        return self._shots.get(dataset.id, lambda: self._pick_shots(dataset, strategy.shots))

    def _pick_shots(self, dataset: Dataset, k: int) -> list[TextItem]:
        spec, root = spec_of(dataset.id), datasets.data_root(self.settings.data_dir)
        evaluated = {i.id for i in dataset.items}
        chosen = pick_shots(spec.shots(root), k, self.settings.seed, dataset.id, evaluated)
        if len(chosen) < k:
            rest: Any = datasets.load(dataset.id, self.settings.data_dir, None).items
            chosen = pick_shots(rest, k, self.settings.seed, dataset.id, evaluated)
            self.shot_sources[dataset.id] = (f"{dataset.id} has no dev pool of {k} examples here; its few-shot "
                                             f"examples are {len(chosen)} items of its evaluated split that are "
                                             "not evaluated")
        if len(chosen) < k:
            raise ConfigError(dataset.id, "few-shot", f"{k} examples wanted, {len(chosen)} available (no dev pool, "
                              "and every item of the split is evaluated)",
                              "add the release's dev split beside the test file, use --medcheck-limit, "
                              "lower --medcheck-shots, or choose another --medcheck-strategy")
        return chosen
