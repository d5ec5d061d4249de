"""Warm-up verdicts, effective bits per weight, and loading strategies on a tiny model."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from medcheck.bits import weight_stats
from medcheck.errors import ModelLoadError
from medcheck.loading import Strategy, load_with_fallbacks
from medcheck.warmup import warm_up


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return (AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32),
            AutoTokenizer.from_pretrained(tiny_model_dir))


class _Stub(torch.nn.Module):
    """Generates a fixed token sequence: enough to exercise the warm-up verdicts."""

    def __init__(self, tokens: list[int]) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.tokens = tokens

    def generate(self, input_ids, **_):
        return torch.cat([input_ids, torch.tensor([self.tokens])], dim=1)


def test_warmup_flags_one_repeated_token(tiny):
    _, tokenizer = tiny
    token = tokenizer(" the", add_special_tokens=False).input_ids[0]
    report = warm_up(_Stub([token] * 16), tokenizer)
    assert not report.ok and "repeats one token" in report.reason


def test_warmup_flags_empty_output(tiny):
    _, tokenizer = tiny
    report = warm_up(_Stub([tokenizer.eos_token_id]), tokenizer)
    assert not report.ok and "empty" in report.reason


def test_warmup_passes_varied_text(tiny):
    _, tokenizer = tiny
    tokens = tokenizer(" Nitrofurantoin or trimethoprim for three days.", add_special_tokens=False).input_ids
    report = warm_up(_Stub(tokens), tokenizer)
    assert report.ok, report.reason
    assert "Nitrofurantoin" in report.output


def test_warmup_runs_a_real_generation(tiny):
    model, tokenizer = tiny
    report = warm_up(model, tokenizer, max_new_tokens=6)
    assert report.new_tokens >= 1 and report.seconds >= 0


def test_bits_of_a_dense_model_match_its_dtype(tiny):
    model, _ = tiny
    stats = weight_stats(model)
    assert stats.bits_per_weight == pytest.approx(32.0)
    assert stats.linear_bits_per_weight == pytest.approx(32.0)
    assert stats.weight_bytes == 4 * stats.logical_weights
    half = weight_stats(model.to(torch.bfloat16))
    assert half.bits_per_weight == pytest.approx(16.0)
    model.to(torch.float32)


def test_bits_of_nf4_are_about_four_and_a_half(tiny_model_dir):
    import bitsandbytes  # noqa: F401
    from transformers import BitsAndBytesConfig

    config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                bnb_4bit_compute_dtype=torch.bfloat16)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16, quantization_config=config)
    stats = weight_stats(model)
    # 4-bit codes + block scales + per-layer code tables: the tables weigh more in 64-wide layers
    assert 4.0 < stats.linear_bits_per_weight < 6.5
    assert stats.bits_per_weight < 16.0


def test_fallback_records_every_attempt():
    def broken():
        raise RuntimeError("kernel missing")

    model, attempts = load_with_fallbacks("pair", [Strategy("fast kernel", broken), Strategy("slow", lambda: "ok")])
    assert model == "ok"
    assert [(a.strategy, a.ok) for a in attempts] == [("fast kernel", False), ("slow", True)]
    assert "RuntimeError: kernel missing" in attempts[0].error and "kernel missing" in attempts[0].traceback
    assert attempts[1].seconds >= 0 and attempts[1].rss_mb > 0


def test_no_strategy_works_lists_them_all():
    def fail(message):
        def run():
            raise ValueError(message)
        return run

    with pytest.raises(ModelLoadError) as info:
        load_with_fallbacks("m/c", [Strategy("a", fail("first")), Strategy("b", fail("second"))])
    text = str(info.value)
    assert "no loading strategy worked (2 tried)" in text and "1. a: ValueError: first" in text and "2. b" in text
