"""Compression recipes: name -> recipe that turns a dense checkpoint into a loaded model.

Recipes are looked up by name in a lazy registry; an unknown name suggests the nearest ones.
`dense` is the reference every candidate is compared against, never a candidate itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from medcheck.registry import Registry

DENSE = "dense"


@dataclass(frozen=True)
class LoadOptions:
    dtype: str                # resolved torch dtype name, e.g. "bfloat16"
    device: str               # "cpu" or "cuda"
    allow_pickle: bool = False
    trust_remote_code: bool = False
    cache_dir: Path | None = None         # where applied recipes keep their compressed checkpoints
    base_fingerprint: str = ""            # of the dense checkpoint: part of the compressed cache key
    seed: int = 1234
    # never filled: goes once backends/openai.py (load) and backends/vllm.py (tensor_parallel) stop reading it
    extra: dict[str, Any] = field(default_factory=dict)


class Recipe(Protocol):
    @property
    def name(self) -> str: ...

    def describe(self) -> dict[str, Any]:
        """Name, library and version, parameters: enters cache keys and reports."""
        ...

    def load(self, checkpoint: str, options: LoadOptions) -> Any:
        """Return a compressed model ready to score (an nn.Module with a HF interface)."""
        ...


def strategies(recipe: Recipe, checkpoint: str, options: LoadOptions) -> list[Any]:
    """The recipe's ordered loading strategies; by default its load() then a float32 retry."""
    import dataclasses

    from medcheck.loading import Strategy

    if hasattr(recipe, "strategies"):
        return recipe.strategies(checkpoint, options)
    out = [Strategy(f"{recipe.name} ({options.dtype})", lambda: recipe.load(checkpoint, options))]
    if options.dtype != "float32":
        f32 = dataclasses.replace(options, dtype="float32")
        out.append(Strategy(f"{recipe.name} (float32)", lambda: recipe.load(checkpoint, f32)))
    return out


CHECKPOINT_PREFIX = "checkpoint:"


def recipe_for(name: str) -> Recipe:
    """A recipe by name; `checkpoint:<path or hub id>` names a pre-compressed checkpoint."""
    if name.startswith(CHECKPOINT_PREFIX):
        from medcheck.compression.checkpoint import CheckpointRecipe

        return CheckpointRecipe(name.removeprefix(CHECKPOINT_PREFIX))
    return RECIPES[name]


def check_name(name: str) -> str:
    """Validate a compression name without importing its implementation."""
    if name.startswith(CHECKPOINT_PREFIX) and len(name) > len(CHECKPOINT_PREFIX):
        return name
    return RECIPES.check(name)


RECIPES: Registry[Recipe] = Registry("compression", {
    DENSE: "medcheck.compression.dense:DENSE",
    "bnb-nf4": "medcheck.compression.bnb:NF4",
    "bnb-int8": "medcheck.compression.bnb:INT8",
    "gptq-w4": "medcheck.compression.gptq:GPTQ_W4",
    "gptq-w8": "medcheck.compression.gptq:GPTQ_W8",
    "awq-w4": "medcheck.compression.gptq:AWQ_W4",
    "awq-w8": "medcheck.compression.gptq:AWQ_W8",
    "rtn-w2": "medcheck.compression.rtn:RTN_W2",
    "rtn-w4": "medcheck.compression.rtn:RTN_W4",
    "rtn-w8": "medcheck.compression.rtn:RTN_W8",
    "smoothquant-w8a8": "medcheck.compression.smoothquant:SMOOTHQUANT_W8A8",
    "smoothquant-w4a8": "medcheck.compression.smoothquant:SMOOTHQUANT_W4A8",
    "wanda-25": "medcheck.compression.sparsity:WANDA_25",
    "wanda-50": "medcheck.compression.sparsity:WANDA_50",
    "wanda-75": "medcheck.compression.sparsity:WANDA_75",
    "magnitude-50": "medcheck.compression.sparsity:MAGNITUDE_50",
    "shortgpt-15": "medcheck.compression.shortgpt:SHORTGPT_15",
    "shortgpt-25": "medcheck.compression.shortgpt:SHORTGPT_25",
})
