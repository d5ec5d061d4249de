"""Pre-compressed checkpoints (`checkpoint:<path>`): one real checkpoint per format, made here.

Each test writes a checkpoint of a tiny model in tmp_path (GGUF: the embedded file), loads it
through CheckpointRecipe's ordered strategies and `load_with_fallbacks`, and checks the detected
format, the attempt telemetry, a forward pass, and the logits against the source model.
"""

from __future__ import annotations

import json
from pathlib import Path

import bitsandbytes  # noqa: F401  (imported once, here: its import is slow and noisy)
import pytest
import torch

from medcheck import compression
from medcheck.compression import LoadOptions
from medcheck.compression.checkpoint import CheckpointRecipe, detect_format
from medcheck.errors import ConfigError, ModelLoadError
from medcheck.loading import Attempt, Strategy, load_with_fallbacks
from tests.conftest import USER_CACHE

F32 = LoadOptions(dtype="float32", device="cpu")
BF16 = LoadOptions(dtype="bfloat16", device="cpu")


# -- helpers ------------------------------------------------------------------------------------
def load_dense(folder: Path | str) -> torch.nn.Module:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()


def probe(model: torch.nn.Module, length: int = 12) -> torch.Tensor:
    ids = torch.randint(0, model.config.vocab_size, (1, length), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        return model(input_ids=ids, use_cache=False).logits.float()


def load_checkpoint(path: Path | str, base: Path | str, options: LoadOptions = F32):
    recipe = CheckpointRecipe(str(path))
    model, attempts = load_with_fallbacks(recipe.name, recipe.strategies(str(base), options))
    return recipe, model.eval(), attempts


def assert_first_strategy_worked(attempts: list[Attempt], name: str) -> None:
    assert [(a.strategy, a.ok) for a in attempts] == [(name, True)]
    a = attempts[0]
    assert a.error is None and a.traceback is None
    assert a.seconds >= 0 and a.rss_mb > 0 and a.peak_mb > 0


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0).item()


@pytest.fixture(scope="module")
def dense_logits(tiny_model_dir: Path) -> torch.Tensor:
    return probe(load_dense(tiny_model_dir))


# -- 1. plain weights ---------------------------------------------------------------------------
@pytest.mark.parametrize("options", [F32, BF16], ids=lambda o: o.dtype)
def test_plain_weights_load_like_the_source(tmp_path, tiny_model_dir, dense_logits, options):
    from transformers import AutoTokenizer

    out = tmp_path / "plain"
    load_dense(tiny_model_dir).save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(out)

    assert detect_format(out) == "plain"
    recipe = compression.recipe_for(f"checkpoint:{out}")
    assert isinstance(recipe, CheckpointRecipe) and recipe.format == "plain"
    assert recipe.tokenizer_source(str(tiny_model_dir)) == str(out)   # it ships its own tokenizer

    strategies = compression.strategies(recipe, str(tiny_model_dir), options)
    assert [s.name for s in strategies] == [f"safetensors ({options.dtype})", "safetensors (float32)"]
    model, attempts = load_with_fallbacks(recipe.name, strategies)
    assert_first_strategy_worked(attempts, f"safetensors ({options.dtype})")
    assert next(model.parameters()).dtype == getattr(torch, options.dtype)
    logits = probe(model)
    tol = 1e-5 if options.dtype == "float32" else 5e-2
    torch.testing.assert_close(logits, dense_logits, atol=tol, rtol=0)


def test_describe_names_the_format_and_fingerprints_the_weights(tmp_path, monkeypatch, tiny_model_dir):
    monkeypatch.setenv("MEDCHECK_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "plain"
    load_dense(tiny_model_dir).save_pretrained(out)
    info = CheckpointRecipe(str(out)).describe()
    assert info["name"] == "checkpoint" and info["library"] == "plain"
    assert info["params"] == {"path": str(out.resolve())} and len(info["fingerprint"]) == 64


# -- 2. bitsandbytes ----------------------------------------------------------------------------
def test_bitsandbytes_nf4_checkpoint(tmp_path, tiny_model_dir, dense_logits):
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    quantized = AutoModelForCausalLM.from_pretrained(
        tiny_model_dir, dtype=torch.float32, device_map={"": "cpu"},
        quantization_config=BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4")).eval()
    out = tmp_path / "bnb-nf4"
    quantized.save_pretrained(out)
    qconfig = json.loads((out / "config.json").read_text())["quantization_config"]
    assert qconfig["quant_method"] == "bitsandbytes" and qconfig["bnb_4bit_quant_type"] == "nf4"

    recipe, model, attempts = load_checkpoint(out, tiny_model_dir)
    assert recipe.format == "bitsandbytes"
    assert_first_strategy_worked(attempts, "bitsandbytes")
    assert type(model.model.layers[0].self_attn.q_proj).__name__ == "Linear4bit"
    logits = probe(model)
    torch.testing.assert_close(logits, probe(quantized), atol=1e-5, rtol=0)   # the saved NF4 weights
    assert not torch.allclose(logits, dense_logits, atol=1e-4)               # really quantized
    assert cosine(logits, dense_logits) > 0.9


# -- 3. compressed-tensors ----------------------------------------------------------------------
def write_compressed_tensors(model: torch.nn.Module, out: Path, bits: int, group_size: int | None) -> torch.Tensor:
    """Weight-only symmetric int quantization with the compressed_tensors API alone (no llm-compressor):
    attach the scheme, set per-channel (or per-group) scales from the weights, compress, save.
    Returns the logits of the fake-quantized model before compression."""
    from compressed_tensors import ModelCompressor
    from compressed_tensors.quantization import (
        QuantizationArgs,
        QuantizationConfig,
        QuantizationScheme,
        QuantizationStatus,
        apply_quantization_config,
    )
    from compressed_tensors.quantization.utils import calculate_qparams

    args = QuantizationArgs(num_bits=bits, type="int", symmetric=True, dynamic=False,
                            strategy="group" if group_size else "channel", group_size=group_size)
    config = QuantizationConfig(config_groups={"group_0": QuantizationScheme(targets=["Linear"], weights=args)},
                                ignore=["lm_head"])
    apply_quantization_config(model, config, show_progress=False)
    quantized = [m for m in model.modules() if hasattr(m, "quantization_scheme")]
    assert len(quantized) == 7 * model.config.num_hidden_layers
    with torch.no_grad():
        for module in quantized:
            w = module.weight
            if group_size:
                grouped = w.reshape(w.shape[0], -1, group_size)
                lo, hi = grouped.amin(-1), grouped.amax(-1)
            else:
                lo, hi = w.amin(1, keepdim=True), w.amax(1, keepdim=True)
            scale, zero_point = calculate_qparams(lo, hi, args)
            module.weight_scale.copy_(scale)
            if hasattr(module, "weight_zero_point"):
                module.weight_zero_point.copy_(zero_point)
            module.quantization_status = QuantizationStatus.FROZEN
    fake_quantized = probe(model)
    compressor = ModelCompressor.from_pretrained_model(model)
    compressor.compress_model(model)
    model.save_pretrained(out)
    compressor.update_config(str(out))
    return fake_quantized


@pytest.mark.parametrize(("bits", "group_size"), [(8, None), (4, 64)], ids=["int8-channel", "int4-group64"])
def test_compressed_tensors_checkpoint(tmp_path, tiny_model_dir, dense_logits, bits, group_size):
    pytest.importorskip("compressed_tensors")
    from safetensors import safe_open

    out = tmp_path / "ct"
    fake_quantized = write_compressed_tensors(load_dense(tiny_model_dir), out, bits, group_size)
    qconfig = json.loads((out / "config.json").read_text())["quantization_config"]
    assert qconfig["quant_method"] == "compressed-tensors" and qconfig["format"] == "pack-quantized"
    assert qconfig["config_groups"]["group_0"]["weights"]["num_bits"] == bits
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        keys = set(f.keys())
        assert f.get_tensor("model.layers.0.self_attn.q_proj.weight_packed").dtype == torch.int32
    assert "model.layers.0.self_attn.q_proj.weight" not in keys and "model.layers.0.mlp.down_proj.weight_scale" in keys

    recipe = CheckpointRecipe(str(out))
    assert recipe.format == "compressed-tensors"
    strategies = recipe.strategies(str(tiny_model_dir), F32)
    assert [s.name for s in strategies] == ["compressed-tensors (compressed)", "compressed-tensors (decompressed)"]
    results = []
    for strategy in strategies:   # both strategies must work on their own, not only the first
        model, attempts = load_with_fallbacks(recipe.name, [strategy])
        assert_first_strategy_worked(attempts, strategy.name)
        results.append(probe(model.eval()))
    torch.testing.assert_close(results[0], results[1], atol=1e-6, rtol=0)
    torch.testing.assert_close(results[0], fake_quantized, atol=1e-5, rtol=0)   # lossless save and load
    # the quantized weights are the round-to-nearest of the source: close to it, but not equal
    tol = 0.02 if bits == 8 else 0.3
    assert (results[0] - dense_logits).abs().max().item() < tol
    assert not torch.allclose(results[0], dense_logits, atol=1e-6)
    assert cosine(results[0], dense_logits) > (0.999 if bits == 8 else 0.95)


# -- 4. GGUF ------------------------------------------------------------------------------------
def test_embedded_gguf_checkpoint(embedded_dir):
    from medcheck.models import embedded_gguf

    gguf = embedded_gguf("smollm2-135m", USER_CACHE)
    assert gguf.suffix == ".gguf" and detect_format(gguf) == "gguf"
    recipe, model, attempts = load_checkpoint(gguf, embedded_dir)   # dequantizes 135M params: ~40 s
    assert recipe.format == "gguf"
    assert_first_strategy_worked(attempts, "gguf (dequantized by transformers)")   # architecture check passed
    logits = probe(model, length=6)
    assert torch.isfinite(logits).all()
    # the embedded dense checkpoint is this very file converted once: same weights
    torch.testing.assert_close(logits, probe(load_dense(embedded_dir), length=6), atol=1e-3, rtol=0)


# -- 5. GPTQ and AWQ (gptqmodel) ----------------------------------------------------------------
@pytest.fixture(scope="module")
def gptq_dense_dir(tmp_path_factory, tiny_model_dir) -> Path:
    """The tiny model with 4 kv heads: AWQ's clip search needs every Linear's out features % 64 == 0,
    and the shared tiny model's k/v_proj have 2 * 16 = 32."""
    from transformers import AutoConfig, AutoTokenizer, LlamaForCausalLM

    config = AutoConfig.from_pretrained(tiny_model_dir)
    config.num_key_value_heads = 4
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny-llama-kv4")
    LlamaForCausalLM(config).save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(out)
    return out


@pytest.mark.parametrize("method", ["gptq", "awq"])
def test_gptqmodel_checkpoint(tmp_path, gptq_dense_dir, method):
    pytest.importorskip("gptqmodel")
    try:
        from medcheck.compression.gptq import gptqmodel_available, make
    except ImportError as exc:
        pytest.skip(f"medcheck.compression.gptq is not there yet: {exc}")
    if (problem := gptqmodel_available()) is not None:
        pytest.skip(problem)

    out = tmp_path / method
    out.mkdir()
    # cache_dir: where gptqmodel's CPU packing op is compiled, once per machine (as in real runs)
    options = LoadOptions(dtype="float32", device="cpu", cache_dir=USER_CACHE)
    make(method, 4, group_size=64, n_samples=8, seq_len=64).build(str(gptq_dense_dir), out, options)
    assert json.loads((out / "config.json").read_text())["quantization_config"]["quant_method"] == method

    recipe, model, attempts = load_checkpoint(out, gptq_dense_dir, options)
    assert recipe.format == method
    first = "gptqmodel (auto kernel)" if method == "gptq" else "gptqmodel awq (auto kernel)"
    assert_first_strategy_worked(attempts, first)
    assert "gptqmodel" in type(model.model.layers[0].self_attn.q_proj).__module__
    logits, dense = probe(model), probe(load_dense(gptq_dense_dir))
    assert torch.isfinite(logits).all()
    assert not torch.allclose(logits, dense, atol=1e-4)
    assert cosine(logits, dense) > 0.9


# -- 6. architecture mismatch -------------------------------------------------------------------
def test_architecture_mismatch_fails_every_strategy(tmp_path, tiny_model_dir):
    from transformers import AutoConfig, LlamaForCausalLM

    config = AutoConfig.from_pretrained(tiny_model_dir)
    config.hidden_size = 32            # head_dim 8; everything else as the base
    out = tmp_path / "other"
    LlamaForCausalLM(config).save_pretrained(out)

    recipe = CheckpointRecipe(str(out))
    with pytest.raises(ModelLoadError) as info:
        load_with_fallbacks(recipe.name, recipe.strategies(str(tiny_model_dir), BF16))
    message = str(info.value)
    assert f"{recipe.name}: no loading strategy worked (2 tried)" in message
    assert "1. safetensors (bfloat16): ModelLoadError" in message
    assert "2. safetensors (float32): ModelLoadError" in message
    assert message.count("does not match its pair's base model") == 2
    assert message.count("hidden_size: base 64 vs checkpoint 32") == 2
    assert "intermediate_size" not in message and "vocab_size" not in message
    assert "pair the checkpoint with the model it was compressed from" in message


# -- 7. fallback telemetry ----------------------------------------------------------------------
def test_a_failing_first_strategy_falls_back_and_is_recorded(tmp_path, monkeypatch, tiny_model_dir, dense_logits):
    import medcheck.compression.checkpoint as checkpoint

    real = checkpoint.load_pretrained

    def no_bfloat16(path, options, **kwargs):
        if options.dtype == "bfloat16":
            raise RuntimeError("bfloat16 is not supported on this device")
        return real(path, options, **kwargs)

    monkeypatch.setattr(checkpoint, "load_pretrained", no_bfloat16)
    out = tmp_path / "plain"
    load_dense(tiny_model_dir).save_pretrained(out)
    _, model, attempts = load_checkpoint(out, tiny_model_dir, BF16)

    assert [(a.strategy, a.ok) for a in attempts] == [("safetensors (bfloat16)", False),
                                                      ("safetensors (float32)", True)]
    failed, worked = attempts
    assert failed.error == "RuntimeError: bfloat16 is not supported on this device"
    assert "no_bfloat16" in failed.traceback and "RuntimeError" in failed.traceback
    assert worked.error is None and worked.traceback is None
    assert all(a.seconds >= 0 and a.rss_mb > 0 for a in attempts)
    assert set(failed.as_dict()) == {"strategy", "ok", "seconds", "rss_mb", "peak_mb", "error", "traceback"}
    assert next(model.parameters()).dtype == torch.float32
    torch.testing.assert_close(probe(model), dense_logits, atol=1e-5, rtol=0)


def test_plain_strategies_fall_through_to_the_working_one():
    def broken():
        raise ValueError("no kernel for this layout")

    model, attempts = load_with_fallbacks("x", [Strategy("fast", broken), Strategy("portable", lambda: "model")])
    assert model == "model"
    assert [(a.strategy, a.ok, a.error) for a in attempts] == [
        ("fast", False, "ValueError: no kernel for this layout"), ("portable", True, None)]


def test_all_strategies_failing_lists_each_attempt():
    def fail(message):
        def load():
            raise OSError(message)
        return load

    with pytest.raises(ModelLoadError) as info:
        load_with_fallbacks("checkpoint:x", [Strategy("first", fail("disk full")),
                                             Strategy("second", fail("no file"))])
    assert str(info.value) == ("checkpoint:x: no loading strategy worked (2 tried)\n"
                               "  1. first: OSError: disk full\n"
                               "  2. second: OSError: no file")


# -- 8. detect_format and the source path -------------------------------------------------------
def write_config(folder: Path, quantization_config: dict | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = {"model_type": "llama"}
    if quantization_config is not None:
        config["quantization_config"] = quantization_config
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize(("method", "expected"), [
    ("gptq", "gptq"), ("AWQ", "awq"), ("compressed-tensors", "compressed-tensors"),
    ("bitsandbytes", "bitsandbytes"), (None, "plain")])
def test_detect_format_from_quant_method(tmp_path, method, expected):
    qconfig = None if method is None else {"quant_method": method, "bits": 4}
    assert detect_format(write_config(tmp_path / "ckpt", qconfig)) == expected


def test_detect_format_from_a_gguf_file_in_a_folder(tmp_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "model.Q4_0.gguf").write_bytes(b"GGUF")
    assert detect_format(folder) == "gguf" and detect_format(folder / "model.Q4_0.gguf") == "gguf"


def test_unsupported_quant_method_names_it_and_the_supported_list(tmp_path):
    folder = write_config(tmp_path / "ckpt", {"quant_method": "hqq", "nbits": 4})
    with pytest.raises(ModelLoadError) as info:
        detect_format(folder)
    message = str(info.value)
    assert str(folder) in message and "quant_method 'hqq' is not supported" in message
    assert "supported: gptq, awq, compressed-tensors, bitsandbytes, gguf, plain weights" in message
    with pytest.raises(ModelLoadError, match="'hqq'"):
        CheckpointRecipe(str(folder)).strategies(str(folder), F32)


def test_missing_path_is_a_config_error(tmp_path):
    recipe = compression.recipe_for(f"checkpoint:{tmp_path / 'nowhere'}")
    with pytest.raises(ConfigError) as info:
        _ = recipe.format
    assert info.value.problem == "checkpoint not found" and info.value.key == recipe.name
    assert "give an existing folder or .gguf file" in str(info.value)
    with pytest.raises(ConfigError, match="checkpoint not found"):
        recipe.strategies(str(tmp_path), F32)


def test_hub_source_is_a_config_error():
    with pytest.raises(ConfigError, match="hub checkpoints are fetched by the model resolver"):
        _ = CheckpointRecipe("hf:org/model").folder
