"""GPTQ / AWQ through gptqmodel: real packed checkpoints of a tiny random Llama, reloaded by transformers.

The checks that need gptqmodel skip cleanly when it is not installed (`pip install 'medcheck[gptq]'`);
the group-size and missing-library checks run everywhere (they stop before gptqmodel is imported).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from medcheck.compression import LoadOptions, gptq
from medcheck.errors import ConfigError, ModelLoadError
from tests.conftest import USER_CACHE

# 4 calibration paragraphs of at most 64 tokens: seconds per recipe on the tiny model
RECIPES = {r.name: gptq.make(r.params["method"], r.params["bits"], n_samples=4, seq_len=64)
           for r in (gptq.GPTQ_W4, gptq.GPTQ_W8, gptq.AWQ_W4, gptq.AWQ_W8)}
EXPECTED = {
    "gptq-w4": {"quant_method": "gptq", "bits": 4, "group_size": 64, "desc_act": False, "sym": True},
    "gptq-w8": {"quant_method": "gptq", "bits": 8, "group_size": 64, "desc_act": False, "sym": True},
    "awq-w4": {"quant_method": "awq", "bits": 4, "group_size": 64, "zero_point": True, "version": "gemm"},
    "awq-w8": {"quant_method": "awq", "bits": 8, "group_size": 64, "zero_point": True, "version": "gemm"},
}


def _options() -> LoadOptions:
    # the user cache keeps gptqmodel's compiled CPU op (gptqmodel-ext/) between test sessions
    return LoadOptions(dtype="bfloat16", device="cpu", cache_dir=USER_CACHE)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory, embedded_dir: Path) -> Path:
    """A 2-layer random Llama, hidden 128 and 2 kv heads of 32: group 64 divides every input width
    and 64 every output width (gptqmodel's AWQ needs that); the embedded model's tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(embedded_dir)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=512, tie_word_embeddings=True,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny-llama-128")
    LlamaForCausalLM(config).save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def quantized(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """name -> checkpoint folder, built once per recipe for the module."""
    pytest.importorskip("gptqmodel")
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            out = tmp_path_factory.mktemp(name)
            RECIPES[name].build(str(tiny_dir), out, _options())
            built[name] = out
        return built[name]

    return get


@pytest.mark.parametrize("name", list(RECIPES))
def test_checkpoint_declares_its_quantization(quantized, name):
    folder = quantized(name)
    config = json.loads((folder / "config.json").read_text())["quantization_config"]
    assert {k: config.get(k) for k in EXPECTED[name]} == EXPECTED[name]
    assert (folder / "tokenizer.json").is_file() and list(folder.glob("*.safetensors"))


@pytest.mark.parametrize("name", list(RECIPES))
def test_reloads_with_transformers_and_stays_close_to_dense(quantized, tiny_dir, name):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(quantized(name), dtype=torch.bfloat16).eval()
    dense = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.bfloat16).eval()
    linears = {type(m).__name__ for m in model.model.layers.modules()}
    assert "Linear" not in linears, f"decoder Linears were not replaced by quantized kernels: {linears}"
    ids = torch.randint(0, 2000, (2, 16), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        got, ref = model(input_ids=ids).logits.float(), dense(input_ids=ids).logits.float()
    assert got.shape == ref.shape and torch.isfinite(got).all()
    cos = torch.nn.functional.cosine_similarity(got.flatten(1), ref.flatten(1)).min().item()
    floor = {4: 0.95, 8: 0.995}[RECIPES[name].params["bits"]]   # measured: w4 ~0.98, w8 ~0.9998
    assert cos > floor, f"{name}: logits cosine to dense {cos:.4f} <= {floor}"


def test_recipe_description_names_library_and_calibration():
    info = gptq.GPTQ_W4.describe()
    assert info["library"] == f"gptqmodel=={gptq._gptqmodel_version()}"
    assert info["params"]["group_size"] == 64 and info["calibration"]
    assert 32 <= info["params"]["n_samples"] <= 64 and info["params"]["seq_len"] <= 256


@pytest.mark.parametrize("group_size", [96, 48])
def test_group_size_must_divide_every_width(tiny_dir, tmp_path, group_size):
    recipe = gptq.make("gptq", 4, group_size=group_size)
    with pytest.raises(ConfigError, match=f"group_size: {group_size} does not divide") as err:
        recipe.build(str(tiny_dir), tmp_path / "out", _options())
    assert "hidden_size) = 128" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_group_size_message_for_smollm2_width(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(
        {"hidden_size": 576, "intermediate_size": 1536, "num_attention_heads": 9, "head_dim": 64}))
    with pytest.raises(ConfigError) as err:
        gptq.check_widths(str(tmp_path), 128, "gptq-w4")
    message = str(err.value)
    assert "576" in message and "[32, 64]" in message
    gptq.check_widths(str(tmp_path), 64, "gptq-w4")   # divides 576 and 1536


def test_awq_needs_output_widths_divisible_by_64(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(
        {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2}))
    gptq.check_widths(str(tmp_path), 64, "gptq-w4", "gptq")
    with pytest.raises(ConfigError, match=r"v_proj \(num_key_value_heads \* head_dim\) = 32"):
        gptq.check_widths(str(tmp_path), 64, "awq-w4", "awq")


def test_missing_gptqmodel_is_a_load_error_with_the_install_command(tiny_dir, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "gptqmodel" else real(n, *a))
    message = gptq.gptqmodel_available()
    assert message is not None and "pip install 'medcheck[gptq]'" in message
    with pytest.raises(ModelLoadError, match=r"pip install 'medcheck\[gptq\]'"):
        gptq.GPTQ_W4.build(str(tiny_dir), tmp_path, _options())


def test_a_failing_build_is_a_load_error_naming_the_log(tmp_path):
    pytest.importorskip("gptqmodel")
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out.partial"
    out.mkdir()
    with pytest.raises(ModelLoadError, match="gptqmodel failed") as err:
        gptq.GPTQ_W4.build(str(tmp_path / "empty"), out, _options())
    log = tmp_path / "out.partial.log"
    assert str(log) in str(err.value) and log.is_file()
