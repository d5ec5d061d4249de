"""Teacher-forced next-token distributions for the transformers backend (fidelity on generated items).

The prompt is tokenised as `hf_generate` fed it (no special tokens added) and the continuation
on its own, so the forced tokens are those a generation of that text would have produced (up to
the tokenizer's round trip of decoded text). One forward pass per request, right-padded batches
under the causal mask (real tokens never see the padding after them), the vocabulary projection
only at the answer positions; log-softmax in float32. Over-long requests keep the tail of the prompt.
Prompts that share a prefix (`prefixes.families`: a dataset's instruction and examples) have it
computed once; each member's own tokens then run on top of its cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from medcheck.backends import prefixes
from medcheck.backends.hf_generate import scoring_runs
from medcheck.backends.teacher import DEFAULT_TOP_K, TeacherRequest, TokenDists

Row = tuple[int, list[int], list[int]]   # (request index, prompt tokens, continuation tokens)


def _encode(tokenizer: Any, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"] if text else []


def token_distributions(model: Any, tokenizer: Any, requests: Sequence[TeacherRequest],
                        top_k: int = DEFAULT_TOP_K, extra_ids: Sequence[Sequence[Sequence[int]]] | None = None,
                        *, batch_tokens: int = 8192, max_length: int = 2048) -> list[TokenDists]:
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    rows: list[tuple[int, list[int], list[int]]] = []
    for i, (prompt, continuation) in enumerate(requests):
        ctx, cont = _encode(tokenizer, prompt), _encode(tokenizer, continuation)
        if not ctx:
            raise ValueError(f"request {i}: an empty prompt leaves no position to predict the first token from")
        cont = cont[:max_length - 1]
        rows.append((i, ctx[-(max_length - len(cont)):], cont))
    out: list[TokenDists | None] = [None] * len(requests)
    for i, ctx, cont in rows:
        if not cont:
            out[i] = TokenDists((), (), (), (), len(ctx))
    todo = [r for r in rows if r[2]]
    family = prefixes.families([ctx for _, ctx, _ in todo])
    groups: dict[int, list[tuple[Row, int]]] = {}
    for row, (name, shared) in zip(todo, family):
        groups.setdefault(name if shared else -1, []).append((row, shared))
    memo: dict[int, Any] = {}   # a family's prefix cache
    device = next(model.parameters()).device
    for name, members in groups.items():
        shared = members[0][1]
        prefix = _prefix(model, members[0][0][1][:shared], memo, name) if shared else None
        ordered = sorted((r for r, _ in members), key=lambda r: -(len(r[1]) + len(r[2])))
        for run in scoring_runs([len(c) + len(a) - shared for _, c, a in ordered], device, batch_tokens):
            batch = [ordered[k] for k in run]
            for (i, _, _), dists in zip(batch, _forward(model, tokenizer, batch, top_k, extra_ids, shared, prefix)):
                out[i] = dists
    return [d for d in out if d is not None]


def _body(model: Any) -> Any:
    return model.get_decoder() if hasattr(model, "get_decoder") else model.model


def _prefix(model: Any, tokens: list[int], memo: dict[int, Any], name: int) -> Any:
    """The decoder's cache after `tokens`, computed once per family."""
    import torch
    from transformers.cache_utils import DynamicCache

    from medcheck.backends.hf_generate import _cache_kwarg

    if name not in memo:
        body = _body(model)
        memo[name] = DynamicCache()
        ids = torch.tensor([tokens], dtype=torch.long, device=next(model.parameters()).device)
        with torch.inference_mode():
            body(input_ids=ids, use_cache=True, **{_cache_kwarg(type(body).forward): memo[name]})
    return memo[name]


def _forward(model: Any, tokenizer: Any, batch: list[Row], top_k: int,
             extra_ids: Sequence[Sequence[Sequence[int]]] | None, shared: int = 0,
             prefix: Any = None) -> list[TokenDists]:
    """One right-padded forward pass of the batch's tokens after the first `shared` (in `prefix`'s cache)."""
    import torch

    from medcheck.backends.hf_generate import _cache_kwarg, expanded

    device = next(model.parameters()).device
    width = max(len(c) + len(a) for _, c, a in batch) - shared
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    rows: list[int] = []
    cols: list[int] = []
    for row, (_, ctx, cont) in enumerate(batch):
        fed = ctx[shared:] + cont[:-1]   # the last answer token is only predicted
        ids[row, :len(fed)] = torch.tensor(fed)
        rows += [row] * len(cont)
        cols += range(len(ctx) - 1 - shared, len(ctx) - 1 - shared + len(cont))
    body = _body(model)
    past: dict[str, Any] = {}
    if prefix is not None:
        past = {_cache_kwarg(type(body).forward): expanded(prefix, len(batch)), "use_cache": True}
    with torch.inference_mode():
        hidden = body(input_ids=ids.to(device), **past).last_hidden_state
        logits = model.get_output_embeddings()(hidden[torch.tensor(rows), torch.tensor(cols)]).float()
        logprobs = torch.log_softmax(logits, dim=-1)
        k = min(top_k, logprobs.shape[-1])
        top_lp, top_id = logprobs.topk(k, dim=-1)
        targets = torch.tensor([t for _, _, cont in batch for t in cont], device=logprobs.device)
        target_lp = logprobs.gather(1, targets[:, None])[:, 0]
    top_lp_l, top_id_l, target_l = top_lp.cpu().tolist(), top_id.cpu().tolist(), target_lp.cpu().tolist()
    lp_rows = logprobs.cpu() if extra_ids is not None else None
    out, flat = [], 0
    for i, ctx, cont in batch:
        ids_t, lps_t = [], []
        for t in range(len(cont)):
            tid, tlp = list(top_id_l[flat + t]), list(top_lp_l[flat + t])
            if extra_ids is not None and lp_rows is not None and t < len(extra_ids[i]):
                extra = [e for e in dict.fromkeys(extra_ids[i][t]) if e not in tid]
                tid += extra
                tlp += lp_rows[flat + t, extra].tolist() if extra else []
            ids_t.append(tuple(tid))
            lps_t.append(tuple(tlp))
        out.append(TokenDists(tuple(cont), tuple(target_l[flat:flat + len(cont)]), tuple(ids_t), tuple(lps_t),
                              len(ctx)))
        flat += len(cont)
    return out
