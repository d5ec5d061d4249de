"""Generation batched across datasets: the requests of the datasets a loaded model will answer
next are generated together, so one step of the decode loop serves many datasets' rows.

A generative dataset of the quick run has 5 items: generated alone, each step of the decode loop
reads every weight for 5 rows. The evaluator knows which datasets the loaded model answers next
(its plan), so before it scores a chunk whose answers are not yet generated it asks `Ahead.fill`
for that chunk's requests plus the first chunk of each following generative dataset, up to
`AHEAD` requests; the engine batches them by length as it would any list. The kinds then score
their chunks as before, through `Ahead.generate`, which hands out what was generated (and
generates anything else). Sampled rows draw from generators seeded per request; a greedy row is
the argmax of its own logits, which the padding of other rows can move where two tokens nearly
tie (more often in bfloat16): the same plan gives the same texts, a smaller one (`-k`) may not.

Nothing is stored until its dataset's chunk is scored, so an interrupt loses at most one fill.
Each output carries `cost`: the fill's wall time shared out by the tokens each request took (its
prompt and what it generated), so per-item and per-dataset seconds stay what each dataset used.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

from medcheck.backends import Generation, GenerationRequest, OnToken

AHEAD = 128   # requests generated together at most: what an interrupt can lose, and the fill's latency


class Ahead:
    """A loaded backend whose generations may be made ahead of the call that asks for them."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self._made: dict[GenerationRequest, list[Generation]] = {}
        self.fill_seconds = 0.0   # wall time spent generating (fills)
        self.charged = 0.0        # the costs of the generations handed out

    def __getattr__(self, name: str) -> Any:   # everything but generation is the backend's own
        return getattr(self.backend, name)

    def has(self, requests: Sequence[GenerationRequest]) -> bool:
        need: dict[GenerationRequest, int] = {}
        for r in requests:
            need[r] = need.get(r, 0) + 1
        return all(len(self._made.get(r, ())) >= k for r, k in need.items())

    def fill(self, requests: Sequence[GenerationRequest], on_token: OnToken | None = None) -> int:
        """Generate `requests` in one engine call and keep the outputs for `generate`; the tokens kept."""
        if not requests:
            return 0
        t0 = time.perf_counter()
        outs = self.backend.generate(list(requests), on_token)
        wall = time.perf_counter() - t0
        self.fill_seconds += wall
        work = [o.prompt_tokens + (o.computed_tokens if o.computed_tokens is not None else o.new_tokens) for o in outs]
        if not sum(work):   # an engine that reports no tokens: equal shares
            work = [1] * len(outs)
        for r, o, w in zip(requests, outs, work):
            self._made.setdefault(r, []).append(dataclasses.replace(o, cost=round(wall * w / sum(work), 6)))
        return sum(o.new_tokens for o in outs)

    def generate(self, requests: Sequence[GenerationRequest], on_token: OnToken | None = None) -> list[Generation]:
        missing: list[GenerationRequest] = []
        seen: dict[GenerationRequest, int] = {}
        for r in requests:
            seen[r] = seen.get(r, 0) + 1
            if seen[r] > len(self._made.get(r, ())):
                missing.append(r)
        if missing:
            self.fill(missing, on_token)
        out = [self._made[r].pop(0) for r in requests]
        self.charged += sum(o.cost or 0.0 for o in out)
        return out
