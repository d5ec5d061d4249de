"""Loading for the transformers backend: runtime choice, tokenizer, fallback strategies, warm-up.

Everything engine-specific about getting a (compressed) model ready lives here, so the evaluator
never imports transformers. Load telemetry (strategy, attempts, bits, warm-up) is returned as a
plain dict for the report and the JUnit properties.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medcheck.compression import LoadOptions
    from medcheck.models import ResolvedModel

log = logging.getLogger("medcheck")


def resolve_runtime(dtype: str, device: str) -> tuple[str, str]:
    """(dtype, device): bfloat16 where the hardware runs it fast, else float32 (float16 on old GPUs)."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype == "auto":
        if device == "cuda":
            dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        else:
            cpu = getattr(torch, "cpu", None)
            fast = any(getattr(cpu, name, lambda: False)() for name in
                       ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))
            dtype = "bfloat16" if fast else "float32"
    return dtype, device


@contextlib.contextmanager
def _no_bars() -> Iterator[None]:
    """transformers' own progress bars off while medcheck loads: the run announces and times each load
    itself, and a bar captured by pytest only lengthens a failed test's report."""
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            hf_logging.enable_progress_bar()


def load_model(label: str, model: ResolvedModel, compression: str,
               options: LoadOptions) -> tuple[Any, Any, dict[str, Any]]:
    """(model, tokenizer, load info): through the recipe's strategies, then a warm-up."""
    from transformers import AutoTokenizer

    from medcheck.bits import weight_stats
    from medcheck.compression import recipe_for, strategies
    from medcheck.errors import ModelLoadError
    from medcheck.loading import load_with_fallbacks
    from medcheck.warmup import warm_up

    recipe = recipe_for(compression)
    log.info("medcheck: loading %s (%s, %s)", label, options.dtype, options.device)
    t0 = time.perf_counter()
    tokenizer_source = getattr(recipe, "tokenizer_source", lambda base: base)(model.path)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source, trust_remote_code=options.trust_remote_code)
    if tokenizer_source != model.path and \
            tokenizer.get_vocab() != AutoTokenizer.from_pretrained(model.path).get_vocab():
        raise ModelLoadError(f"{label}: the checkpoint's tokenizer vocabulary differs from its base model's")
    with _no_bars():
        loaded, attempts = load_with_fallbacks(label, strategies(recipe, model.path, options))
    info: dict[str, Any] = {"seconds": round(time.perf_counter() - t0, 2), "strategy": attempts[-1].strategy,
                            "fallback": len(attempts) > 1, "attempts": [a.as_dict() for a in attempts],
                            "dtype": str(loaded.dtype).removeprefix("torch."), "device": options.device,
                            **weight_stats(loaded).as_dict()}
    marker = getattr(recipe, "built_marker", None)
    if marker:
        info["build"] = marker(model.path, options)
    report = warm_up(loaded, tokenizer)
    info["warmup"] = report.as_dict()
    return loaded, tokenizer, info
