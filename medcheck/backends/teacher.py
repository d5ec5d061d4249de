"""Teacher forcing for fidelity: a backend's next-token distributions along a given answer.

Two optional capabilities. `token_distributions` forces a generated answer (one prefill per item).
`loglikelihood_dists` is choice scoring that also keeps each option token's top-k from the same
forward pass, so fidelity on choice items costs no pass of its own (`option_distributions`).

Optional for a backend: one that lacks `token_distributions` has fidelity on generated items
"not measured" (`teacher_forcing(backend)` is None), which the report states; it never fails.
Engine-neutral plain dataclasses, like the rest of `medcheck.backends`; no torch here.

Which engines can:
* hf (transformers): both. Exact log-probabilities for any id, so in teacher forcing the candidate
  reports the ids the dense record names (`extra_ids`), and KL runs over the dense top-k; in
  choice scoring each model keeps its own top-k (the two passes stay independent).
* vLLM: choice scoring with top-k (`SamplingParams(prompt_logprobs=k)`, k <= the engine's
  max_logprobs, 20 by default, plus the prompt token's own). Teacher forcing is not wired: a vllm
  run records fidelity on generated items as not measured.
* OpenAI-compatible servers: `echo` with `logprobs` on the legacy completions endpoint where a
  server still offers it (top-5 at most); neither is wired: choice fidelity reads the option
  distributions, generated fidelity is recorded as not measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

DEFAULT_TOP_K = 10   # per position: keeps a record at ~20 numbers a token


@dataclass(frozen=True)
class TokenDists:
    """One teacher-forced continuation: per answer token, the model's distribution before it."""

    tokens: tuple[int, ...]                     # the continuation's token ids, fed one by one
    logprobs: tuple[float, ...]                 # log P(tokens[t] | prompt, tokens[:t])
    top_ids: tuple[tuple[int, ...], ...]        # per position: top-k ids, most likely first, then extra ids
    top_logprobs: tuple[tuple[float, ...], ...]
    context_tokens: int                         # prompt tokens seen (after any truncation)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def rounded(self, digits: int) -> dict[str, Any]:
        """`as_dict` with log-probabilities rounded to `digits` decimals: what a record stores."""
        def r(values: Sequence[float]) -> list[float]:
            return [round(float(v), digits) for v in values]

        return {"tokens": list(self.tokens), "logprobs": r(self.logprobs), "top_ids": [list(i) for i in self.top_ids],
                "top_logprobs": [r(lps) for lps in self.top_logprobs], "context_tokens": self.context_tokens}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenDists:
        return cls(tuple(data["tokens"]), tuple(data["logprobs"]), tuple(tuple(r) for r in data["top_ids"]),
                   tuple(tuple(r) for r in data["top_logprobs"]), int(data["context_tokens"]))


TeacherRequest = tuple[str, str]   # (prompt as sent to generate, continuation text to force)


@runtime_checkable
class TeacherForcing(Protocol):
    def token_distributions(self, requests: Sequence[TeacherRequest], top_k: int = DEFAULT_TOP_K,
                            extra_ids: Sequence[Sequence[Sequence[int]]] | None = None) -> list[TokenDists]:
        """One prefill per request: the prompt's tokens as generation fed them, then the
        continuation's own tokens; per continuation position the top-k ids and log-probs,
        followed by `extra_ids[i][t]` where given (engines that cannot, ignore them)."""
        ...


@runtime_checkable
class OptionDistributions(Protocol):
    def loglikelihood_dists(self, requests: Sequence[Any], top_k: int) -> list[tuple[Any, TokenDists]]:
        """`loglikelihood` (medcheck.backends.LogLik per request), each with its continuation's
        tokens, their log-probabilities and every position's top-k ids and log-probabilities."""
        ...


def option_distributions(backend: object) -> OptionDistributions | None:
    """The backend if its choice scoring can keep top-k distributions, else None (records then
    carry option log-likelihoods only, and fidelity reads the option distribution)."""
    return backend if callable(getattr(backend, "loglikelihood_dists", None)) else None  # type: ignore[return-value]


def teacher_forcing(backend: object) -> TeacherForcing | None:
    """The backend if it can teacher-force, else None ("fidelity not measured")."""
    return backend if isinstance(backend, TeacherForcing) else None


def can_teacher_force(engine: object) -> bool:
    """Whether a backend class offers teacher forcing, asked before any model is loaded."""
    return callable(getattr(engine, "token_distributions", None))
