"""Warm-up before scoring: a model that cannot produce text is reported broken, not scored.

Checks: the tokenizer round-trips a medical sentence; the chat template (if any) renders; a short
greedy generation is non-empty, printable text and not one token repeated.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

SENTENCE = "A 54-year-old man has chest pain radiating to the left arm; troponin is raised."
QUESTION = "What is the first-line treatment for an uncomplicated urinary tract infection?"


@dataclass(frozen=True)
class WarmupReport:
    ok: bool
    reason: str
    output: str
    new_tokens: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _printable_share(text: str) -> float:
    if not text:
        return 0.0
    good = sum(ch.isprintable() or ch in "\n\t" for ch in text) - text.count("\ufffd")
    return good / len(text)


def warm_up(model: Any, tokenizer: Any, max_new_tokens: int = 16) -> WarmupReport:
    import torch

    t0 = time.perf_counter()
    problems = []
    ids = tokenizer(SENTENCE, add_special_tokens=False)["input_ids"]
    if tokenizer.decode(ids).strip() != SENTENCE:
        problems.append("tokenizer does not round-trip text")
    prompt = f"Question: {QUESTION}\nAnswer:"
    if getattr(tokenizer, "chat_template", None):
        try:
            prompt = tokenizer.apply_chat_template([{"role": "user", "content": QUESTION}],
                                                   add_generation_prompt=True, tokenize=False)
        except Exception as exc:
            problems.append(f"chat template does not render: {exc}")
        else:
            if QUESTION not in prompt:
                problems.append("chat template drops the user message")
    device = next(model.parameters()).device
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(device)
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
    new = out[0, inputs["input_ids"].shape[1]:].tolist()
    text = tokenizer.decode(new, skip_special_tokens=True)
    if not text.strip():
        problems.append("generation is empty")
    elif _printable_share(text) < 0.9:
        problems.append("generation is not text")
    if len(new) >= 4 and len(set(new)) == 1:
        problems.append(f"generation repeats one token ({tokenizer.decode(new[:1])!r} x{len(new)})")
    return WarmupReport(not problems, "; ".join(problems), text[:200], len(new), round(time.perf_counter() - t0, 2))
