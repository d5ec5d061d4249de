"""Generation for the transformers backend: batched, greedy or seeded sampling, stop sequences,
and a per-token streaming hook (TTFT is the first hook call after the call starts).

Requests are grouped by their sampling settings and generated in left-padded batches; a batch of
one is what the efficiency track times. Stop sequences cut the decoded text (the model may run
past them within its batch; the reported token count is the kept text's).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from medcheck.backends import Generation, GenerationRequest, OnToken

BATCH = 8   # requests generated together at most: left padding wastes little at this size


class _Streamer:
    """A `generate` streamer: the first put() is the prompt (skipped); each later put() is one step."""

    def __init__(self, indices: list[int], on_token: OnToken | None) -> None:
        self.indices, self.on_token = indices, on_token
        self._prompt = True
        self.first: float | None = None

    def put(self, value: Any) -> None:
        now = time.perf_counter()
        if self._prompt:
            self._prompt = False
            return
        if self.first is None:
            self.first = now
        if self.on_token:
            for index in self.indices:
                self.on_token(index, now)

    def end(self) -> None: ...


def _cut(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    cuts = [text.index(s) for s in stop if s and s in text]
    return (text[:min(cuts)], True) if cuts else (text, False)


def batches(lengths: Sequence[int], max_new: int, batch: int, batch_tokens: int) -> list[list[int]]:
    """Consecutive runs of request positions, each at most `batch` long and, padded to its longest
    prompt plus the answer budget, at most `batch_tokens` tokens (a request longer alone still goes
    alone). Long few-shot prompts thus go a few at a time: attention memory grows with batch x length^2."""
    out: list[list[int]] = []
    for i, n in enumerate(lengths):
        if out and len(out[-1]) < batch and \
                (len(out[-1]) + 1) * (max(n, *(lengths[j] for j in out[-1])) + max_new) <= batch_tokens:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def generate(model: Any, tokenizer: Any, requests: Sequence[GenerationRequest],
             on_token: OnToken | None = None, batch: int = BATCH, batch_tokens: int = 8192) -> list[Generation]:
    import torch

    out: list[Generation | None] = [None] * len(requests)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, r in enumerate(requests):
        key = (r.max_new_tokens, r.min_new_tokens, r.temperature, r.top_p, r.seed)
        groups.setdefault(key, []).append(i)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    device = next(model.parameters()).device
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        for (max_new, min_new, temperature, top_p, seed), indices in groups.items():
            lengths = [len(ids) for ids in tokenizer([requests[i].prompt for i in indices],
                                                     add_special_tokens=False)["input_ids"]]
            for run in batches(lengths, max_new, batch, batch_tokens):
                chunk = [indices[k] for k in run]
                enc = tokenizer([requests[i].prompt for i in chunk], return_tensors="pt", padding=True,
                                add_special_tokens=False).to(device)
                sampling: dict[str, Any] = {"do_sample": False}
                if temperature > 0:
                    torch.manual_seed(seed)
                    sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p}
                streamer = _Streamer(chunk, on_token)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                with torch.inference_mode():
                    ids = model.generate(**enc, max_new_tokens=max_new, min_new_tokens=min_new or None,
                                         pad_token_id=pad, streamer=streamer, **sampling)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                seconds = time.perf_counter() - t0
                ttft = None if streamer.first is None else streamer.first - t0
                width = enc["input_ids"].shape[1]
                for row, i in enumerate(chunk):
                    new = ids[row, width:].tolist()
                    eos = tokenizer.eos_token_id
                    ended = eos is not None and eos in new
                    if ended:
                        new = new[:new.index(eos)]
                    while new and new[-1] == pad and pad != eos:
                        new.pop()
                    text, stopped = _cut(tokenizer.decode(new, skip_special_tokens=True), requests[i].stop)
                    kept = len(tokenizer(text, add_special_tokens=False)["input_ids"]) if stopped else len(new)
                    prompt_tokens = int(enc["attention_mask"][row].sum())
                    finish = "stop" if stopped else "eos" if ended else "length"
                    out[i] = Generation(text, kept, prompt_tokens, finish, seconds, ttft)
    finally:
        tokenizer.padding_side = side
    return [g for g in out if g is not None]


def chat(tokenizer: Any, user: str) -> tuple[str, bool]:
    """The user turn through the tokenizer's chat template, else a plain Question/Answer prompt."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template([{"role": "user", "content": user}],
                                             add_generation_prompt=True, tokenize=False), True
    return f"Question: {user}\nAnswer:", False
