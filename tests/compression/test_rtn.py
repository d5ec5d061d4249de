"""RTN: group-wise asymmetric round-to-nearest, fake-quantized."""

from __future__ import annotations

import pytest
import torch

from medcheck.compression import rtn
from medcheck.compression.rtn import RTN_W2, RTN_W4, RTN_W8, decoder_linears, make, quantize_groupwise
from medcheck.errors import ConfigError
from tests.compression.tiny import logits, probe_ids, tiny_llama


def _max_levels_per_group(weight: torch.Tensor, group_size: int) -> int:
    groups = weight.reshape(weight.shape[0], -1, group_size).reshape(-1, group_size)
    return max(len(torch.unique(g)) for g in groups)


@pytest.mark.parametrize("recipe", [RTN_W2, RTN_W4, RTN_W8, make(3, 32)], ids=lambda r: r.name)
def test_at_most_2_to_the_bits_levels_per_group(recipe):
    model = recipe.apply(tiny_llama(), None, [])
    bits, group_size = recipe.params["bits"], recipe.params["group_size"]
    for name, module in decoder_linears(model):
        assert module.weight.dtype == torch.float32
        assert _max_levels_per_group(module.weight, group_size) <= 2 ** bits, name


def test_hand_made_group_zero_is_exact_and_a_constant_group_is_kept():
    w = torch.tensor([[0.0, 0.5, -0.25, 1.0], [0.3, 0.3, 0.3, 0.3]])
    q = quantize_groupwise(w, bits=2, group_size=4)
    scale = 1.25 / 3                                   # (max - min) / (2^2 - 1), zero = round(0.6) = 1
    assert torch.allclose(q[0], torch.tensor([0.0, 1.0, -1.0, 2.0]) * scale)
    assert (q[0] - w[0]).abs().max() <= scale / 2 + 1e-6
    assert torch.allclose(q[1], w[1])                  # range [0, 0.3]: 0.3 is the top level


def test_error_shrinks_with_more_bits():
    dense = tiny_llama()
    probe = probe_ids()
    weight_err, logit_err = [], []
    for bits in (2, 3, 4, 8):
        model = make(bits, 64).apply(tiny_llama(), None, [])
        weight_err.append(sum((m.weight - d.weight).pow(2).sum().item()
                              for (_, m), (_, d) in zip(decoder_linears(model), decoder_linears(dense))))
        logit_err.append((logits(model, probe) - logits(dense, probe)).abs().mean().item())
    assert weight_err == sorted(weight_err, reverse=True) and weight_err[-1] < 1e-3 * weight_err[0]
    assert logit_err == sorted(logit_err, reverse=True)


def test_embeddings_lm_head_and_norms_untouched():
    dense = tiny_llama()
    model = RTN_W2.apply(tiny_llama(), None, [])
    quantized = {f"{name}.weight" for name, _ in decoder_linears(model)}
    dense_state = dense.state_dict()
    for key, value in model.state_dict().items():
        if key in quantized:
            assert not torch.equal(value, dense_state[key]), key
        else:
            assert torch.equal(value, dense_state[key]), key
    assert "lm_head.weight" not in quantized and "model.embed_tokens.weight" not in quantized


def test_group_size_not_dividing_a_width_names_layer_width_and_divisors():
    model = tiny_llama()                                      # widths 64 and 128
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ConfigError) as info:
        make(4, 128).apply(model, None, [])
    message = str(info.value)
    assert "model.layers.0.self_attn.q_proj" in message and "64" in message and "[32, 64]" in message
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())   # nothing half-done


def test_smollm2_widths_reject_group_128():
    # SmolLM2-135M's widths: hidden 576, intermediate 1536 (one layer is enough)
    model = tiny_llama(n_layers=1, hidden_size=576, intermediate_size=1536, num_attention_heads=9,
                       num_key_value_heads=3)
    with pytest.raises(ConfigError, match=r"q_proj.in_features = 576.*\[32, 64\]") as info:
        make(4, 128).apply(model, None, [])
    assert "[576, 1536]: [32, 64]" in str(info.value)
    make(4, 64).apply(model, None, [])                       # 64 divides both


def test_exports():
    assert (RTN_W4.params, RTN_W8.params["bits"], RTN_W2.params["bits"]) == ({"bits": 4, "group_size": 64}, 8, 2)
    assert not RTN_W4.calibrated and rtn.RTN_W4.describe()["name"] == "rtn-w4"
    with pytest.raises(ConfigError, match="bits"):
        make(1, 64).apply(tiny_llama(), None, [])
