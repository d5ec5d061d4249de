"""The uncompressed reference: the checkpoint as it is, in the run's dtype."""

from __future__ import annotations

from typing import Any

from medcheck.compression import LoadOptions


def load_pretrained(checkpoint: str, options: LoadOptions, **kwargs: Any) -> Any:
    """from_pretrained with the security defaults: safetensors only, no remote code."""
    import torch
    from transformers import AutoModelForCausalLM

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
