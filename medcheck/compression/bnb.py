"""bitsandbytes quantization at load time: NF4 with double quantization, and LLM.int8().

Runs on CUDA and (bitsandbytes >= 0.45) on the CPU. With a float32 model, int8 on the CPU is very
slow (tens of seconds a forward pass), so the run's dtype should be bfloat16 there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from medcheck.compression import LoadOptions
from medcheck.compression.dense import load_pretrained
from medcheck.errors import ModelLoadError


def _bnb_version() -> str:
    try:
        return version("bitsandbytes")
    except PackageNotFoundError:
        raise ModelLoadError("bitsandbytes is not installed: pip install 'medcheck[bnb]'") from None


class _DropCastNotice(logging.Filter):
    """bitsandbytes logs this on every int8 forward pass with bfloat16 inputs: once is enough.
    After the first, its logger (which logs nothing else) is raised to ERROR, so later passes skip
    building the record (6 s of the quick run's bnb-int8 phase went into building and dropping them)."""

    seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        if "inputs will be cast" not in record.getMessage():
            return True
        first, _DropCastNotice.seen = not _DropCastNotice.seen, True
        logging.getLogger(record.name).setLevel(logging.ERROR)
        return first


@dataclass(frozen=True)
class BitsAndBytes:
    name: str
    bits: int

    def describe(self) -> dict[str, Any]:
        params = ({"quant_type": "nf4", "double_quant": True} if self.bits == 4
                  else {"llm_int8_threshold": 6.0})
        return {"name": self.name, "library": f"bitsandbytes=={_bnb_version()}", "params": params}

    def load(self, checkpoint: str, options: LoadOptions) -> Any:
        import torch
        from transformers import BitsAndBytesConfig

        _bnb_version()
        logger = logging.getLogger("bitsandbytes.autograd._functions")
        if not any(isinstance(f, _DropCastNotice) for f in logger.filters):
            logger.addFilter(_DropCastNotice())
        dtype = getattr(torch, options.dtype)
        if self.bits == 4:
            config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                        bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=dtype)
        else:
            config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=6.0)
        return load_pretrained(checkpoint, options, quantization_config=config,
                               device_map={"": options.device})


NF4 = BitsAndBytes("bnb-nf4", 4)
INT8 = BitsAndBytes("bnb-int8", 8)
