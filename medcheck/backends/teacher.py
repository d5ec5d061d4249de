"""Teacher forcing for fidelity: a backend's next-token distributions along a given answer.

Optional for a backend: one that lacks `token_distributions` has fidelity on generated items
"not measured" (`teacher_forcing(backend)` is None), which the report states; it never fails.
Engine-neutral plain dataclasses, like the rest of `medcheck.backends`; no torch here.

Which engines can:
* hf (transformers): exact log-probabilities for any id, so besides its own top-k the candidate
  reports the ids the dense record names (`extra_ids`), and KL runs over the dense top-k.
* vLLM: only top-k *prompt* logprobs (`SamplingParams(prompt_logprobs=k)`, k <= the engine's
  max_logprobs, 20 by default), plus the prompt token's own; no arbitrary ids. KL then runs over
  the ids both top-k lists share plus one lumped bucket (medcheck.fidelity.token_kl). Not wired:
  a vllm run records fidelity on generated items as not measured.
* OpenAI-compatible servers: `echo` with `logprobs` on the legacy completions endpoint where a
  server still offers it (top-5 at most); not wired, recorded as not measured.
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


def teacher_forcing(backend: object) -> TeacherForcing | None:
    """The backend if it can teacher-force, else None ("fidelity not measured")."""
    return backend if isinstance(backend, TeacherForcing) else None


def can_teacher_force(engine: object) -> bool:
    """Whether a backend class offers teacher forcing, asked before any model is loaded."""
    return callable(getattr(engine, "token_distributions", None))
