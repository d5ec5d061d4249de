"""transformers backend: batched log-likelihood with shared-context packing.

All continuations of one item go into one sequence, context first, each continuation in its own
segment that sees the context and itself only (a 4D attention mask, position ids restarting after
the context). One forward pass per item, whatever the number of options, and the vocabulary
projection runs only at the positions that are scored. `loglikelihood_dists` also keeps, from that
same pass, each scored position's top-k (fidelity on choice items, medcheck.backends.teacher).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from medcheck.backends import Footprint, Generation, GenerationRequest, Loaded, LogLik, OnToken
from medcheck.backends.hf_generate import scoring_runs
from medcheck.backends.teacher import TokenDists
from medcheck.prompts import Request

if TYPE_CHECKING:
    from medcheck.compression import LoadOptions
    from medcheck.models import ResolvedModel

PACKED_ATTENTION = ("sdpa", "eager")   # implementations that honour a custom 4D mask


@dataclass
class _Group:
    """One context and its continuations, tokenised and packed."""
    indices: list[int]          # request indices, in continuation order
    context: list[int]
    continuations: list[list[int]]

    def packed(self) -> tuple[list[int], list[int], list[int]]:
        """Token ids, position ids and segment ids (0 = context, j = continuation j)."""
        ids, pos, seg = list(self.context), list(range(len(self.context))), [0] * len(self.context)
        start = len(self.context)
        for j, cont in enumerate(self.continuations, start=1):
            fed = cont[:-1]   # the last token is only predicted, never fed
            ids += fed
            pos += range(start, start + len(fed))
            seg += [j] * len(fed)
        return ids, pos, seg


class HFBackend:
    """transformers: loading through the recipe's strategies, packed scoring, batched generation."""

    name = "hf"

    @staticmethod
    def version() -> str:
        from importlib.metadata import version

        from medcheck.backends.hf_packed import VERSION

        return f"transformers {version('transformers')}, torch {version('torch')}, {VERSION}"

    @staticmethod
    def runtime(dtype: str, device: str) -> tuple[str, str]:
        from medcheck.backends.hf_load import resolve_runtime

        return resolve_runtime(dtype, device)

    @classmethod
    def load(cls, label: str, model: ResolvedModel, compression: str, options: LoadOptions, *,
             batch_tokens: int = 8192) -> Loaded:
        from medcheck.backends.hf_load import load_model

        loaded, tokenizer, info = load_model(label, model, compression, options)
        return Loaded(cls(loaded, tokenizer, batch_tokens=batch_tokens, label=label), info)

    def __init__(self, model: Any, tokenizer: Any, *, batch_tokens: int = 8192,
                 label: str = "", max_length: int | None = None) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_tokens = batch_tokens
        self.label = label
        self.device = next(model.parameters()).device
        self.linear_packed = 0
        if self.device.type == "cpu":
            from medcheck.backends.hf_packed import prepack
            from medcheck.backends.memory import bound_heap

            bound_heap()
            self.linear_packed = prepack(self.model)
        config_max = getattr(model.config, "max_position_embeddings", None) or 2048
        self.max_length = max_length or min(config_max, 8192)
        self.pack = getattr(model.config, "_attn_implementation", "sdpa") in PACKED_ATTENTION

    # -- tokenisation -------------------------------------------------------------------------
    def _encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _group(self, requests: Sequence[Request]) -> list[_Group]:
        by_context: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            by_context.setdefault(request.context, []).append(index)
        groups = []
        for context, indices in by_context.items():
            conts = []
            for i in indices:
                # As lm-eval does: trailing spaces move to the continuation, and the
                # continuation's tokens are those of the whole string past the context's.
                cont = requests[i].continuation
                stripped = context.rstrip(" ")
                cont = context[len(stripped):] + cont
                ctx_ids = self._encode(stripped)
                whole = self._encode(stripped + cont)
                conts.append(whole[len(ctx_ids):] or whole[-1:])
            ctx_ids = self._encode(context.rstrip(" "))
            if self.pack:
                groups.append(_Group(indices, ctx_ids, conts))
            else:
                groups += [_Group([i], ctx_ids, [c]) for i, c in zip(indices, conts)]
        for g in groups:   # keep the tail of over-long contexts, as lm-eval does
            room = self.max_length - sum(max(len(c) - 1, 0) for c in g.continuations)
            if len(g.context) > room:
                g.context = g.context[len(g.context) - max(room, 1):]
        return groups

    # -- scoring --------------------------------------------------------------------------------
    def loglikelihood(self, requests: Sequence[Request],
                      progress: Callable[[int], None] | None = None) -> list[LogLik]:
        return [ll for ll, _ in self._scored(requests, 0, progress)]

    def loglikelihood_dists(self, requests: Sequence[Request], top_k: int,
                            progress: Callable[[int], None] | None = None) -> list[tuple[LogLik, TokenDists]]:
        """As `loglikelihood`, plus each continuation position's top-k ids and log-probabilities
        from the same forward pass (medcheck.backends.teacher.OptionDistributions)."""
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        return [(ll, d) for ll, d in self._scored(requests, top_k, progress) if d is not None]

    def _scored(self, requests: Sequence[Request], top_k: int,
                progress: Callable[[int], None] | None) -> list[tuple[LogLik, TokenDists | None]]:
        results: list[tuple[LogLik, TokenDists | None] | None] = [None] * len(requests)
        groups = sorted(self._group(requests), key=lambda g: -len(g.packed()[0]))
        for run in scoring_runs([len(g.packed()[0]) for g in groups], self.device, self.batch_tokens):
            batch = [groups[k] for k in run]
            for group, scores in zip(batch, self._score_batch(batch, top_k)):
                for index, score in zip(group.indices, scores):
                    results[index] = score
            if progress:
                progress(sum(len(g.indices) for g in batch))
        return [r for r in results if r is not None]

    @torch.inference_mode()
    def _score_batch(self, batch: list[_Group], top_k: int = 0) -> list[list[tuple[LogLik, TokenDists | None]]]:
        packed = [g.packed() for g in batch]
        width = max(len(ids) for ids, _, _ in packed)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        pos = torch.zeros((len(batch), width), dtype=torch.long)
        seg = torch.full((len(batch), width), -1, dtype=torch.long)   # -1 = padding
        for row, (i, p, s) in enumerate(packed):
            ids[row, :len(i)] = torch.tensor(i)
            pos[row, :len(p)] = torch.tensor(p)
            seg[row, :len(s)] = torch.tensor(s)
        segmented = bool((seg > 0).any())
        if segmented:
            idx = torch.arange(width)
            causal = idx[None, :, None] >= idx[None, None, :]
            same = (seg[:, None, :] == 0) | (seg[:, :, None] == seg[:, None, :])
            valid = (seg[:, None, :] >= 0) & (seg[:, :, None] >= 0)
            mask = (causal & same & valid) | torch.eye(width, dtype=torch.bool)[None]
            mask = mask[:, None].to(self.device)
        else:
            # Right padding under a causal mask: real tokens never see the padding that follows
            # them, so no mask is needed, and sdpa can take its fused causal kernel.
            mask = None
        body = self.model.get_decoder() if hasattr(self.model, "get_decoder") else self.model.model
        hidden = body(input_ids=ids.to(self.device), attention_mask=mask,
                      position_ids=pos.to(self.device)).last_hidden_state

        # Positions to score: continuation token k of segment j is predicted from the previous token.
        rows, cols, targets, owners = [], [], [], []
        for row, group in enumerate(batch):
            ctx_last = len(group.context) - 1
            offset = len(group.context)
            for j, cont in enumerate(group.continuations):
                prev = [ctx_last] + list(range(offset, offset + len(cont) - 1))
                offset += len(cont) - 1
                rows += [row] * len(cont)
                cols += prev
                targets += cont
                owners += [(row, j)] * len(cont)
        head = self.model.get_output_embeddings()
        logits = head(hidden[torch.tensor(rows), torch.tensor(cols)]).float()
        logprobs = torch.log_softmax(logits, dim=-1)
        target = torch.tensor(targets, device=logprobs.device)
        token_lp = logprobs.gather(1, target[:, None])[:, 0].cpu().tolist()
        token_greedy = (logprobs.argmax(-1) == target).cpu().tolist()

        tops = _tops(logprobs, top_k, owners) if top_k else {}

        sums: dict[tuple[int, int], list[float]] = {}
        greedy: dict[tuple[int, int], bool] = {}
        for owner, lp, g in zip(owners, token_lp, token_greedy):
            sums.setdefault(owner, []).append(lp)
            greedy[owner] = greedy.get(owner, True) and bool(g)
        out: list[list[tuple[LogLik, TokenDists | None]]] = []
        for row, group in enumerate(batch):
            scored = []
            for j, cont in enumerate(group.continuations):
                ll = LogLik(sum(sums[(row, j)]), greedy[(row, j)], len(cont), len(group.context))
                dists = None
                if top_k:
                    top_ids, top_lps = tops[(row, j)]
                    dists = TokenDists(tuple(cont), tuple(sums[(row, j)]), top_ids, top_lps, len(group.context))
                scored.append((ll, dists))
            out.append(scored)
        return out

    def token_distributions(self, requests: Sequence[tuple[str, str]], top_k: int = 10,
                            extra_ids: Sequence[Sequence[Sequence[int]]] | None = None) -> list[TokenDists]:
        """Teacher-forced top-k distributions along each continuation (medcheck.backends.teacher)."""
        from medcheck.backends.hf_fidelity import token_distributions

        return token_distributions(self.model, self.tokenizer, requests, top_k, extra_ids,
                                   batch_tokens=self.batch_tokens, max_length=self.max_length)

    # -- generation and what the efficiency track measures ------------------------------------
    def generate(self, requests: Sequence[GenerationRequest], on_token: OnToken | None = None) -> list[Generation]:
        from medcheck.backends.hf_generate import generate

        return generate(self.model, self.tokenizer, requests, on_token, batch_tokens=self.batch_tokens)

    def chat(self, user: str) -> tuple[str, bool]:
        from medcheck.backends.hf_generate import chat

        return chat(self.tokenizer, user)

    def footprint(self) -> Footprint:
        from medcheck.bits import weight_stats

        stats = weight_stats(self.model)
        return Footprint(self.device.type, stats.weight_bytes, stats.bits_per_weight, stats.as_dict())

    def peak_memory(self, run: Callable[[], object]) -> tuple[int, str]:
        from medcheck.backends.memory import tensor_peak_memory

        return tensor_peak_memory(run, self.device, self.footprint().weight_bytes)

    def describe(self) -> dict[str, object]:
        import transformers

        return {"backend": self.name, "torch": torch.__version__, "transformers": transformers.__version__,
                "dtype": str(self.model.dtype).removeprefix("torch."), "device": str(self.device),
                "attention": getattr(self.model.config, "_attn_implementation", None), "packed": self.pack,
                "prepacked_linear_layers": self.linear_packed}

    def close(self) -> None:
        import gc

        from medcheck.backends.memory import trim_heap

        self.model = None
        gc.collect()
        trim_heap()   # the freed weights back to the OS, before the next model loads beside them
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _tops(logprobs: torch.Tensor, top_k: int, owners: list[tuple[int, int]]
          ) -> dict[tuple[int, int], tuple[tuple[tuple[int, ...], ...], tuple[tuple[float, ...], ...]]]:
    """Per (row, continuation): each position's top-k ids and log-probabilities, most likely first."""
    top_lp, top_id = logprobs.topk(min(top_k, logprobs.shape[-1]), dim=-1)
    ids: dict[tuple[int, int], list[tuple[int, ...]]] = {}
    lps: dict[tuple[int, int], list[tuple[float, ...]]] = {}
    for owner, i, lp in zip(owners, top_id.cpu().tolist(), top_lp.cpu().tolist()):
        ids.setdefault(owner, []).append(tuple(i))
        lps.setdefault(owner, []).append(tuple(lp))
    return {o: (tuple(ids[o]), tuple(lps[o])) for o in ids}
