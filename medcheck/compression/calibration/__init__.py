"""Calibration text for recipes that look at activations (GPTQ, AWQ, SmoothQuant, Wanda, ShortGPT).

`medtext.txt` is general medical prose written by this project for calibration only: it shares
no items with any evaluation set. Paragraphs are separated by blank lines. CALIBRATION_ID enters
the recipe cache key and the report; bump it when the text or the sampling changes.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

CALIBRATION_ID = "medtext-v1"
TEXT = Path(__file__).with_name("medtext.txt")


def paragraphs() -> list[str]:
    return [p.strip() for p in TEXT.read_text(encoding="utf-8").split("\n\n") if p.strip()]


def calibration_texts(n_samples: int = 32, seed: int = 1234) -> list[str]:
    """`n_samples` paragraphs in a seeded order (repeating the pool if it is smaller)."""
    pool = paragraphs()
    order = list(range(len(pool)))
    random.Random(f"{seed}:{CALIBRATION_ID}").shuffle(order)
    return [pool[order[i % len(pool)]] for i in range(n_samples)]


def calibration_batches(tokenizer: Any, n_samples: int = 32, seq_len: int = 256, seed: int = 1234) -> list[Any]:
    """Token id tensors of shape [1, <= seq_len], one per sample."""
    import torch

    out = []
    for text in calibration_texts(n_samples, seed):
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids[:, :seq_len]
        out.append(ids.to(torch.long))
    return out
