"""Compression recipes: name -> recipe that turns a dense checkpoint into a loaded model.

Recipes are looked up by name in a lazy registry; an unknown name suggests the nearest ones.
`dense` is the reference every candidate is compared against, never a candidate itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from medcheck.registry import Registry

DENSE = "dense"


@dataclass(frozen=True)
class LoadOptions:
    dtype: str                # resolved torch dtype name, e.g. "bfloat16"
    device: str               # "cpu" or "cuda"
    allow_pickle: bool = False
    trust_remote_code: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Recipe(Protocol):
    name: str

    def describe(self) -> dict[str, Any]:
        """Name, library and version, parameters: enters cache keys and reports."""
        ...

    def load(self, checkpoint: str, options: LoadOptions) -> Any:
        """Return a compressed model ready to score (an nn.Module with a HF interface)."""
        ...


RECIPES: Registry[Recipe] = Registry("compression", {
    DENSE: "medcheck.compression.dense:DENSE",
    "bnb-nf4": "medcheck.compression.bnb:NF4",
    "bnb-int8": "medcheck.compression.bnb:INT8",
})
