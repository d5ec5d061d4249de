"""Round-to-nearest (RTN) weight-only quantization, group-wise asymmetric, fake-quantized.

RTN is the data-free baseline of the GPTQ (Frantar et al. 2023) and AWQ (Lin et al. 2024) papers:
each group of `group_size` consecutive input channels of a weight row gets its own scale and
integer zero point from the group's min and max, and every weight is rounded to the nearest level:

    scale = (max - min) / (2^b - 1),  zero = round(-min / scale)
    q = clamp(round(w / scale) + zero, 0, 2^b - 1),  w_hat = (q - zero) * scale

As in GPTQ's `Quantizer`, the range is widened to include 0 (min <= 0 <= max), so the zero point
is an integer in [0, 2^b - 1], 0.0 is exactly representable (pruned weights stay 0) and a constant
group is reproduced. Every nn.Linear inside the decoder layers is quantized; the embeddings and
lm_head stay in full precision. Weights are replaced by their dequantized values in the model's
dtype ("fake quantization"): the checkpoint measures accuracy, not memory or speed.

The helpers `decoder_layers` and `decoder_linears` are shared by the other applied recipes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from medcheck.compression.applied import AppliedRecipe
from medcheck.errors import ConfigError

GROUP_SIZES = (32, 64, 128)


def decoder_layers(model: Any, recipe: str = "compression") -> nn.ModuleList:
    """`model.model.layers` of a Llama-like causal LM, or a ConfigError saying it is missing."""
    layers = getattr(getattr(model, "model", None), "layers", None)
    if not isinstance(layers, nn.ModuleList):
        raise ConfigError(f"recipe {recipe}", "", f"{type(model).__name__} has no model.layers",
                          "this recipe needs a Llama-like decoder (model.model.layers[i])")
    return layers


def decoder_linears(model: Any, recipe: str = "compression") -> list[tuple[str, nn.Linear]]:
    """Every nn.Linear inside the decoder layers, with its full name (never embeddings or lm_head)."""
    return [(f"model.layers.{i}.{name}", module)
            for i, layer in enumerate(decoder_layers(model, recipe))
            for name, module in layer.named_modules() if isinstance(module, nn.Linear)]


def quantize_groupwise(weight: torch.Tensor, bits: int, group_size: int) -> torch.Tensor:
    """Dequantized RTN weights (same shape and dtype); `group_size` must divide the row width."""
    out_features, in_features = weight.shape
    w = weight.float().reshape(out_features, in_features // group_size, group_size)
    qmax = 2 ** bits - 1
    lo = w.amin(dim=-1, keepdim=True).clamp(max=0)
    hi = w.amax(dim=-1, keepdim=True).clamp(min=0)
    scale = (hi - lo) / qmax
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))   # all-zero group: any scale works
    zero = torch.round(-lo / scale)
    q = torch.clamp(torch.round(w / scale) + zero, 0, qmax)
    return ((q - zero) * scale).reshape(out_features, in_features).to(weight.dtype)


def check_group_size(linears: list[tuple[str, nn.Linear]], group_size: int, recipe: str) -> None:
    """Raise a ConfigError naming the first layer whose width `group_size` does not divide."""
    widths = sorted({m.in_features for _, m in linears})
    for name, module in linears:
        if module.in_features % group_size:
            fits = [g for g in GROUP_SIZES if module.in_features % g == 0]
            model_fits = [g for g in GROUP_SIZES if all(w % g == 0 for w in widths)]
            raise ConfigError(
                f"recipe {recipe}", "group_size",
                f"{group_size} does not divide {name}.in_features = {module.in_features}; "
                f"valid group sizes among {GROUP_SIZES} for width {module.in_features}: {fits or 'none'}",
                f"use a group size dividing every input width of this model {widths}: "
                f"{model_fits or 'none of ' + str(GROUP_SIZES)}")


@dataclass(frozen=True)
class RTN(AppliedRecipe):
    """params: {"bits": 2..8, "group_size": input channels per scale/zero-point group}."""

    def apply(self, model: Any, tokenizer: Any, calibration: list[Any]) -> Any:
        bits, group_size = int(self.params["bits"]), int(self.params["group_size"])
        if not 2 <= bits <= 8:
            raise ConfigError(f"recipe {self.name}", "bits", f"{bits} is outside 2..8")
        linears = decoder_linears(model, self.name)
        check_group_size(linears, group_size, self.name)   # before touching any weight
        with torch.no_grad():
            for _, module in linears:
                module.weight.copy_(quantize_groupwise(module.weight, bits, group_size))
        return model


def make(bits: int, group_size: int) -> RTN:
    """An RTN recipe for any bit width and group size, named `rtn-w<bits>-g<group_size>`."""
    return RTN(f"rtn-w{bits}-g{group_size}", params={"bits": bits, "group_size": group_size})


RTN_W4 = RTN("rtn-w4", params={"bits": 4, "group_size": 64})
RTN_W8 = RTN("rtn-w8", params={"bits": 8, "group_size": 64})
RTN_W2 = RTN("rtn-w2", params={"bits": 2, "group_size": 64})   # deliberately destructive
