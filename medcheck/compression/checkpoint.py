"""Pre-compressed checkpoints (`checkpoint:<path or hf:id>`): detect the format, load it through
the matching library with fallbacks, and check that it is the pair's base architecture.

Formats, from config.json's `quantization_config.quant_method` or the files present:
gptq and awq (through gptqmodel, which transformers uses; autoawq and auto-gptq are archived and
do not work with transformers 5, so their checkpoints load through gptqmodel too),
compressed-tensors (llm-compressor's format), bitsandbytes, GGUF, or plain weights (a pruned or
fake-quantized model saved dense).
"""

from __future__ import annotations

import dataclasses
import json
from functools import cached_property
from pathlib import Path
from typing import Any

from medcheck.compression import LoadOptions
from medcheck.compression.dense import load_pretrained
from medcheck.errors import ConfigError, ModelLoadError
from medcheck.loading import Strategy

ARCH_KEYS = ("hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads", "vocab_size")


def detect_format(folder: Path) -> str:
    if folder.suffix == ".gguf" or (folder.is_dir() and list(folder.glob("*.gguf"))):
        return "gguf"
    if not (folder / "config.json").is_file():
        raise ModelLoadError(f"{folder}: no config.json and no .gguf file\n"
                             "  a checkpoint is a Hugging Face folder (config.json + weights) or a .gguf file")
    quantization = read_config(folder).get("quantization_config") or {}
    if not isinstance(quantization, dict):
        raise ModelLoadError(f"{folder / 'config.json'}: quantization_config: expected a mapping, "
                             f"got {type(quantization).__name__}\n  write it as the quantizer saved it: "
                             '{"quant_method": "gptq", "bits": 4, ...}, or remove it for plain weights')
    method = quantization.get("quant_method")
    if method is None:
        return "plain"
    method = str(method).lower()
    if method in ("gptq", "awq", "compressed-tensors", "bitsandbytes"):
        return method
    raise ModelLoadError(f"{folder / 'config.json'}: quantization_config.quant_method {method[:80]!r} "
                         "is not supported\n"
                         "  supported: gptq, awq, compressed-tensors, bitsandbytes, gguf, plain weights")


def read_config(folder: Path) -> dict[str, Any]:
    """A checkpoint's config.json as a mapping, or a ModelLoadError naming the file and the problem."""
    path = folder / "config.json"
    try:
        config = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        problem = f"not valid JSON ({exc.msg}, line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else \
            f"not readable as UTF-8 JSON ({type(exc).__name__})"
        raise ModelLoadError(f"{path}: {problem}\n"
                             "  restore the checkpoint's config.json as its library wrote it") from None
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path}: expected a JSON object, got {type(config).__name__}\n"
                             "  restore the checkpoint's config.json as its library wrote it")
    return config


@dataclasses.dataclass(frozen=True)
class CheckpointRecipe:
    source: str          # a local folder, a .gguf file, or hf:org/name[@rev]

    @property
    def name(self) -> str:
        return f"checkpoint:{self.source}"

    @cached_property
    def folder(self) -> Path:
        if self.source.startswith("hf:"):
            raise ConfigError("compression", self.name, "hub checkpoints are fetched by the model resolver",
                              "download it (with --medcheck-allow-network) and give its local folder")
        path = Path(self.source).expanduser()
        if not path.exists():
            raise ConfigError("compression", self.name, "checkpoint not found", "give an existing folder or .gguf file")
        return path

    @cached_property
    def format(self) -> str:
        return detect_format(self.folder)

    def describe(self) -> dict[str, Any]:
        from medcheck.models import fingerprint_dir, sha256_file
        from medcheck.settings import default_cache_dir

        folder = self.folder
        fp = sha256_file(folder) if folder.is_file() else fingerprint_dir(folder, default_cache_dir())
        return {"name": "checkpoint", "library": self.format, "params": {"path": str(folder.resolve())},
                "fingerprint": fp}

    # -- loading ------------------------------------------------------------------------------
    def _with_config(self, options: LoadOptions, config: Any) -> Any:
        return load_pretrained(str(self.folder), options, quantization_config=config,
                               device_map={"": options.device})

    def strategies(self, base: str, options: LoadOptions) -> list[Strategy]:
        fmt, folder = self.format, self.folder
        f32 = dataclasses.replace(options, dtype="float32")
        plain = lambda o: load_pretrained(str(folder), o, device_map={"": o.device})  # noqa: E731
        if fmt == "gptq":
            from transformers import GPTQConfig

            bits = read_config(folder)["quantization_config"].get("bits", 4)
            found = [Strategy("gptqmodel (auto kernel)", lambda: plain(options)),
                     Strategy("gptqmodel (torch kernel)",
                              lambda: self._with_config(options, GPTQConfig(bits=bits, backend="torch"))),
                     Strategy("gptqmodel (torch kernel, float32)",
                              lambda: self._with_config(f32, GPTQConfig(bits=bits, backend="torch")))]
        elif fmt == "awq":
            found = [Strategy("gptqmodel awq (auto kernel)", lambda: plain(options)),
                     Strategy("gptqmodel awq (float32)", lambda: plain(f32))]
        elif fmt == "compressed-tensors":
            from transformers.utils.quantization_config import CompressedTensorsConfig

            found = [Strategy("compressed-tensors (compressed)", lambda: plain(options)),
                     Strategy("compressed-tensors (decompressed)",
                              lambda: self._with_config(options, CompressedTensorsConfig(dequantize=True)))]
        elif fmt == "bitsandbytes":
            found = [Strategy("bitsandbytes", lambda: plain(options)),
                     Strategy("bitsandbytes (float32)", lambda: plain(f32))]
        elif fmt == "gguf":
            found = [Strategy("gguf (dequantized by transformers)", lambda: self._gguf(options))]
        else:
            found = [Strategy(f"safetensors ({options.dtype})", lambda: plain(options)),
                     Strategy("safetensors (float32)", lambda: plain(f32))]
        return [Strategy(s.name, self._checked(s.load, base)) for s in found]

    def _gguf(self, options: LoadOptions) -> Any:
        import torch
        from transformers import AutoModelForCausalLM

        gguf = self.folder if self.folder.is_file() else next(self.folder.glob("*.gguf"))
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                     dtype=getattr(torch, options.dtype))
        # transformers' decorated PreTrainedModel.to is typed as if it took the model again
        return model.to(options.device)   # type: ignore[arg-type]

    def _checked(self, load: Any, base: str) -> Any:
        def run() -> Any:
            model = load()
            check_architecture(model, base, self.name)
            return model
        return run

    def load(self, checkpoint: str, options: LoadOptions) -> Any:
        from medcheck.loading import load_with_fallbacks

        model, _ = load_with_fallbacks(self.name, self.strategies(checkpoint, options))
        return model

    def tokenizer_source(self, base: str) -> str:
        """The checkpoint's own tokenizer when it ships one (checked against the base's)."""
        folder = self.folder if self.folder.is_dir() else self.folder.parent
        return str(folder) if (folder / "tokenizer_config.json").is_file() else base


def check_architecture(model: Any, base: str, label: str) -> None:
    """Same tokenizer vocabulary and layer shapes as the pair's base model, or a clear error."""
    from transformers import AutoConfig

    base_config = AutoConfig.from_pretrained(base)
    diffs = [f"{k}: base {getattr(base_config, k, None)} vs checkpoint {getattr(model.config, k, None)}"
             for k in ARCH_KEYS if getattr(base_config, k, None) != getattr(model.config, k, None)]
    if diffs:
        raise ModelLoadError(f"{label} does not match its pair's base model:\n  " + "\n  ".join(diffs)
                             + "\n  pair the checkpoint with the model it was compressed from")
