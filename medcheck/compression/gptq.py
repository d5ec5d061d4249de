"""GPTQ and AWQ weight-only quantization with gptqmodel, saved as real packed checkpoints.

Unlike the fake-quantized recipes (rtn, smoothquant), these write the integer-packed format that
serving stacks load: `config.json` gets a `quantization_config` (quant_method "gptq" or "awq") and
transformers loads the folder back through gptqmodel's kernels (GPTQ also needs `optimum`).

- GPTQ (Frantar et al. 2023): per layer, the weights are rounded column by column and the rounding
  error is pushed onto the not-yet-quantized columns through the inverse Hessian of the layer's
  calibration inputs. Symmetric, group size 64, no act-order (desc_act False).
- AWQ (Lin et al. 2024): per-input-channel scales searched on calibration activations protect the
  salient channels before round-to-nearest; asymmetric (zero point), group size 64, GEMM layout.

On a CPU-only machine gptqmodel needs three things this module sets before importing it:
GPTQMODEL_CPU_WORKERS >= 2 (its model-loader pool asks for 2 workers and stops at once on a
2-core machine otherwise), GPTQMODEL_TORCH_EXTENSIONS_DIR (the C++ op it compiles on first use goes
under the cache dir, not ~/.cache/gptqmodel), and, for AWQ, the portable `awq_torch` kernel (the
default AWQ GEMM kernel needs CUDA). Group 64 divides SmolLM2's 576-wide layers; 128 does not.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from medcheck.compression import LoadOptions
from medcheck.compression.applied import AppliedRecipe
from medcheck.errors import ConfigError, ModelLoadError

INSTALL_HINT = "pip install 'medcheck[gptq]'"
METHODS = ("gptq", "awq")


def _gptqmodel_version() -> str:
    try:
        return version("gptqmodel")
    except PackageNotFoundError:
        return "not-installed"


def gptqmodel_available() -> str | None:
    """None when gptqmodel imports; otherwise a message saying what is wrong and how to install it."""
    if importlib.util.find_spec("gptqmodel") is None:
        return f"gptqmodel is not installed: {INSTALL_HINT}"
    if importlib.util.find_spec("optimum") is None:
        return f"optimum is not installed (transformers needs it to load GPTQ checkpoints): {INSTALL_HINT}"
    configure_environment(None)
    try:
        import gptqmodel  # noqa: F401
    except Exception as exc:  # a broken install raises anything from ImportError to RuntimeError
        return f"gptqmodel is installed but does not import ({type(exc).__name__}: {exc}): {INSTALL_HINT}"
    return None


def configure_environment(cache_dir: Path | None) -> None:
    """gptqmodel's settings that must be in os.environ before it is imported (or first used)."""
    workers = os.environ.get("GPTQMODEL_CPU_WORKERS", "")
    if not workers.isdigit() or int(workers) < 2:
        os.environ["GPTQMODEL_CPU_WORKERS"] = str(max(2, os.cpu_count() or 2))
    if cache_dir is not None and not os.environ.get("GPTQMODEL_TORCH_EXTENSIONS_DIR"):
        ext = Path(cache_dir) / "gptqmodel-ext"
        ext.mkdir(parents=True, exist_ok=True)
        os.environ["GPTQMODEL_TORCH_EXTENSIONS_DIR"] = str(ext)


def _require_gptqmodel(recipe: str) -> None:
    problem = gptqmodel_available()
    if problem is not None:
        raise ModelLoadError(f"recipe {recipe}: {problem}")


def linear_input_widths(config: dict[str, Any]) -> dict[str, int]:
    """Input width of each kind of decoder Linear of a Llama-like config (what a group size must divide)."""
    hidden = config.get("hidden_size")
    if not isinstance(hidden, int):
        return {}
    heads = config.get("num_attention_heads") or 0
    head_dim = config.get("head_dim") or (hidden // heads if heads else hidden)
    widths = {"q/k/v_proj, gate/up_proj (hidden_size)": hidden,
              "o_proj (num_attention_heads * head_dim)": heads * head_dim if heads else hidden}
    if isinstance(config.get("intermediate_size"), int):
        widths["down_proj (intermediate_size)"] = config["intermediate_size"]
    return widths


def check_group_size(dense_path: str, group_size: int, recipe: str) -> None:
    """ConfigError unless `group_size` divides every decoder Linear's input width (read from config.json)."""
    if group_size == -1:
        return
    if group_size <= 0:
        raise ConfigError(f"recipe {recipe}", "group_size", f"{group_size} must be positive (or -1 for per-channel)")
    config_file = Path(dense_path) / "config.json"
    if not config_file.is_file():
        return  # gptqmodel will say what is missing
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config = config.get("text_config", config)
    widths = linear_input_widths(config)
    bad = {name: w for name, w in widths.items() if w % group_size}
    if bad:
        fits = [g for g in (32, 64, 128) if all(w % g == 0 for w in widths.values())]
        raise ConfigError(
            f"recipe {recipe}", "group_size",
            f"{group_size} does not divide the input width of "
            + ", ".join(f"{name} = {w}" for name, w in bad.items()) + f" in {config_file}",
            f"use a group size dividing every width {sorted(set(widths.values()))}: "
            f"{fits or 'none of 32, 64, 128'}")


@dataclass(frozen=True)
class GPTQModelRecipe(AppliedRecipe):
    """params: method ("gptq"|"awq"), bits, group_size, sym, desc_act, n_samples, seq_len."""

    def _settings(self) -> dict[str, Any]:
        p = dict(self.params)
        if p.get("method") not in METHODS:
            raise ConfigError(f"recipe {self.name}", "method", f"{p.get('method')!r} is not one of {METHODS}")
        if p.get("bits") not in (4, 8):
            raise ConfigError(f"recipe {self.name}", "bits", f"{p.get('bits')!r}: only 4 and 8 are supported here")
        return p

    def calibration(self, tokenizer: Any, seed: int) -> list[dict[str, list[int]]]:
        from medcheck.compression.calibration import calibration_texts

        p = self.params
        out = []
        for text in calibration_texts(p["n_samples"], seed):
            ids = tokenizer(text, add_special_tokens=False).input_ids[: p["seq_len"]]
            out.append({"input_ids": ids, "attention_mask": [1] * len(ids)})
        return out

    def build(self, dense_path: str, out: Path, options: LoadOptions) -> None:
        p = self._settings()
        check_group_size(dense_path, p["group_size"], self.name)
        configure_environment(options.cache_dir)
        _require_gptqmodel(self.name)

        import torch
        from gptqmodel import BACKEND, GPTQModel, QuantizeConfig
        from transformers import AutoTokenizer

        torch.manual_seed(options.seed)
        tokenizer = AutoTokenizer.from_pretrained(dense_path, trust_remote_code=options.trust_remote_code)
        config = dict(bits=p["bits"], group_size=p["group_size"], sym=p["sym"], desc_act=p["desc_act"],
                      method=p["method"], device="cpu" if options.device == "cpu" else None)
        backend = BACKEND.AUTO
        if p["method"] == "awq":
            config["format"] = "gemm"
            if options.device == "cpu":
                backend = BACKEND.AWQ_TORCH   # the default AWQ GEMM kernel needs CUDA
        model = GPTQModel.load(dense_path, QuantizeConfig(**config),
                               trust_remote_code=options.trust_remote_code)
        model.quantize(self.calibration(tokenizer, options.seed), batch_size=1, backend=backend)
        model.save(str(out))
        tokenizer.save_pretrained(out)

    def load(self, checkpoint: str, options: LoadOptions) -> Any:
        configure_environment(options.cache_dir)   # loading compiles/loads gptqmodel's CPU op too
        _require_gptqmodel(self.name)
        return super().load(checkpoint, options)


def make(method: str, bits: int, group_size: int = 64, n_samples: int = 32, seq_len: int = 256) -> GPTQModelRecipe:
    params = {"method": method, "bits": bits, "group_size": group_size,
              "sym": method == "gptq", "desc_act": False, "n_samples": n_samples, "seq_len": seq_len}
    return GPTQModelRecipe(f"{method}-w{bits}", library=f"gptqmodel=={_gptqmodel_version()}",
                           params=params, calibrated=True)


GPTQ_W4 = make("gptq", 4)
GPTQ_W8 = make("gptq", 8)
AWQ_W4 = make("awq", 4)
AWQ_W8 = make("awq", 8)
