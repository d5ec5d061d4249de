"""SmoothQuant (Xiao et al. 2023, "SmoothQuant: Accurate and Efficient Post-Training Quantization
for Large Language Models"), fake-quantized W8A8 / W4A8.

1. Smoothing. For the linears that read a normalized activation X (q/k/v after input_layernorm,
   gate/up after post_attention_layernorm), per input channel j:

       s_j = max|X_j|^alpha / max|W_j|^(1 - alpha)

   max|X_j| over all calibration tokens (one pass over the dense model), max|W_j| over the output
   rows of all linears sharing that input. The norm weight is divided by s and those linears'
   weight columns multiplied by s: X W^T = (X / s)(W s)^T, so the float function is unchanged.
   Only Llama-style norms (y = weight * x / rms(x), optional bias) can absorb the division.
2. Weights of every decoder linear: per-output-channel symmetric absmax to `w_bits` (scale =
   max|W_i| / (2^(b-1) - 1)). Embeddings and lm_head stay in full precision.
3. Activations at the input of every decoder linear: dynamic per-token symmetric absmax to
   `a_bits`. This is the paper code's fake-quant setting (per-channel weights, per-token
   activations), done with forward pre-hooks.

Persistence: hooks are not part of a checkpoint. The saved model holds the smoothed, quantized
weights and `config.medcheck_act_bits`; plain from_pretrained gives a weight-only model, so
`SmoothQuant.load` (and any other loader) must call `attach_activation_quant(model, bits)`
afterwards (`activation_bits(model)` reads the config).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, overload

import torch
from torch import nn

from medcheck.compression import LoadOptions
from medcheck.compression.applied import AppliedRecipe
from medcheck.compression.dense import load_pretrained
from medcheck.compression.rtn import decoder_layers, decoder_linears
from medcheck.errors import ConfigError

HANDLES = "_medcheck_act_quant_handles"   # model attribute holding the hooks, for re-attaching


def smoothing_groups(model: Any) -> list[tuple[Any, list[nn.Linear]]]:
    """(norm, linears reading its output) for every decoder layer: attention, then MLP."""
    groups: list[tuple[Any, list[nn.Linear]]] = []
    layer: Any   # a transformers decoder layer: torch types its submodules and norm weights as Tensor | Module
    for layer in decoder_layers(model, "smoothquant"):
        attn, mlp = layer.self_attn, layer.mlp
        groups.append((layer.input_layernorm, [attn.q_proj, attn.k_proj, attn.v_proj]))
        groups.append((layer.post_attention_layernorm, [mlp.gate_proj, mlp.up_proj]))
    return groups


@torch.no_grad()
def activation_max(model: Any, calibration: list[torch.Tensor]) -> list[torch.Tensor]:
    """max over calibration tokens of |X_j| at each smoothing group's input (float32)."""
    groups = smoothing_groups(model)
    maxima = [torch.zeros(linears[0].in_features, device=linears[0].weight.device) for _, linears in groups]

    def track(g: int):
        def hook(module: nn.Module, args: tuple) -> None:
            x = args[0].detach().abs().float().reshape(-1, module.in_features)
            maxima[g] = torch.maximum(maxima[g], x.amax(dim=0))
        return hook

    handles = [linears[0].register_forward_pre_hook(track(g)) for g, (_, linears) in enumerate(groups)]
    try:
        for ids in calibration:
            model(input_ids=ids.to(model.device), use_cache=False)
    finally:
        for h in handles:
            h.remove()
    return maxima


def smooth_scales(act_max: torch.Tensor, weights: list[torch.Tensor], alpha: float) -> torch.Tensor:
    """s_j = max|X_j|^alpha / max|W_j|^(1-alpha), the W max over the rows of all `weights`."""
    w_max = torch.cat([w.abs().float() for w in weights], dim=0).amax(dim=0).clamp(min=1e-5)
    return (act_max.float().pow(alpha) / w_max.pow(1 - alpha)).clamp(min=1e-5)


@torch.no_grad()
def smooth_(model: Any, calibration: list[torch.Tensor], alpha: float = 0.5) -> None:
    """Migrate activation outliers into the weights, in place; the float function is unchanged."""
    maxima = activation_max(model, calibration)
    for (norm, linears), act_max in zip(smoothing_groups(model), maxima):
        s = smooth_scales(act_max, [m.weight for m in linears], alpha)
        norm.weight.copy_(norm.weight.float() / s)
        if getattr(norm, "bias", None) is not None:
            norm.bias.copy_(norm.bias.float() / s)
        for m in linears:
            m.weight.copy_(m.weight.float() * s.unsqueeze(0))


def quantize_per_channel(weight: torch.Tensor, bits: int) -> torch.Tensor:
    """Symmetric absmax fake quantization, one scale per output row (2^bits - 1 levels)."""
    qmax = 2 ** (bits - 1) - 1
    scale = weight.abs().float().amax(dim=-1, keepdim=True).clamp(min=1e-5) / qmax
    return (torch.round(weight.float() / scale).clamp(-qmax, qmax) * scale).to(weight.dtype)


def quantize_per_token(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Dynamic symmetric absmax fake quantization, one scale per token (last dimension)."""
    qmax = 2 ** (bits - 1) - 1
    scale = x.abs().float().amax(dim=-1, keepdim=True).clamp(min=1e-5) / qmax
    return (torch.round(x.float() / scale).clamp(-qmax, qmax) * scale).to(x.dtype)


def attach_activation_quant(model: Any, bits: int) -> Any:
    """Quantize the input of every decoder linear per token to `bits` (replaces earlier hooks)."""
    for handle in getattr(model, HANDLES, []):
        handle.remove()

    def hook(module: nn.Module, args: tuple) -> tuple:
        return (quantize_per_token(args[0], bits), *args[1:])

    setattr(model, HANDLES, [m.register_forward_pre_hook(hook) for _, m in decoder_linears(model)])
    return model


@overload
def activation_bits(model: Any, default: int) -> int: ...


@overload
def activation_bits(model: Any, default: None = None) -> int | None: ...


def activation_bits(model: Any, default: int | None = None) -> int | None:
    """The activation bit width a SmoothQuant checkpoint records in its config."""
    return getattr(model.config, "medcheck_act_bits", default)


@dataclass(frozen=True)
class SmoothQuant(AppliedRecipe):
    """params: {"w_bits": 8 or 4, "a_bits": 8, "alpha": migration strength in [0, 1]}."""

    def apply(self, model: Any, tokenizer: Any, calibration: list[Any]) -> Any:
        w_bits, a_bits = int(self.params["w_bits"]), int(self.params["a_bits"])
        alpha = float(self.params.get("alpha", 0.5))
        if not (2 <= w_bits <= 8 and 2 <= a_bits <= 8 and 0.0 <= alpha <= 1.0):
            raise ConfigError(f"recipe {self.name}", "params", f"{dict(self.params)}: need "
                              "w_bits and a_bits in 2..8 and alpha in [0, 1]")
        if not calibration:
            raise ConfigError(f"recipe {self.name}", "calibration", "SmoothQuant needs calibration samples")
        with torch.no_grad():
            smooth_(model, calibration, alpha)
            for _, m in decoder_linears(model, self.name):
                m.weight.copy_(quantize_per_channel(m.weight, w_bits))
        model.config.medcheck_act_bits = a_bits
        return attach_activation_quant(model, a_bits)

    def load(self, checkpoint: str, options: LoadOptions) -> Any:
        folder, _ = self.ensure_built(checkpoint, options)
        model = load_pretrained(str(folder), options).to(options.device)
        return attach_activation_quant(model, activation_bits(model, int(self.params["a_bits"])))


SMOOTHQUANT_W8A8 = SmoothQuant("smoothquant-w8a8", params={"w_bits": 8, "a_bits": 8, "alpha": 0.5},
                               calibrated=True)
SMOOTHQUANT_W4A8 = SmoothQuant("smoothquant-w4a8", params={"w_bits": 4, "a_bits": 8, "alpha": 0.5},
                               calibrated=True)
