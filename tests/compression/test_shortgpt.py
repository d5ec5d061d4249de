"""ShortGPT: Block Influence, removal of the lowest-BI layers, a model that still caches and reloads."""

from __future__ import annotations

import json

import pytest
import torch

from medcheck.compression.shortgpt import SHORTGPT_15, SHORTGPT_25, ShortGPT, block_influence, n_to_remove
from medcheck.errors import ConfigError
from tests.compression.tiny import logits, probe_ids, random_calibration, tiny_llama


def _with_identity_layer(index: int = 2, n_layers: int = 4):
    """Layer `index` adds nothing to the residual stream (o_proj, down_proj zero): BI = 0."""
    model = tiny_llama(n_layers=n_layers)
    with torch.no_grad():
        model.model.layers[index].self_attn.o_proj.weight.zero_()
        model.model.layers[index].mlp.down_proj.weight.zero_()
    return model


@pytest.mark.parametrize(("pct", "n_layers", "expected"),
                         [(0.15, 30, 5), (0.25, 30, 8), (0.15, 4, 1), (0.25, 4, 1), (0.5, 4, 2),
                          (0.01, 4, 1), (0.99, 4, 3), (0.25, 32, 8)])
def test_number_removed_rounds_half_up_at_least_one(pct, n_layers, expected):
    assert n_to_remove(pct, n_layers) == expected


def test_block_influence_matches_its_definition():
    model, calibration = tiny_llama(n_layers=3), random_calibration()
    bi = block_influence(model, calibration)
    cos_sum, count = torch.zeros(3), 0
    for ids in calibration:
        hidden = []
        hooks = [layer.register_forward_hook(lambda m, a, o, hidden=hidden: hidden.append(o))
                 for layer in model.model.layers]
        with torch.no_grad():
            states = model(input_ids=ids, output_hidden_states=True, use_cache=False).hidden_states
        for h in hooks:
            h.remove()
        ins, outs = states[:3], hidden                      # states[3] is after the final norm
        cos_sum += torch.stack([torch.cosine_similarity(i, o, dim=-1).sum() for i, o in zip(ins, outs)])
        count += ids.shape[1]
    assert bi == pytest.approx((1 - cos_sum / count).tolist(), abs=1e-5)
    assert all(0 < b < 1 for b in bi)


def test_identity_layer_has_zero_influence_and_goes_first():
    model = _with_identity_layer()
    probe = probe_ids()
    before = logits(model, probe)
    assert block_influence(model, random_calibration())[2] == pytest.approx(0, abs=1e-6)
    SHORTGPT_25.apply(model, None, random_calibration())
    assert model.config.medcheck_removed_layers == [2]
    assert model.config.num_hidden_layers == 3 and len(model.model.layers) == 3
    assert [layer.self_attn.layer_idx for layer in model.model.layers] == [0, 1, 2]
    assert torch.allclose(logits(model, probe), before, atol=1e-5)   # removing an identity is free


def test_removes_the_lowest_bi_layers():
    model, calibration = _with_identity_layer(index=1), random_calibration()
    bi = block_influence(model, calibration)
    recipe = ShortGPT("shortgpt-50", params={"layers_pct": 0.5}, calibrated=True)
    recipe.apply(model, None, calibration)
    expected = sorted(sorted(range(4), key=bi.__getitem__)[:2])
    assert 1 in expected and model.config.medcheck_removed_layers == expected
    assert model.config.medcheck_block_influence == pytest.approx(bi, abs=1e-5)


def _greedy(model, ids, use_cache):
    with torch.no_grad():
        return model.generate(ids, max_new_tokens=8, do_sample=False, use_cache=use_cache)


def test_save_reload_logits_and_cached_generation(tmp_path):
    from transformers import AutoModelForCausalLM

    model = SHORTGPT_25.apply(tiny_llama(n_layers=4), None, random_calibration())
    probe = probe_ids()
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["num_hidden_layers"] == 3 and saved["medcheck_removed_layers"] == model.config.medcheck_removed_layers
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert len(reloaded.model.layers) == 3
    assert torch.allclose(logits(reloaded, probe), logits(model, probe), atol=1e-6)
    for m in (model, reloaded):
        with torch.no_grad():
            cache = m(input_ids=probe, use_cache=True).past_key_values
        assert len(cache.layers) == 3
        assert torch.equal(_greedy(m, probe[:, :6], True), _greedy(m, probe[:, :6], False))


def test_config_errors():
    with pytest.raises(ConfigError, match="layers_pct"):
        ShortGPT("bad", params={"layers_pct": 1.0}).apply(tiny_llama(), None, random_calibration())
    with pytest.raises(ConfigError, match="calibration"):
        SHORTGPT_15.apply(tiny_llama(), None, [])


def test_exports():
    assert (SHORTGPT_15.params, SHORTGPT_25.params) == ({"layers_pct": 0.15}, {"layers_pct": 0.25})
    assert SHORTGPT_15.calibrated and SHORTGPT_25.calibrated
