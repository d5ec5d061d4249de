"""Effective bits per weight and weight bytes, counted from the tensors a loaded model holds.

Every stored tensor counts (packed weights, scales, zero points, absmax, index tensors); pruned
weights count as what is stored (zeros in a dense tensor cost full width). "Logical" weights are
what the dense architecture has: in x out per linear layer, plus embeddings and norms.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class WeightStats:
    weight_bytes: int            # every stored tensor of the model (tied tensors once)
    logical_weights: int         # parameters of the equivalent dense model
    bits_per_weight: float       # 8 * weight_bytes / logical_weights
    linear_bits_per_weight: float  # the same over the linear layers only (what quantization targets)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tensor_bytes(tensors: dict[str, Any], seen: dict[int, Any]) -> int:
    """`seen` keeps each counted tensor alive: a state dict may build tensors on the fly (bitsandbytes'
    packed quant state), and a freed one's address could be reused by the next, which would then be
    skipped as already counted (how many depended on the allocator's history)."""
    total = 0
    for tensor in tensors.values():
        if not hasattr(tensor, "element_size"):
            continue
        key = tensor.data_ptr() if tensor.numel() else id(tensor)
        if key in seen:
            continue
        seen[key] = tensor
        total += tensor.numel() * tensor.element_size()
    return total


def _linear_shape(module: Any) -> tuple[int, int] | None:
    for a, b in (("in_features", "out_features"), ("infeatures", "outfeatures")):
        if isinstance(getattr(module, a, None), int) and isinstance(getattr(module, b, None), int):
            return getattr(module, a), getattr(module, b)
    return None


def weight_stats(model: Any) -> WeightStats:
    seen: dict[int, Any] = {}
    linear_bytes = linear_logical = 0
    linear_names: set[str] = set()
    head = model.get_output_embeddings()
    for name, module in model.named_modules():
        shape = _linear_shape(module)
        if shape is None or module is head:   # the head is counted with the embeddings (often tied)
            continue
        linear_names.add(name)
        linear_bytes += _tensor_bytes(module.state_dict(), seen)
        linear_logical += shape[0] * shape[1] + (shape[1] if getattr(module, "bias", None) is not None else 0)
    rest_bytes = _tensor_bytes(model.state_dict(), seen)      # embeddings, norms, anything not linear
    rest_logical = 0
    for name, param in model.named_parameters():   # tied parameters are listed once
        owner = name.rsplit(".", 1)[0]
        if owner not in linear_names and not any(owner.startswith(n + ".") for n in linear_names if n):
            rest_logical += param.numel()
    total_bytes, total_logical = linear_bytes + rest_bytes, linear_logical + rest_logical
    return WeightStats(total_bytes, total_logical, round(8 * total_bytes / max(total_logical, 1), 3),
                       round(8 * linear_bytes / max(linear_logical, 1), 3))
