"""Which folder the vLLM backend loads for a compression (medcheck.backends.vllm), or why it cannot."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from medcheck.errors import ConfigError

if TYPE_CHECKING:
    from medcheck.compression import LoadOptions
    from medcheck.models import ResolvedModel

VLLM_FORMATS = ("plain", "gptq", "awq", "compressed-tensors", "bitsandbytes")


def checkpoint_for(label: str, model: ResolvedModel, compression: str, options: LoadOptions) -> tuple[str, str]:
    """(folder vLLM loads, format) for a compression, or an error naming the backend that runs it."""
    from medcheck.compression import CHECKPOINT_PREFIX, DENSE, recipe_for

    if model.kind == "openai":
        raise ConfigError("model spec", model.spec, "is a server, not a checkpoint vLLM can load",
                          "run it with --medcheck-backend openai")
    if compression == DENSE:
        return model.path, "plain"
    recipe: Any = recipe_for(compression)   # a checkpoint or a whole-model recipe: checked below
    if compression.startswith(CHECKPOINT_PREFIX):
        folder = recipe.folder
    elif _saves_whole_model(recipe):   # built once into the cache (through transformers), then loaded
        folder, _ = recipe.ensure_built(model.path, options)
    else:
        raise ConfigError("compression", compression,
                          "is applied by transformers when the model loads; vLLM cannot load it",
                          "run it with --medcheck-backend hf, or save the compressed model in a format vLLM "
                          f"loads ({', '.join(VLLM_FORMATS[1:])}) and name it checkpoint:<folder>")
    from medcheck.compression.checkpoint import detect_format

    fmt = detect_format(Path(folder))
    if fmt not in VLLM_FORMATS:
        raise ConfigError("compression", compression, f"{fmt} checkpoints are not loaded by the vllm backend",
                          "run it with --medcheck-backend hf")
    from transformers import AutoConfig

    from medcheck.compression.checkpoint import check_architecture

    check_architecture(SimpleNamespace(config=AutoConfig.from_pretrained(folder)), model.path, label)
    return str(folder), fmt


def _saves_whole_model(recipe: Any) -> bool:
    """A recipe whose result is entirely the folder it saves (RTN, pruning, ShortGPT, GPTQ/AWQ);
    SmoothQuant also quantizes activations when it loads, which a saved folder does not carry."""
    from medcheck.compression.applied import AppliedRecipe
    from medcheck.compression.gptq import GPTQModelRecipe

    return isinstance(recipe, AppliedRecipe) and type(recipe).load in (AppliedRecipe.load, GPTQModelRecipe.load)
