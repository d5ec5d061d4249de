"""Unstructured pruning: Wanda and magnitude, both compared within each output row.

Wanda (Sun et al. 2023, "A Simple and Effective Pruning Approach for Large Language Models")
scores weight W_ij of a linear layer by

    S_ij = |W_ij| * ||X_j||_2

where ||X_j||_2 is the L2 norm of input feature j over all calibration tokens reaching that layer,
and removes the lowest-scoring `sparsity` fraction of each output row (the paper's per-output
comparison group). As in the paper's code, k = int(in_features * sparsity) weights go per row.

Calibration follows the paper: layer by layer. The inputs of decoder layer 0 are captured once;
then for each layer the norms of all its linears' inputs are gathered in one pass (q/k/v/o and
gate/up/down see the layer's still-dense sublayers, as in the paper's code), the layer is pruned,
and it is run again so the next layer is calibrated on the outputs of the *pruned* layers.

Magnitude pruning scores S_ij = |W_ij| and needs no calibration. It uses the same per-row
comparison group as Wanda (not the layer-wide one of classic magnitude pruning), so the two
recipes differ only in the score. Both touch every nn.Linear of the decoder layers, never the
embeddings or lm_head; pruned weights are stored as zeros (the checkpoint stays dense).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from medcheck.compression.applied import AppliedRecipe
from medcheck.compression.rtn import decoder_layers
from medcheck.errors import ConfigError


class _Stop(Exception):
    """Raised by a hook to end a forward pass once decoder layer 0's inputs are captured."""


def prune_rows_(weight: torch.Tensor, scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Zero the int(in_features * sparsity) lowest-scoring weights of each row, in place; the mask."""
    k = int(weight.shape[1] * sparsity)
    mask = torch.zeros_like(weight, dtype=torch.bool)
    if k > 0:
        mask.scatter_(1, torch.topk(scores, k, dim=1, largest=False).indices, True)
    weight.masked_fill_(mask, 0)
    return mask


@torch.no_grad()
def layer_inputs(model: Any, calibration: list[torch.Tensor]) -> list[tuple[torch.Tensor, dict[str, Any]]]:
    """(hidden states, keyword arguments) of decoder layer 0's call, one per calibration sample."""
    captured: list[tuple[torch.Tensor, dict[str, Any]]] = []

    def grab(module: nn.Module, args: tuple, kwargs: dict) -> None:
        hidden = args[0] if args else kwargs.pop("hidden_states")
        captured.append((hidden, dict(kwargs, use_cache=False, past_key_values=None)))
        raise _Stop

    handle = decoder_layers(model)[0].register_forward_pre_hook(grab, with_kwargs=True)
    try:
        for ids in calibration:
            with contextlib.suppress(_Stop):
                model(input_ids=ids.to(model.device), use_cache=False)
    finally:
        handle.remove()
    return captured


def _run_layer(layer: nn.Module, inputs: list[tuple[torch.Tensor, dict[str, Any]]]) -> list[tuple[torch.Tensor, dict]]:
    out = []
    for hidden, kwargs in inputs:
        result = layer(hidden, **kwargs)
        out.append((result[0] if isinstance(result, tuple) else result, kwargs))
    return out


@torch.no_grad()
def wanda_(model: Any, calibration: list[torch.Tensor], sparsity: float) -> None:
    """Prune every decoder linear in place with Wanda, calibrating layer by layer."""
    inputs = layer_inputs(model, calibration)
    for layer in decoder_layers(model):
        linears = {name: m for name, m in layer.named_modules() if isinstance(m, nn.Linear)}
        sq_norms = {name: torch.zeros(m.in_features, device=m.weight.device) for name, m in linears.items()}

        def accumulate(name: str, sq_norms: dict[str, torch.Tensor]) -> Callable[[nn.Module, tuple], None]:
            def hook(module: nn.Module, args: tuple) -> None:
                x = args[0].detach().float().reshape(-1, module.in_features)
                sq_norms[name] += x.pow(2).sum(dim=0)    # sum over tokens of x_j^2
            return hook

        handles = [m.register_forward_pre_hook(accumulate(name, sq_norms)) for name, m in linears.items()]
        try:
            _run_layer(layer, inputs)
        finally:
            for h in handles:
                h.remove()
        for name, m in linears.items():
            scores = m.weight.abs().float() * sq_norms[name].sqrt().unsqueeze(0)
            prune_rows_(m.weight.data, scores, sparsity)
        inputs = _run_layer(layer, inputs)               # the pruned layer feeds the next one


@torch.no_grad()
def magnitude_(model: Any, sparsity: float) -> None:
    """Prune every decoder linear in place by |W|, within each output row."""
    for layer in decoder_layers(model):
        for m in layer.modules():
            if isinstance(m, nn.Linear):
                prune_rows_(m.weight.data, m.weight.abs().float(), sparsity)


@dataclass(frozen=True)
class Pruning(AppliedRecipe):
    """params: {"sparsity": fraction of each row's weights to zero}; method "wanda" or "magnitude"."""

    method: str = "wanda"

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["params"]["method"] = self.method
        return info

    def apply(self, model: Any, tokenizer: Any, calibration: list[Any]) -> Any:
        sparsity = float(self.params["sparsity"])
        if not 0.0 <= sparsity < 1.0:
            raise ConfigError(f"recipe {self.name}", "sparsity", f"{sparsity} is outside [0, 1)")
        if self.method == "wanda" and not calibration:
            raise ConfigError(f"recipe {self.name}", "calibration", "Wanda needs calibration samples, got none")
        with torch.no_grad():
            if self.method == "wanda":
                wanda_(model, calibration, sparsity)
            else:
                magnitude_(model, sparsity)
        return model


WANDA_25 = Pruning("wanda-25", params={"sparsity": 0.25}, calibrated=True)
WANDA_50 = Pruning("wanda-50", params={"sparsity": 0.5}, calibrated=True)
WANDA_75 = Pruning("wanda-75", params={"sparsity": 0.75}, calibrated=True)
MAGNITUDE_50 = Pruning("magnitude-50", params={"sparsity": 0.5}, method="magnitude")
