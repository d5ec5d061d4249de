"""Backends own loading and inference: log-likelihood, generation and what efficiency needs.

A backend is loaded from a resolved model and a compression name (`Backend.load` on the class the
registry names); callers never touch engine objects (transformers modules, vLLM engines, HTTP
clients). Its name and version enter every results-store key, so two engines never share
records. The interface is engine-neutral: requests and results are plain dataclasses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from medcheck.prompts import Request
from medcheck.registry import Registry

if TYPE_CHECKING:
    from medcheck.compression import LoadOptions
    from medcheck.models import ResolvedModel


@dataclass(frozen=True)
class LogLik:
    logprob: float          # sum of log P(continuation tokens | context)
    greedy: bool            # every continuation token is the argmax
    tokens: int             # continuation length in tokens
    context_tokens: int     # prompt length in tokens (after any truncation)


@dataclass(frozen=True)
class GenerationRequest:
    """Generate from `prompt` (already rendered; see `Backend.chat`)."""

    prompt: str
    max_new_tokens: int = 64
    min_new_tokens: int = 0          # > 0 suppresses end-of-sequence until reached (fixed-length timing)
    stop: tuple[str, ...] = ()       # the text is cut before the first stop sequence
    temperature: float = 0.0         # 0: greedy; > 0: sampling, seeded by `seed`
    top_p: float = 1.0
    seed: int = 0


@dataclass(frozen=True)
class Generation:
    text: str
    new_tokens: int
    prompt_tokens: int
    finish: str                      # "stop" (a stop sequence), "eos" or "length"
    seconds: float                   # wall time of this request's generation
    ttft_s: float | None = None      # time to the first generated token (None if none was produced)
    computed_tokens: int | None = None   # tokens the engine generated for it, kept or not (None: not told)
    cost: float | None = None        # its share of a batch made ahead for several datasets (medcheck.ahead)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Footprint:
    """What the loaded model holds, counted from its tensors (see medcheck.bits)."""

    device: str
    weight_bytes: int
    bits_per_weight: float
    extra: dict[str, Any] = field(default_factory=dict)


OnToken = Callable[[int, float], None]   # (request index, perf_counter time) per generated token


@dataclass(frozen=True)
class Loaded:
    """A loaded backend and its load telemetry (strategy, attempts, warm-up, bits)."""

    backend: Backend
    info: dict[str, Any]


class Backend(Protocol):
    """Optional beyond these: `token_distributions` (teacher forcing, medcheck.backends.teacher);
    without it, fidelity on generated items is reported as not measured."""

    name: str

    def loglikelihood(self, requests: Sequence[Request]) -> list[LogLik]:
        """Score every request; continuations that share a context may share one forward pass."""
        ...

    def generate(self, requests: Sequence[GenerationRequest], on_token: OnToken | None = None) -> list[Generation]:
        """Generate for every request (batched where the engine can); `on_token` streams arrivals."""
        ...

    def chat(self, user: str) -> tuple[str, bool]:
        """`user` rendered as one chat turn ready for generation, and whether a chat template was used."""
        ...

    def footprint(self) -> Footprint: ...

    def peak_memory(self, run: Callable[[], object]) -> tuple[int, str]:
        """(bytes, how they were measured) of the memory used while `run()` executes."""
        ...

    def describe(self) -> dict[str, object]:
        """Identity for reports (engine versions, dtype, device)."""
        ...

    def close(self) -> None: ...


class BackendClass(Protocol):
    name: str

    @staticmethod
    def version() -> str:
        """Engine version: part of every store key."""
        ...

    @staticmethod
    def runtime(dtype: str, device: str) -> tuple[str, str]:
        """(dtype, device) that `auto` resolves to on this machine."""
        ...

    @classmethod
    def load(cls, label: str, model: ResolvedModel, compression: str, options: LoadOptions, *,
             batch_tokens: int) -> Loaded: ...


BACKENDS: Registry[BackendClass] = Registry("backend", {
    "hf": "medcheck.backends.hf:HFBackend",
    "vllm": "medcheck.backends.vllm:VLLMBackend",
    "openai": "medcheck.backends.openai:OpenAIBackend",
})
