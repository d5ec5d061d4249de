"""The uncompressed reference: the checkpoint as it is, in the run's dtype."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medcheck.compression import LoadOptions
from medcheck.errors import ModelLoadError


def load_pretrained(checkpoint: str, options: LoadOptions, **kwargs: Any) -> Any:
    """from_pretrained with the security defaults: safetensors only, no remote code."""
    import torch
    from transformers import AutoModelForCausalLM

    folder = Path(checkpoint)
    if (not options.allow_pickle and folder.is_dir() and not list(folder.glob("*.safetensors"))
            and list(folder.glob("*.bin"))):
        raise ModelLoadError(f"{checkpoint}: only pickle (.bin) weights, which can run arbitrary code when "
                             "loaded; refused by default\n  convert them to safetensors, or pass "
                             "--medcheck-allow-pickle if you trust their source")
    return AutoModelForCausalLM.from_pretrained(
        checkpoint, dtype=getattr(torch, options.dtype), use_safetensors=not options.allow_pickle,
        trust_remote_code=options.trust_remote_code, **kwargs)


class Dense:
    name = "dense"

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "library": None, "params": {}}

    def load(self, checkpoint: str, options: LoadOptions) -> Any:
        return load_pretrained(checkpoint, options).to(options.device)


DENSE = Dense()
