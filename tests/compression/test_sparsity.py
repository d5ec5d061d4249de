"""Wanda and magnitude pruning: per-row comparison groups, exact sparsity, the Wanda score."""

from __future__ import annotations

import pytest
import torch

from medcheck.compression.rtn import decoder_linears
from medcheck.compression.sparsity import MAGNITUDE_50, WANDA_25, WANDA_50, WANDA_75, prune_rows_
from medcheck.errors import ConfigError
from tests.compression.tiny import logits, probe_ids, random_calibration, tiny_llama


@pytest.mark.parametrize("recipe", [WANDA_25, WANDA_50, WANDA_75, MAGNITUDE_50], ids=lambda r: r.name)
def test_exact_sparsity_in_every_output_row_and_the_model_runs(recipe):
    model = recipe.apply(tiny_llama(), None, random_calibration())
    for name, module in decoder_linears(model):
        zeros = (module.weight == 0).sum(dim=1)
        assert (zeros == int(module.in_features * recipe.params["sparsity"])).all(), name
    dense = tiny_llama()
    assert torch.equal(model.lm_head.weight, dense.lm_head.weight)
    assert torch.equal(model.model.embed_tokens.weight, dense.model.embed_tokens.weight)
    out = logits(model, probe_ids())
    assert out.shape == (1, 24, 256) and torch.isfinite(out).all()


def test_hand_made_row_comparison_wanda_versus_magnitude():
    w = torch.tensor([[1.0, 2.0], [3.0, 1.0]])
    norms = torch.tensor([10.0, 1.0])                       # ||X_j||: feature 0 is loud
    wanda = w.clone()
    prune_rows_(wanda, w.abs() * norms, 0.5)                # scores [[10, 2], [30, 1]]
    magnitude = w.clone()
    prune_rows_(magnitude, w.abs(), 0.5)
    assert wanda.tolist() == [[1.0, 0.0], [3.0, 0.0]]
    assert magnitude.tolist() == [[0.0, 2.0], [3.0, 0.0]]


def test_wanda_layer0_uses_the_input_norms_of_the_dense_model():
    calibration = random_calibration()
    dense = tiny_llama()
    sq = torch.zeros(64)

    def accumulate(module, args):
        sq.add_(args[0].reshape(-1, 64).pow(2).sum(0))

    hook = dense.model.layers[0].self_attn.q_proj.register_forward_pre_hook(accumulate)
    for ids in calibration:
        logits(dense, ids)
    hook.remove()
    expected = dense.model.layers[0].self_attn.q_proj.weight.detach().clone()
    prune_rows_(expected, expected.abs() * sq.sqrt(), 0.5)
    model = WANDA_50.apply(tiny_llama(), None, calibration)
    assert torch.equal(model.model.layers[0].self_attn.q_proj.weight, expected)


def _skewed() -> torch.nn.Module:
    """Features 0-7 of layer 0's attention input made 100x louder, q/k/v columns 100x smaller:
    the same function, but magnitude sees tiny weights where Wanda sees ordinary scores."""
    model = tiny_llama()
    layer = model.model.layers[0]
    with torch.no_grad():
        layer.input_layernorm.weight[:8] *= 100
        for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
            proj.weight[:, :8] /= 100
    return model


def test_wanda_prunes_differently_from_magnitude_when_input_norms_are_skewed():
    probe, calibration = probe_ids(), random_calibration()
    assert torch.allclose(logits(_skewed(), probe), logits(tiny_llama(), probe), atol=1e-5)
    wanda = WANDA_50.apply(_skewed(), None, calibration)
    magnitude = MAGNITUDE_50.apply(_skewed(), None, [])
    for proj in ("q_proj", "k_proj", "v_proj"):
        kept_wanda = getattr(wanda.model.layers[0].self_attn, proj).weight[:, :8].ne(0).float().mean()
        kept_magnitude = getattr(magnitude.model.layers[0].self_attn, proj).weight[:, :8].ne(0).float().mean()
        assert kept_magnitude == 0, proj                    # magnitude drops every quiet-weight column
        assert kept_wanda > 0.3, proj                       # Wanda keeps about half, as elsewhere
    # Wanda's objective: the layer's output error on the calibration inputs is smaller
    dense = _skewed()
    inputs = []
    hook = dense.model.layers[0].self_attn.v_proj.register_forward_pre_hook(
        lambda module, args: inputs.append(args[0]) and None)
    for ids in calibration:
        logits(dense, ids)
    hook.remove()
    x = torch.cat(inputs).reshape(-1, 64)
    w = dense.model.layers[0].self_attn.v_proj.weight
    error = {name: (x @ (m.model.layers[0].self_attn.v_proj.weight - w).T).norm().item()
             for name, m in (("wanda", wanda), ("magnitude", magnitude))}
    assert error["wanda"] < 0.8 * error["magnitude"], error   # 2.78 vs 4.23 here


def test_wanda_without_calibration_is_a_config_error():
    with pytest.raises(ConfigError, match="calibration"):
        WANDA_50.apply(tiny_llama(), None, [])


def test_exports():
    assert [r.params["sparsity"] for r in (WANDA_25, WANDA_50, WANDA_75)] == [0.25, 0.5, 0.75]
    assert WANDA_50.calibrated and not MAGNITUDE_50.calibrated
    assert MAGNITUDE_50.describe()["params"] == {"sparsity": 0.5, "method": "magnitude"}
