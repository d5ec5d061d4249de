"""Prepacked CPU linear layers compute what `F.linear` computes, and only where they should."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from medcheck.backends import hf_packed
from medcheck.backends.hf import HFBackend

DTYPES = [d for d in (torch.float32, torch.bfloat16) if hf_packed._available(d)]
pytestmark = pytest.mark.skipif(not DTYPES, reason="this torch build has no oneDNN linear packing")
TOLERANCE = {torch.float32: 1e-5, torch.bfloat16: 2e-2}   # bfloat16: an ulp of the output is 2^-8 relative


def _reference(module: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.linear(x, module.weight, module.bias)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 48), (48,), (1, 1, 48), (7, 48), (3, 5, 48), (300, 48)])
@pytest.mark.parametrize("bias", [True, False])
def test_a_packed_layer_computes_f_linear(dtype, shape, bias):
    torch.manual_seed(0)
    layer = torch.nn.Linear(48, 40, bias=bias).to(dtype)
    x = torch.randn(shape, dtype=dtype)
    expected = _reference(layer, x)
    assert hf_packed.prepack(layer) == 1
    with torch.inference_mode():
        got = layer(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_weight_changed_after_packing_is_packed_again(dtype):
    layer = torch.nn.Linear(16, 8).to(dtype)
    hf_packed.prepack(layer)
    x = torch.randn(4, 16, dtype=dtype)
    with torch.no_grad():
        layer.weight.mul_(-2.0)
        got = layer(x)
    torch.testing.assert_close(got, _reference(layer, x), rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


def test_autograd_takes_f_linear_and_gradients_flow():
    layer = torch.nn.Linear(16, 8)
    hf_packed.prepack(layer)
    x = torch.randn(4, 16, requires_grad=True)
    layer(x).sum().backward()
    assert x.grad is not None and layer.weight.grad is not None


def test_only_plain_linear_layers_of_a_packable_dtype_are_packed():
    class Quantized(torch.nn.Linear):   # as bitsandbytes' and GPTQ's layers subclass it
        pass

    wrapped = torch.nn.Linear(8, 8)
    wrapped.forward = lambda x: x   # someone's instance-level wrapper stays in charge
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), Quantized(8, 8), wrapped,
                                torch.nn.Linear(8, 8).to(torch.float16))
    assert hf_packed.prepack(model) == 1
    assert "forward" in model[0].__dict__ and "forward" not in model[1].__dict__
    assert "forward" not in model[3].__dict__


@pytest.fixture(scope="module")
def tiny_pair(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    return [AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32) for _ in range(2)], tokenizer


def test_the_backend_packs_its_model_and_says_so(tiny_pair):
    (model, plain), tokenizer = tiny_pair
    ids = torch.tensor([tokenizer("The kidney filters blood.", add_special_tokens=False).input_ids])
    with torch.inference_mode():
        expected = plain(ids).logits
    backend = HFBackend(model, tokenizer)
    assert backend.linear_packed == sum(type(m) is torch.nn.Linear for m in model.modules()) > 0
    assert backend.describe()["prepacked_linear_layers"] == backend.linear_packed
    assert hf_packed.VERSION in HFBackend.version()   # the path is part of every store key
    with torch.inference_mode():
        got = model(ids).logits
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_a_model_too_large_to_copy_is_not_packed(monkeypatch):
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.Linear(64, 64))
    monkeypatch.setattr(hf_packed, "MAX_BYTES", 64 * 64 * 4 * 2 - 1)   # one byte short of both weights
    assert hf_packed.prepack(model) == 0
    assert not any("forward" in m.__dict__ for m in model)


def test_a_layer_onednn_refuses_leaves_the_whole_model_unpacked(monkeypatch):
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 8))
    calls = []

    def refuse_second(weight, *args):
        calls.append(weight.shape)
        if len(calls) == 2:
            raise RuntimeError("could not create a primitive descriptor")
        return REORDER(weight, *args)

    REORDER = torch.ops.mkldnn._reorder_linear_weight
    monkeypatch.setattr(hf_packed, "_reorder", refuse_second)
    assert hf_packed.prepack(model) == 0
    assert not any("forward" in m.__dict__ for m in model)   # one path per model: none packed
