"""Linear layers on prepacked oneDNN weights: the transformers backend on CPUs.

On a CPU, `F.linear` re-lays its weight out for the kernel on every call (oneDNN in bfloat16;
float32 goes to MKL's sgemm). A decode step multiplies one row per sequence, so that reorder is
most of the call. oneDNN can keep the weight in the kernel's layout instead
(`torch.ops.mkldnn._reorder_linear_weight`, as torch.compile's CPU weight freezing does) and skip
it: per call 1.3-1.9x faster at 2-64 rows, ~1.1x at a few hundred, where the multiply itself
dominates (docs/measurements.md). In bfloat16 the products are bit for bit those of `F.linear`
(the same oneDNN kernel, minus the reorder); in float32 they differ from MKL's by rounding
(~1e-5 relative). Either way dense and candidate run the same path, and `VERSION` enters every
store key, so records of the two paths never mix.

Only exact `nn.Linear` modules are packed: quantized layers (bitsandbytes, GPTQ, ...) subclass it
or replace it with their own kernels. The original weight stays where it was, so everything that
reads weights (bits per weight, the footprint, tied embeddings) is unchanged; the packed copy is
extra memory for as long as the model is loaded (~2 bytes a weight in bfloat16). So a model whose
plain linear weights exceed `MAX_BYTES` is not packed at all: a 7B model on a CPU would need 14 GB
more. The rule depends on the model and dtype only, so a model's records always come from one path.
A weight changed after packing is packed again at its next call; autograd calls take `F.linear`.

One row is padded to two: oneDNN's prepacked one-row path was ~200x slower than its two-row one
on the CPUs measured (torch 2.13), and a row's product does not depend on the rows beside it.
"""

from __future__ import annotations

import types
from typing import Any

VERSION = "cpu linear: onednn prepacked"
MAX_BYTES = 2 << 30   # plain linear weights packed at most (a ~1B-parameter model in bfloat16): the copy's cost
_DTYPES = ("float32", "bfloat16")


def _available(dtype: Any) -> bool:
    import torch

    mkldnn = torch.ops.mkldnn
    if not (torch.backends.mkldnn.is_available() and hasattr(mkldnn, "_reorder_linear_weight")
            and hasattr(mkldnn, "_linear_pointwise")):
        return False
    if str(dtype).removeprefix("torch.") not in _DTYPES:
        return False
    return dtype != torch.bfloat16 or bool(getattr(mkldnn, "_is_mkldnn_bf16_supported", lambda: False)())


def _pack(module: Any) -> None:
    import torch

    weight = module.weight.detach()
    module._medcheck_packed = (torch.ops.mkldnn._reorder_linear_weight(weight.contiguous()), _version(weight))


def _version(tensor: Any) -> int | None:
    try:
        return int(tensor._version)
    except RuntimeError:   # an inference-mode tensor has no version counter, and cannot change in place
        return None


def _forward(self: Any, x: Any) -> Any:
    import torch

    weight = self.weight
    if (torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)) or x.dtype != weight.dtype \
            or x.numel() == 0 or x.device.type != "cpu":
        return torch.nn.functional.linear(x, weight, self.bias)
    if self._medcheck_packed[1] != _version(weight):
        _pack(self)
    rows = x.reshape(-1, x.shape[-1])
    if rows.shape[0] == 1:
        rows = rows.expand(2, -1)
    bias = None if self.bias is None else self.bias.detach()
    out = torch.ops.mkldnn._linear_pointwise(rows.contiguous(), self._medcheck_packed[0], bias, "none", [], "")
    return out[:x.numel() // x.shape[-1]].reshape(*x.shape[:-1], out.shape[-1])


def prepack(model: Any) -> int:
    """Give every plain `nn.Linear` of a CPU model in float32 or bfloat16 a prepacked weight;
    returns how many were packed (0 where oneDNN, the dtype or `MAX_BYTES` does not allow it)."""
    import torch

    layers = []
    for module in model.modules():
        if type(module) is not torch.nn.Linear or "forward" in module.__dict__:
            continue   # subclasses are quantized layers; an instance forward is someone's wrapper
        weight = module.weight
        if weight.device.type == "cpu" and not weight.is_meta and _available(weight.dtype):
            layers.append(module)
    if sum(m.weight.numel() * m.weight.element_size() for m in layers) > MAX_BYTES:
        return 0
    for module in layers:
        _pack(module)
        module.forward = types.MethodType(_forward, module)  # type: ignore[method-assign]
    return len(layers)
