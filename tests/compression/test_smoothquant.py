"""SmoothQuant: function-preserving smoothing, the scale formula, W8/W4 weights, A8 activations."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from medcheck.compression import LoadOptions
from medcheck.compression.applied import MARKER
from medcheck.compression.rtn import decoder_linears
from medcheck.compression.smoothquant import (
    HANDLES,
    SMOOTHQUANT_W4A8,
    SMOOTHQUANT_W8A8,
    activation_bits,
    activation_max,
    attach_activation_quant,
    quantize_per_token,
    smooth_,
    smooth_scales,
    smoothing_groups,
)
from medcheck.errors import ConfigError
from tests.compression.tiny import logits, probe_ids, random_calibration, tiny_llama


def _with_outliers():
    """A tiny Llama whose normalized activations have a few loud channels, as real LLMs do."""
    model = tiny_llama()
    with torch.no_grad():
        for layer in model.model.layers:
            layer.input_layernorm.weight[[3, 17, 40]] = 30.0
            layer.post_attention_layernorm.weight[[5, 60]] = 20.0
    return model


def test_scale_formula_on_a_hand_made_example():
    act_max = torch.tensor([4.0, 1.0, 9.0])
    w1 = torch.tensor([[1.0, -2.0, 0.5], [0.5, 0.25, -1.0]])
    w2 = torch.tensor([[-3.0, 1.0, 0.25]])                  # max|W_j| over both: [3, 2, 1]
    assert torch.allclose(smooth_scales(act_max, [w1, w2], 0.5),
                          torch.tensor([2 / 3 ** 0.5, 1 / 2 ** 0.5, 3.0]))
    assert torch.allclose(smooth_scales(act_max, [w1, w2], 0.75),
                          torch.tensor([4 ** 0.75 / 3 ** 0.25, 1 / 2 ** 0.25, 9 ** 0.75]))
    assert torch.allclose(smooth_scales(act_max, [w1, w2], 0.0), 1 / torch.tensor([3.0, 2.0, 1.0]))


def test_smoothing_alone_leaves_logits_unchanged_and_balances_the_maxima():
    model, calibration, probe = _with_outliers(), random_calibration(), probe_ids()
    before, norms_before = logits(model, probe), [n.weight.clone() for n, _ in smoothing_groups(model)]
    act_before = activation_max(model, calibration)
    smooth_(model, calibration, alpha=0.5)
    assert torch.allclose(logits(model, probe), before, atol=1e-5, rtol=1e-4)
    assert not any(torch.allclose(n.weight, b) for (n, _), b in zip(smoothing_groups(model), norms_before))
    # alpha = 0.5: afterwards max|X_j| = max|W_j| = sqrt(max|X_j| max|W_j|) of before, per channel
    for (_, linears), act_after, act in zip(smoothing_groups(model), activation_max(model, calibration), act_before):
        w_max = torch.cat([m.weight for m in linears]).abs().amax(dim=0)
        assert torch.allclose(act_after, w_max, rtol=1e-4)
        assert act_after.max() / act_after.min() < act.max() / act.min()   # outliers flattened


@pytest.mark.parametrize("recipe", [SMOOTHQUANT_W8A8, SMOOTHQUANT_W4A8], ids=lambda r: r.name)
def test_weights_have_at_most_2_to_the_bits_levels_per_row(recipe):
    model = recipe.apply(_with_outliers(), None, random_calibration())
    for name, module in decoder_linears(model):
        levels = max(len(torch.unique(row)) for row in module.weight)
        assert levels <= 2 ** recipe.params["w_bits"], name
    assert model.config.medcheck_act_bits == 8
    assert torch.equal(model.lm_head.weight, tiny_llama().lm_head.weight)


def test_activation_quant_changes_outputs_slightly_not_wildly():
    dense, probe = _with_outliers(), probe_ids()
    quantized = attach_activation_quant(copy.deepcopy(dense), 8)
    reference, out = logits(dense, probe), logits(quantized, probe)
    relative = ((out - reference).norm() / reference.norm()).item()
    assert 0 < relative < 0.05
    coarse = logits(attach_activation_quant(copy.deepcopy(dense), 4), probe)
    assert (coarse - reference).norm() / reference.norm() > relative      # fewer bits, more error


def test_per_token_quantization_and_reattaching():
    x = torch.tensor([[1.0, -0.5, 0.26], [100.0, 1.0, -2.0]])
    q = quantize_per_token(x, 8)
    assert torch.equal(q[:, 0], x[:, 0])                    # each token's absmax is exact
    assert (q - x).abs().max(dim=1).values.le(x.abs().amax(dim=1) / 127 / 2 + 1e-6).all()
    model = attach_activation_quant(attach_activation_quant(tiny_llama(), 8), 8)
    assert len(getattr(model, HANDLES)) == len(decoder_linears(model))
    assert all(len(m._forward_pre_hooks) == 1 for _, m in decoder_linears(model))


def test_load_reattaches_activation_quant_after_from_pretrained(tmp_path):
    applied = SMOOTHQUANT_W8A8.apply(_with_outliers(), None, random_calibration())
    options = LoadOptions(dtype="float32", device="cpu", cache_dir=tmp_path, base_fingerprint="tiny")
    folder = tmp_path / "compressed" / f"{SMOOTHQUANT_W8A8.name}-{SMOOTHQUANT_W8A8.cache_key(options)}"
    applied.save_pretrained(folder)                          # a build already in the cache
    (folder / MARKER).write_text(json.dumps({"recipe": SMOOTHQUANT_W8A8.describe()}))
    loaded = SMOOTHQUANT_W8A8.load("unused-dense-path", options)
    assert activation_bits(loaded) == 8 and len(getattr(loaded, HANDLES)) == len(decoder_linears(loaded))
    probe = probe_ids()
    assert torch.allclose(logits(loaded, probe), logits(applied, probe), atol=1e-6)


def test_config_errors():
    with pytest.raises(ConfigError, match="calibration"):
        SMOOTHQUANT_W8A8.apply(tiny_llama(), None, [])
    bad = type(SMOOTHQUANT_W8A8)("bad", params={"w_bits": 8, "a_bits": 8, "alpha": 1.5}, calibrated=True)
    with pytest.raises(ConfigError, match="alpha"):
        bad.apply(tiny_llama(), None, random_calibration())


def test_exports():
    assert SMOOTHQUANT_W8A8.params == {"w_bits": 8, "a_bits": 8, "alpha": 0.5}
    assert SMOOTHQUANT_W4A8.params == {"w_bits": 4, "a_bits": 8, "alpha": 0.5}
    assert SMOOTHQUANT_W8A8.calibrated and SMOOTHQUANT_W4A8.calibrated
