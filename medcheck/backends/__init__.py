"""Backends score batches of log-likelihood requests. Registry of lazy implementations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from medcheck.prompts import Request
from medcheck.registry import Registry


@dataclass(frozen=True)
class LogLik:
    logprob: float          # sum of log P(continuation tokens | context)
    greedy: bool            # every continuation token is the argmax
    tokens: int             # continuation length in tokens
    context_tokens: int     # prompt length in tokens (after any truncation)


Progress = Callable[[int], None]   # called with the number of requests just finished


class Backend(Protocol):
    name: str

    def loglikelihood(self, requests: Sequence[Request], progress: Progress | None = None) -> list[LogLik]:
        """Score every request; continuations that share a context share one forward pass."""
        ...

    def describe(self) -> dict[str, object]:
        """Identity for reports and cache keys (library versions, dtype, device)."""
        ...

    def close(self) -> None: ...


BACKENDS: Registry[type] = Registry("backend", {"hf": "medcheck.backends.hf:HFBackend"})
