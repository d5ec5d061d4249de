"""Generation for the transformers backend: our own decode loop over the model's forward pass.

Why not `model.generate`: it keeps every row of a batch running until the longest is done, grows
its KV cache by concatenation (a copy of the whole cache per layer per step, and heap churn), and
forms batches in request order. Here

- requests are sorted by prompt length before batching, results come back in request order;
- a batch's prompts are prefilled in groups of similar length (little padding), then decoded
  together (big batches: the weights are read once per step for every row);
- prompts that begin alike (`prefixes.families`: a dataset's system turn, instruction, examples)
  have that prefix computed once per call; each then prefills only its own tokens on its cache;
- each batch preallocates its KV cache for prompt + budget and writes into it in place;
- a row leaves the batch the step it ends (end-of-sequence, a stop sequence, its budget): its
  cache rows are dropped, and the padding columns no remaining row needs are trimmed;
- the prompt's logits are computed at its last position only (`logits_to_keep=1`).

Greedy decoding is an argmax over float32 logits, as `generate` does. Sampling applies
temperature, top-k (the checkpoint's generation config, else transformers' default 50) and top-p,
then draws from a generator seeded per request, so a draw does not depend on its batch mates.
Other generation-config processors (repetition penalties and the like) are not applied: the gate's
protocol is the same plain decoding for every checkpoint.

`Generation.new_tokens` counts the kept text's tokens; `computed_tokens` counts the tokens the
model produced for the row (the end-of-sequence token and tokens past a stop cut included).
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Sequence
from typing import Any

from medcheck.backends import Generation, GenerationRequest, OnToken, prefixes

BATCH = 32   # rows generated together at most; the token budget usually binds first
TOP_K = 50   # transformers' default top-k when sampling, where the checkpoint sets none


def _cut(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    cuts = [text.index(s) for s in stop if s and s in text]
    return (text[:min(cuts)], True) if cuts else (text, False)


def batches(lengths: Sequence[int], max_new: int, batch: int, batch_tokens: int) -> list[list[int]]:
    """Consecutive runs of request positions, each at most `batch` long and, padded to its longest
    prompt plus the answer budget, at most `batch_tokens` tokens (a request longer alone still goes
    alone). Long few-shot prompts thus go a few at a time: the KV cache is batch x length."""
    out: list[list[int]] = []
    longest = 0
    for i, n in enumerate(lengths):
        if out and len(out[-1]) < batch and (len(out[-1]) + 1) * (max(n, longest) + max_new) <= batch_tokens:
            out[-1].append(i)
            longest = max(longest, n)
        else:
            out.append([i])
            longest = n
    return out


def by_length(lengths: Sequence[int]) -> list[int]:
    """Positions ordered longest prompt first (ties in request order): neighbours pad each other
    little, and the batch that needs the most memory runs first."""
    return sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))


def _cache(capacity: int) -> Any:
    """A DynamicCache whose layers write into a buffer preallocated for `capacity` positions."""
    from transformers.cache_utils import DynamicCache, DynamicLayer

    class Layer(DynamicLayer):
        def _allocate(self, batch: int, keys: Any, values: Any) -> None:
            import torch

            # zeros: padding columns placed by `place` are masked, and 0 x garbage could be NaN
            self._k = torch.zeros((batch, keys.shape[1], capacity, keys.shape[-1]), dtype=keys.dtype,
                                  device=keys.device)
            self._v = torch.zeros((batch, values.shape[1], capacity, values.shape[-1]), dtype=values.dtype,
                                  device=values.device)
            self._n, self.device, self.is_initialized = 0, keys.device, True

        def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
            if not self.is_initialized:
                self._allocate(key_states.shape[0], key_states, value_states)
            q = key_states.shape[-2]
            self._k[:, :, self._n:self._n + q] = key_states
            self._v[:, :, self._n:self._n + q] = value_states
            self._n += q
            self.keys, self.values = self._k[:, :, :self._n], self._v[:, :, :self._n]
            return self.keys, self.values

        def place(self, part: Any, first_row: int, batch: int, width: int) -> None:
            """Copy a prefill group's cache in at rows first_row.., right-aligned on column `width`."""
            if not self.is_initialized:
                self._allocate(batch, part.keys, part.values)
            rows, n = slice(first_row, first_row + part.keys.shape[0]), part.keys.shape[-2]
            self._k[rows, :, width - n:width] = part.keys
            self._v[rows, :, width - n:width] = part.values
            self._n = width
            self.keys, self.values = self._k[:, :, :width], self._v[:, :, :width]

        def keep(self, rows: Any, first: int) -> None:
            """Keep batch `rows` and the positions from `first` on (a copy: the old buffer is freed)."""
            if self.is_initialized:
                self._k, self._v = self._k[rows, :, first:], self._v[rows, :, first:]
                self._n -= first
                self.keys, self.values = self._k[:, :, :self._n], self._v[:, :, :self._n]

    cache = DynamicCache()
    cache.layer_class_to_replicate = Layer
    return cache


def prefill_groups(lengths: Sequence[int], slack: float = 0.25, max_tokens: int = 1024) -> list[list[int]]:
    """Consecutive runs of prompts (longest first) prefilled together: padded to the run's longest,
    at most `slack` more tokens than the run's own and at most `max_tokens` (one prompt may exceed it).
    Decoding then runs the whole batch; only the prompts' forward pass is split, so padding costs little.
    1024 tokens, not more: a kernel's temporaries grow with the forward's tokens, and glibc keeps what
    large short-lived blocks fragment (bnb-int8 on a CPU, 114 gate prompts: peak RSS 3.9 GB at 4096,
    1.7 GB at 1024, the same tokens/s)."""
    out: list[list[int]] = []
    longest = real = 0
    for i, n in enumerate(lengths):
        if out and (len(out[-1]) + 1) * max(longest, n) <= min((1 + slack) * (real + n), max_tokens):
            out[-1].append(i)
            longest, real = max(longest, n), real + n
        else:
            out.append([i])
            longest = real = n
    return out


SCORING_SLACK = 0.1     # a scoring batch is padded at most this much beyond its own tokens
CPU_FORWARD_TOKENS = 2048   # tokens of one scoring forward pass on a CPU


def scoring_runs(lengths: Sequence[int], device: Any, batch_tokens: int) -> list[list[int]]:
    """Batches of a scoring pass (log-likelihood, teacher forcing) over rows sorted longest first.
    Filling a batch to `batch_tokens` padded 80 gate items of eight sets by 1.7x; bounding the
    padding to a tenth and, on a CPU, the forward to 2048 tokens halved the time (8,803 real tokens:
    dense 16.6 s -> 8.5 s, bnb-int8 37 s -> 16 s, 2 cores, bfloat16; 4096 or 1024 tokens were no
    faster). A GPU keeps `batch_tokens`: wide batches are what it is fast at."""
    cap = min(batch_tokens, CPU_FORWARD_TOKENS) if getattr(device, "type", device) == "cpu" else batch_tokens
    return prefill_groups(lengths, SCORING_SLACK, cap)


@functools.lru_cache(maxsize=8)
def _cache_kwarg(forward: Any) -> str:
    """transformers renamed `past_key_values` to `cache` (5.2x); the vLLM venv pins an older one."""
    return "cache" if "cache" in inspect.signature(forward).parameters else "past_key_values"


class _Decoder:
    """Per-model settings for the decode loop."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        import torch

        self.model, self.tokenizer = model, tokenizer
        config = getattr(model, "generation_config", None)
        eos = getattr(config, "eos_token_id", None)
        ids = set(eos if isinstance(eos, (list, tuple)) else [] if eos is None else [eos])
        if tokenizer.eos_token_id is not None:
            ids.add(tokenizer.eos_token_id)
        self.eos = torch.tensor(sorted(ids), dtype=torch.long)
        self.eos_set = set(ids)
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id or 0
        self.top_k = getattr(config, "top_k", None) or TOP_K
        self.device = next(model.parameters()).device
        self.cache_kwarg = _cache_kwarg(type(model).forward)

    def logits(self, ids: Any, mask: Any, positions: Any, cache: Any) -> Any:
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                         logits_to_keep=1, **{self.cache_kwarg: cache})
        return out.logits[:, -1].float()

    def choose(self, logits: Any, rows: list[_Row]) -> list[int]:
        """Next token per row: argmax, or a seeded draw; end-of-sequence barred below min_new_tokens."""
        import torch

        barred = [k for k, row in enumerate(rows) if len(row.tokens) < row.request.min_new_tokens]
        if barred and len(self.eos):
            logits[torch.tensor(barred)[:, None], self.eos.to(logits.device)[None, :]] = float("-inf")
        chosen = logits.argmax(-1).tolist()
        for k, row in enumerate(rows):
            if row.request.temperature > 0:
                chosen[k] = self._draw(logits[k:k + 1], row)
        return chosen

    def _draw(self, scores: Any, row: _Row) -> int:
        import torch
        from transformers.generation.logits_process import (
            TemperatureLogitsWarper,
            TopKLogitsWarper,
            TopPLogitsWarper,
        )

        request = row.request
        scores = TemperatureLogitsWarper(request.temperature)(None, scores)
        scores = TopKLogitsWarper(self.top_k)(None, scores)
        if request.top_p < 1.0:
            scores = TopPLogitsWarper(request.top_p)(None, scores)
        if row.generator is None:
            row.generator = torch.Generator(device=scores.device).manual_seed(request.seed)
        probs = torch.softmax(scores, dim=-1)
        return int(torch.multinomial(probs, 1, generator=row.generator))


class _Row:
    """One request while its batch runs."""

    def __init__(self, index: int, request: GenerationRequest, prompt: list[int], family: int | None = None,
                 shared: int = 0) -> None:
        self.index, self.request, self.prompt = index, request, prompt
        self.family = index if family is None else family   # rows of one family share `shared` prompt tokens
        self.shared = shared
        self.group = self.family if shared else -1   # prefilled together: a family, or all rows sharing nothing
        self.tokens: list[int] = []
        self.generator: Any = None

    def finish(self, decoder: _Decoder, token: int) -> str | None:
        """Append `token`; the finish reason if the row ends with it."""
        self.tokens.append(token)
        if token in decoder.eos_set:
            return "eos"
        if self.request.stop and _cut(self.text(decoder), self.request.stop)[1]:
            return "stop"
        return "length" if len(self.tokens) >= self.request.max_new_tokens else None

    def text(self, decoder: _Decoder) -> str:
        kept = self.tokens[:-1] if self.tokens and self.tokens[-1] in decoder.eos_set else self.tokens
        return str(decoder.tokenizer.decode(kept, skip_special_tokens=True))

    def result(self, decoder: _Decoder, finish: str, seconds: float, ttft: float | None) -> Generation:
        text, stopped = _cut(self.text(decoder), self.request.stop)
        if stopped:
            kept = len(decoder.tokenizer(text, add_special_tokens=False)["input_ids"])
        else:
            kept = len(self.tokens) - (finish == "eos")
        return Generation(text, kept, len(self.prompt), "stop" if stopped else finish, seconds, ttft,
                          computed_tokens=len(self.tokens))


def _prefix(decoder: _Decoder, row: _Row, memo: dict[int, Any]) -> Any:
    """The cache of `row`'s family prefix, computed once per engine call."""
    import torch
    from transformers.cache_utils import DynamicCache

    if row.family not in memo:
        ids = torch.tensor([row.prompt[:row.shared]], dtype=torch.long, device=decoder.device)
        memo[row.family] = DynamicCache()
        decoder.logits(ids, torch.ones_like(ids), torch.arange(row.shared, device=decoder.device)[None],
                       memo[row.family])
    return memo[row.family]


def expanded(prefix: Any, rows: int) -> Any:
    """A new cache holding `prefix`'s keys and values for `rows` rows (views: the forward's update copies)."""
    from transformers.cache_utils import DynamicCache

    cache = DynamicCache()
    for index, layer in enumerate(prefix.layers):
        cache.update(layer.keys.expand(rows, -1, -1, -1), layer.values.expand(rows, -1, -1, -1), index)
    return cache


def _prefill(decoder: _Decoder, rows: list[_Row], width: int, cache: Any, memo: dict[int, Any]) -> tuple[Any, Any]:
    """The prompts' forward passes into one cache: per family (rows adjacent), its shared prefix
    once, then the members' own tokens on top of it, in groups of similar length. Each group is
    [prefix, left padding, own tokens], right-aligned on column `width`. The last logits, and the
    batch's attention mask."""
    import torch
    from transformers.cache_utils import DynamicCache

    logits, device = [], decoder.device
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    start = 0
    while start < len(rows):
        end = start
        while end < len(rows) and rows[end].group == rows[start].group:
            end += 1
        shared = rows[start].shared
        prefix = _prefix(decoder, rows[start], memo) if shared else None
        for run in prefill_groups([len(r.prompt) - shared for r in rows[start:end]]):
            group = [rows[start + k] for k in run]
            longest = max(len(r.prompt) for r in group) - shared
            ids = torch.full((len(group), longest), decoder.pad, dtype=torch.long)
            seen = torch.zeros((len(group), shared + longest), dtype=torch.long)
            seen[:, :shared] = 1
            for k, row in enumerate(group):
                own = row.prompt[shared:]
                ids[k, longest - len(own):] = torch.tensor(own, dtype=torch.long)
                seen[k, shared + longest - len(own):] = 1
            positions = (seen.cumsum(-1) - 1).clamp(min=0)[:, shared:]
            part = DynamicCache() if prefix is None else expanded(prefix, len(group))
            logits.append(decoder.logits(ids.to(device), seen.to(device), positions.to(device), part))
            if not cache.layers:
                cache.layers = [cache.layer_class_to_replicate() for _ in part.layers]
            for layer, filled in zip(cache.layers, part.layers):
                layer.place(filled, start + run[0], len(rows), width)
            mask[start + run[0]:start + run[0] + len(group), width - seen.shape[1]:] = seen
        start = end
    return torch.cat(logits), mask.to(device)


def _run(decoder: _Decoder, rows: list[_Row], on_token: OnToken | None, memo: dict[int, Any]) -> dict[int, Generation]:
    """One batch, longest prompt first (a family's rows together): prefill, then step, dropping each
    row the step it ends."""
    import torch

    device = decoder.device
    rows = sorted(rows, key=lambda r: -len(r.prompt))
    place: dict[int, int] = {}
    for row in rows:
        place.setdefault(row.group, len(place))
    rows.sort(key=lambda r: place[r.group])   # stable: longest first within a family
    width = max(len(r.prompt) for r in rows)
    budget = max(r.request.max_new_tokens for r in rows)
    next_pos = torch.tensor([[len(r.prompt)] for r in rows], dtype=torch.long, device=device)
    cache = _cache(width + budget)
    out: dict[int, Generation] = {}
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    ttft: float | None = None
    logits, mask = _prefill(decoder, rows, width, cache, memo)
    live = list(rows)
    while live:
        chosen = decoder.choose(logits, live)
        now = time.perf_counter()
        ttft = now - t0 if ttft is None else ttft
        keep: list[int] = []
        for k, (row, token) in enumerate(zip(live, chosen)):
            if on_token:
                on_token(row.index, now)
            reason = row.finish(decoder, token)
            if reason:
                out[row.index] = row.result(decoder, reason, now - t0, ttft)
            else:
                keep.append(k)
        if not keep:
            break
        if len(keep) < len(live):   # drop ended rows, then the padding columns nobody needs
            rows_t = torch.tensor(keep, device=device)
            mask = mask[rows_t]
            first = int(mask.argmax(-1).min())   # left padding: the first real column of any row
            mask, next_pos = mask[:, first:], next_pos[rows_t]
            for layer in cache.layers:
                layer.keep(rows_t, first)
            live = [live[k] for k in keep]
            chosen = [chosen[k] for k in keep]
        step = torch.tensor(chosen, dtype=torch.long, device=device)[:, None]
        mask = torch.cat([mask, mask.new_ones((len(live), 1))], dim=-1)
        logits = decoder.logits(step, mask, next_pos, cache)
        next_pos = next_pos + 1
    return out


def generate(model: Any, tokenizer: Any, requests: Sequence[GenerationRequest],
             on_token: OnToken | None = None, batch: int = BATCH, batch_tokens: int = 8192) -> list[Generation]:
    import torch

    decoder = _Decoder(model, tokenizer)
    prompts = [tokenizer(r.prompt, add_special_tokens=False)["input_ids"] for r in requests]
    out: list[Generation | None] = [None] * len(requests)
    family = prefixes.families(prompts)
    memo: dict[int, Any] = {}   # a family's prefix cache, for every batch it has rows in
    groups: dict[int, list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault(r.max_new_tokens, []).append(i)
    for max_new, members in groups.items():
        ordered = [members[k] for k in by_length([len(prompts[i]) for i in members])]
        for run in batches([len(prompts[i]) for i in ordered], max_new, batch, batch_tokens):
            rows = [_Row(ordered[k], requests[ordered[k]], prompts[ordered[k]], *family[ordered[k]]) for k in run]
            if max_new <= 0:
                for row in rows:
                    out[row.index] = Generation("", 0, len(row.prompt), "length", 0.0, None)
                continue
            with torch.inference_mode():
                for index, gen in _run(decoder, rows, on_token, memo).items():
                    out[index] = gen
    return [g for g in out if g is not None]


def chat(tokenizer: Any, user: str) -> tuple[str, bool]:
    """The user turn through the tokenizer's chat template, else a plain Question/Answer prompt."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template([{"role": "user", "content": user}],
                                             add_generation_prompt=True, tokenize=False), True
    return f"Question: {user}\nAnswer:", False
