"""Efficiency of a loaded model (CMedBench Track 5): memory, bits, TTFT, ACT, TPS -> CES.

Measured through the backend's interface only (`generate` with a streaming hook, `footprint`,
`peak_memory`), so every engine is measured the same way. Every timed run is one greedy
generation of exactly `max_new_tokens` tokens (eos suppressed by `min_new_tokens`) for one
prompt, batch size 1:

* TTFT: from the call of `generate` to the first *generated* token reaching the streaming hook.
* ACT: wall time of the whole `generate` call.
* TPS: generated tokens / ACT (end to end, prefill included).

Warm-up runs are excluded; reported values are medians over repeats x prompts, with min/max and
the raw samples beside them. Compare models measured in the same run on the same machine.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medcheck.metrics import ces

if TYPE_CHECKING:
    from medcheck.backends import Backend

PROMPTS: list[str] = [
    line.strip() for line in Path(__file__).with_name("efficiency_prompts.txt").read_text().splitlines()
    if line.strip()
]


@dataclass(frozen=True)
class Dimension:
    """One efficiency dimension: its direction is part of its definition, never configuration."""

    name: str                 # the Efficiency field
    higher_is_better: bool    # orients its ratio: candidate / dense if True, dense / candidate if False
    timed: bool               # one value per timed run (`Efficiency.samples`): its interval comes from the
    #                           repeats; otherwise the figure is deterministic and its interval is the point
    title: str                # report column
    column: str               # report key of the shown value
    scale: float = 1.0        # shown value = value / scale
    fmt: str = "{:.3f}"


MB = 2**20   # the report's MB, as the load telemetry's rss_mb / peak_mb
DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("memory_bytes", False, False, "memory (MB)", "memory_mb", MB, "{:.1f}"),
    Dimension("bits_per_weight", False, False, "bits/weight", "bits_per_weight", 1.0, "{:.2f}"),
    Dimension("ttft_s", False, True, "TTFT (s)", "ttft_s"),
    Dimension("act_s", False, True, "ACT (s)", "act_s"),
    Dimension("tps", True, True, "TPS", "tps", 1.0, "{:.1f}"),
)
BY_NAME = {d.name: d for d in DIMENSIONS}


@dataclass(frozen=True)
class Efficiency:
    """One model's efficiency, batch size 1.

    memory_bytes: measured on one untimed pass over the prompts, after the warm-up and before the
    timed runs (instrumenting a timed run would perturb it: a sampler thread contends for the GIL).
    CUDA: `torch.cuda.max_memory_allocated` over that pass after a reset (weights + KV cache +
    activations). CPU (transformers): tensor accounting, `weight_stats(model).weight_bytes` plus the
    peak bytes of the tensors created during that pass and alive at once (KV cache, activations;
    medcheck.backends.memory.TensorPeak): the same model and prompts give the
    same figure every run. Kernels' scratch memory and allocator overhead are not in it; vLLM in
    process keeps the resident-set method. `memory_kind` says which was measured.
    tps: generated tokens / act_s per run (end to end, prefill included), then the median.
    spread / samples: (min, max) and raw per-run values of the timed dimensions (ttft_s, act_s, tps):
    their intervals come from these (medcheck.efficiency_intervals).
    """

    device: str
    memory_kind: str
    memory_bytes: int
    weight_bytes: int
    bits_per_weight: float
    ttft_s: float
    act_s: float
    tps: float
    spread: dict[str, tuple[float, float]] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)
    n_runs: int = 0
    new_tokens: int = 0          # generated per run
    backend: str = ""            # the engine measured (`Backend.name`): numbers of two engines differ
    by_shots: dict[str, dict[str, float]] = field(default_factory=dict)   # medcheck.efficiency_shots

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["spread"] = {k: list(v) for k, v in self.spread.items()}
        return out


def one_run(backend: Backend, prompt: str, max_new_tokens: int, seed: int) -> tuple[float, float, int, int]:
    """(ttft, act, generated tokens, prompt tokens) of one greedy generation of exactly `max_new_tokens`."""
    from medcheck.backends import GenerationRequest

    request = GenerationRequest(prompt, max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens, seed=seed)
    first: list[float] = []
    start = time.perf_counter()
    (out,) = backend.generate([request], on_token=lambda _i, t: first.append(t) if not first else None)
    stop = time.perf_counter()
    if not first or out.new_tokens < 1:
        raise RuntimeError("generate produced no new token; TTFT is undefined")
    return first[0] - start, stop - start, out.new_tokens, out.prompt_tokens


def measure(backend: Backend, *, max_new_tokens: int = 32, repeats: int = 3, warmup: int = 1,
            prompts: list[str] | None = None, seed: int = 1234,
            progress: Callable[[int, int], None] | None = None) -> Efficiency:
    """Measure memory, bits and latency through `backend` (batch 1); see `Efficiency`.

    `prompts` are questions (default `PROMPTS`), rendered with the backend's chat template. Every
    pass runs each prompt once: `warmup` untimed passes, one memory pass, then `repeats` timed
    passes. `progress(done, total)` is called after every generation.
    """
    if max_new_tokens < 2 or repeats < 1 or warmup < 0:
        raise ValueError("need max_new_tokens >= 2 (TTFT < ACT), repeats >= 1, warmup >= 0")
    questions = list(PROMPTS if prompts is None else prompts)
    if not questions:
        raise ValueError("no prompts to measure")
    rendered = [backend.chat(q)[0] for q in questions]
    total, done = len(rendered) * (warmup + 1 + repeats), [0]

    def one_pass() -> list[tuple[float, float, int, int]]:
        runs = []
        for j, prompt in enumerate(rendered):
            runs.append(one_run(backend, prompt, max_new_tokens, seed + j))
            done[0] += 1
            if progress:
                progress(done[0], total)
        return runs

    footprint = backend.footprint()
    for _ in range(warmup):
        one_pass()
    memory, kind = backend.peak_memory(one_pass)
    runs = [run for _ in range(repeats) for run in one_pass()]
    samples = {"ttft_s": [r[0] for r in runs], "act_s": [r[1] for r in runs],
               "tps": [r[2] / r[1] for r in runs]}
    return Efficiency(
        device=footprint.device, memory_kind=kind, memory_bytes=memory, weight_bytes=footprint.weight_bytes,
        bits_per_weight=footprint.bits_per_weight,
        ttft_s=statistics.median(samples["ttft_s"]), act_s=statistics.median(samples["act_s"]),
        tps=statistics.median(samples["tps"]),
        spread={k: (min(v), max(v)) for k, v in samples.items()}, samples=samples,
        n_runs=len(runs), new_tokens=max(r[2] for r in runs), backend=getattr(backend, "name", ""))


def dims_of(names: Sequence[str] | None = None) -> list[Dimension]:
    """The declared dimensions named (all of them by default), in declaration order."""
    if names is None:
        return list(DIMENSIONS)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown or not names:
        raise ValueError(f"efficiency dimensions must be a non-empty subset of {list(BY_NAME)}; got {unknown or '[]'}")
    return [d for d in DIMENSIONS if d.name in names]


def ratios(dense: Efficiency, candidate: Efficiency, names: Sequence[str] | None = None) -> dict[str, float]:
    """Per-dimension ratio, > 1 when the candidate is more efficient (as `metrics.ces` orients it)."""
    return {d.name: ces({("m", d.name): getattr(dense, d.name)}, {("m", d.name): getattr(candidate, d.name)},
                        {d.name: d.higher_is_better}) for d in dims_of(names)}


def ces_of(dense: Efficiency, candidate: Efficiency, names: Sequence[str] | None = None, model: str = "model") -> float:
    """CES of one model: `metrics.ces` over keys (model, dim) for the named dimensions (all by default)."""
    dims = dims_of(names)
    return ces({(model, d.name): getattr(dense, d.name) for d in dims},
               {(model, d.name): getattr(candidate, d.name) for d in dims},
               {d.name: d.higher_is_better for d in dims})
