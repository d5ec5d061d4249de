"""ShortGPT layer removal (Men et al. 2024, "ShortGPT: Layers in Large Language Models are More
Redundant Than You Expect").

Block Influence of decoder layer i, over every calibration token t:

    BI_i = 1 - mean_t cos(h_in_i[t], h_out_i[t])

where h_in_i / h_out_i are the hidden states entering and leaving layer i (in Hugging Face terms
hidden_states[i] and hidden_states[i+1] of output_hidden_states=True). They are captured with a
forward hook on each layer, not read from output_hidden_states: there, the last entry is the
output of the final RMSNorm, which would skew the last layer's BI. The mean runs over all tokens
of all samples (token-weighted, as the paper's sum over tokens).

The round(layers_pct * n_layers) layers with the lowest BI are removed, rounding half up (15% of
30 layers removes 5, not Python's banker's-rounding 4), at least 1 and at most n_layers - 1.
The survivors are renumbered (self_attn.layer_idx, config.num_hidden_layers, per-layer config
lists such as layer_types), so the model runs with a KV cache and reloads with from_pretrained.
The removed indices and every layer's BI are kept in the config (`medcheck_removed_layers`,
`medcheck_block_influence`), which save_pretrained writes to config.json.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from medcheck.compression.applied import AppliedRecipe
from medcheck.compression.rtn import decoder_layers
from medcheck.errors import ConfigError

PER_LAYER_CONFIG_LISTS = ("layer_types", "no_rope_layers")   # config lists indexed by layer


@torch.no_grad()
def block_influence(model: Any, calibration: list[torch.Tensor]) -> list[float]:
    """BI_i for every decoder layer, on the calibration token ids ([1, T] tensors)."""
    layers = decoder_layers(model)
    sums = [0.0] * len(layers)
    count = 0

    def measure(i: int):
        def hook(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
            h_in = args[0] if args else kwargs["hidden_states"]
            h_out = output[0] if isinstance(output, tuple) else output
            cos = torch.nn.functional.cosine_similarity(h_in.float(), h_out.float(), dim=-1)
            sums[i] += cos.sum().item()
        return hook

    handles = [layer.register_forward_hook(measure(i), with_kwargs=True) for i, layer in enumerate(layers)]
    try:
        for ids in calibration:
            model(input_ids=ids.to(model.device), use_cache=False)
            count += ids.numel()
    finally:
        for h in handles:
            h.remove()
    return [1.0 - s / count for s in sums]


def n_to_remove(layers_pct: float, n_layers: int) -> int:
    """round(layers_pct * n_layers), half up, clamped to [1, n_layers - 1]."""
    return min(max(1, math.floor(layers_pct * n_layers + 0.5 + 1e-9)), n_layers - 1)


def remove_layers_(model: Any, remove: list[int]) -> None:
    """Drop the decoder layers at `remove` in place and renumber the rest so caching still works."""
    layers, dropped = decoder_layers(model), set(remove)
    keep = [i for i in range(len(layers)) if i not in dropped]
    model.model.layers = nn.ModuleList(layers[i] for i in keep)
    for new_idx, layer in enumerate(model.model.layers):
        for module in layer.modules():          # self_attn.layer_idx and any other per-layer index
            if hasattr(module, "layer_idx"):
                module.layer_idx = new_idx
    config = model.config
    for key in PER_LAYER_CONFIG_LISTS:
        value = getattr(config, key, None)
        if isinstance(value, list) and len(value) == len(layers):
            setattr(config, key, [value[i] for i in keep])
    config.num_hidden_layers = len(keep)


@dataclass(frozen=True)
class ShortGPT(AppliedRecipe):
    """params: {"layers_pct": fraction of decoder layers to remove}."""

    def apply(self, model: Any, tokenizer: Any, calibration: list[Any]) -> Any:
        pct = float(self.params["layers_pct"])
        n_layers = len(decoder_layers(model, self.name))
        if not 0.0 < pct < 1.0 or n_layers < 2:
            raise ConfigError(f"recipe {self.name}", "layers_pct",
                              f"{pct} of {n_layers} layers: need 0 < layers_pct < 1 and at least 2 layers")
        if not calibration:
            raise ConfigError(f"recipe {self.name}", "calibration", "ShortGPT needs calibration samples, got none")
        bi = block_influence(model, calibration)
        order = sorted(range(n_layers), key=lambda i: (bi[i], i))   # lowest BI first, ties by index
        removed = sorted(order[:n_to_remove(pct, n_layers)])
        remove_layers_(model, removed)
        model.config.medcheck_removed_layers = removed
        model.config.medcheck_block_influence = [round(b, 6) for b in bi]
        return model


SHORTGPT_15 = ShortGPT("shortgpt-15", params={"layers_pct": 0.15}, calibrated=True)
SHORTGPT_25 = ShortGPT("shortgpt-25", params={"layers_pct": 0.25}, calibrated=True)
