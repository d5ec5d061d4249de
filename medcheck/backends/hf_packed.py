"""Linear layers on prepacked oneDNN weights: the transformers backend on CPUs.

On a CPU, `F.linear` re-lays its weight out for the kernel on every call (oneDNN in bfloat16;
float32 goes to MKL's sgemm). A decode step multiplies one row per sequence, so that reorder is
most of the call. oneDNN can keep the weight in the kernel's layout instead
(`torch.ops.mkldnn._reorder_linear_weight`, as torch.compile's CPU weight freezing does) and skip
it: per call 1.3-1.9x faster at 1-64 rows, ~1.1x at a few hundred, where the multiply itself
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

The packed weight is made from the detached weight: packed from a weight that requires grad, a
one-row call took autograd's path, ~400x slower (15 ms against 36 us, torch 2.13).
"""

from __future__ import annotations

import logging
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


class _Packed:
    """A layer's forward on its packed weight (set as the module's instance `forward`). Kept lean:
    a decode step calls ~200 of these, and at one row a call's Python costs as much as its multiply."""

    def __init__(self, module: Any) -> None:
        import torch

        self.module, self.linear = module, torch.ops.mkldnn._linear_pointwise
        self.pack()

    def pack(self) -> None:
        params = self.module._parameters
        self.weight, self.bias = params["weight"], params.get("bias")
        weight = self.weight.detach()
        self.packed = _reorder(weight.contiguous())
        self.version, self.dtype = _version(weight), weight.dtype
        self.bias_data = None if self.bias is None else self.bias.detach()

    def __call__(self, x: Any) -> Any:
        import torch

        params = self.module._parameters
        if (torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad)) \
                or x.dtype != self.dtype or x.numel() == 0:
            return torch.nn.functional.linear(x, params["weight"], params.get("bias"))
        if params["weight"] is not self.weight or params.get("bias") is not self.bias \
                or _version(self.weight) != self.version:
            self.pack()   # replaced or changed in place since it was packed
        return self.linear(x.contiguous(), self.packed, self.bias_data, "none", [], "")


def _reorder(weight: Any) -> Any:
    import torch

    return torch.ops.mkldnn._reorder_linear_weight(weight)


def _version(tensor: Any) -> int | None:
    try:
        return int(tensor._version)
    except RuntimeError:   # an inference-mode tensor has no version counter, and cannot change in place
        return None


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
    try:
        packed = [(module, _Packed(module)) for module in layers]
    except RuntimeError as exc:   # a oneDNN build that refuses a shape: the whole model stays on F.linear
        logging.getLogger("medcheck").warning("medcheck: linear layers not prepacked (%s)", str(exc).splitlines()[0])
        return 0
    for module, forward in packed:
        module.forward = forward  # type: ignore[method-assign,assignment]
    return len(packed)
