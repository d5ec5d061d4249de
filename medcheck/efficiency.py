"""Efficiency of a loaded model (CMedBench Track 5): memory, bits, TTFT, ACT, TPS -> CES.

Every timed run is one greedy generation of exactly `max_new_tokens` tokens (eos suppressed by
`min_new_tokens`) for one prompt, batch size 1, under `torch.inference_mode`:

* TTFT: from the call of `generate` to the first *generated* token reaching the streamer. HF
  `generate` first hands the prompt to `streamer.put()`; that call is skipped (skip_prompt).
* ACT: wall time of the whole `generate` call.
* TPS: generated tokens / ACT (end to end, prefill included).

Warm-up runs are excluded; reported values are medians over repeats x prompts, with min/max and
the raw samples beside them. Compare models measured in the same run on the same machine.
"""

from __future__ import annotations

import gc
import statistics
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medcheck.bits import weight_stats
from medcheck.metrics import ces

PROMPTS: list[str] = [
    line.strip() for line in Path(__file__).with_name("efficiency_prompts.txt").read_text().splitlines()
    if line.strip()
]
DIMS = ("memory_bytes", "bits_per_weight", "ttft_s", "act_s", "tps")
HIGHER_IS_BETTER: dict[str, bool] = {"memory_bytes": False, "bits_per_weight": False,
                                     "ttft_s": False, "act_s": False, "tps": True}
SAMPLE_EVERY_S = 0.005   # RSS sampling period on the CPU


@dataclass(frozen=True)
class Efficiency:
    """One model's efficiency, batch size 1.

    memory_bytes: measured on one untimed pass over the prompts, after the warm-up and before the
    timed runs (instrumenting a timed run would perturb it: a sampler thread contends for the GIL).
    CUDA: `torch.cuda.max_memory_allocated` over that pass after a reset (weights + KV cache +
    activations). CPU: `weight_stats(model).weight_bytes` plus the peak increase of the process's
    resident set over that pass (psutil, sampled every ~5 ms in a background thread) against a
    baseline taken after glibc's malloc_trim has handed freed heap pages back, so memory a warm-up
    run grew and freed is counted again. `ru_maxrss` is not used: it is the lifetime peak, usually
    set by loading. Memory a model keeps between calls beyond its weights is not seen on the CPU.
    `memory_kind` says which was measured.
    tps: generated tokens / act_s per run (end to end, prefill included), then the median.
    spread / samples: (min, max) and raw per-run values of ttft_s, act_s, tps.
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

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["spread"] = {k: list(v) for k, v in self.spread.items()}
        return out


class FirstTokenStreamer:
    """A `generate` streamer that records when the first generated token arrives.

    `generate` calls put(prompt ids) once before decoding: with `skip_prompt` that call only
    arms the streamer. The next put() is the first new token; `first` is its perf_counter time.
    """

    def __init__(self, skip_prompt: bool = True) -> None:
        self._prompt_pending = skip_prompt
        self.first: float | None = None
        self.tokens = 0
        self.ended: float | None = None

    def put(self, value: Any) -> None:
        now = time.perf_counter()
        if self._prompt_pending:
            self._prompt_pending = False
            return
        if self.first is None:
            self.first = now
        self.tokens += int(value.numel()) if hasattr(value, "numel") else 1

    def end(self) -> None:
        self.ended = time.perf_counter()


class _RssSampler:
    """Peak resident set of this process, sampled in a daemon thread until stopped."""

    def __init__(self, every_s: float = SAMPLE_EVERY_S) -> None:
        import psutil

        self._process = psutil.Process()
        self._every = every_s
        self._stop = threading.Event()
        self.baseline = self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._run, name="medcheck-rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> _RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def increase(self) -> int:
        return max(0, self.peak - self.baseline)


def _trim_heap() -> None:
    """Hand freed heap pages back to the OS (glibc), so RSS growth is not hidden by earlier runs."""
    import ctypes
    import ctypes.util

    gc.collect()
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):   # not glibc: the baseline keeps what the allocator holds
        pass


def render(tokenizer: Any, question: str) -> str:
    """The question through the tokenizer's chat template, else a plain Question/Answer prompt."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template([{"role": "user", "content": question}],
                                             add_generation_prompt=True, tokenize=False)
    return f"Question: {question}\nAnswer:"


def _device(model: Any) -> Any:
    try:
        return next(model.parameters()).device
    except (StopIteration, AttributeError):
        import torch

        return torch.device("cpu")


def _one_run(model: Any, inputs: Mapping[str, Any], max_new_tokens: int, pad_id: int | None,
             seed: int, cuda: bool) -> tuple[float, float, int]:
    """(ttft, act, generated tokens) of one greedy generation."""
    import torch

    torch.manual_seed(seed)
    streamer = FirstTokenStreamer(skip_prompt=True)
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = model.generate(**inputs, streamer=streamer, max_new_tokens=max_new_tokens,
                         min_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad_id)
    if cuda:
        torch.cuda.synchronize()
    stop = time.perf_counter()
    new = int(out.shape[-1] - inputs["input_ids"].shape[-1])
    if streamer.first is None or new < 1:
        raise RuntimeError("generate produced no new token; TTFT is undefined")
    return streamer.first - start, stop - start, new


def _pass(generate: list[Any]) -> list[tuple[float, float, int]]:
    """Every prompt's generation once, in order."""
    return [run() for run in generate]


def _memory_pass(generate: list[Any], device: Any, weight_bytes: int) -> tuple[int, str]:
    """(memory_bytes, memory_kind) over one untimed pass of every prompt; see `Efficiency`."""
    import torch

    _trim_heap()
    if device.type == "cuda":
        torch.cuda.synchronize()
        earlier = torch.cuda.max_memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        _pass(generate)
        return int(torch.cuda.max_memory_allocated(device)), (
            f"cuda: peak allocated during generation; earlier peak {earlier} bytes "
            "(since the last reset: the load peak when measured straight after loading)")
    with _RssSampler() as sampler:
        _pass(generate)
    return weight_bytes + sampler.increase, (
        f"cpu: weight bytes + peak RSS increase during generation "
        f"({sampler.increase} bytes, psutil every {SAMPLE_EVERY_S * 1000:g} ms)")


def measure(model: Any, tokenizer: Any, *, max_new_tokens: int = 32, repeats: int = 3,
            warmup: int = 1, prompts: list[str] | None = None, seed: int = 1234) -> Efficiency:
    """Measure memory, bits and latency of `model` (batch 1); see `Efficiency` for definitions.

    `prompts` are questions (default `PROMPTS`), rendered with `render`. Every pass runs each
    prompt once: `warmup` untimed passes, one memory pass, then `repeats` timed passes.
    """
    import torch

    if max_new_tokens < 2 or repeats < 1 or warmup < 0:
        raise ValueError("need max_new_tokens >= 2 (TTFT < ACT), repeats >= 1, warmup >= 0")
    questions = list(PROMPTS if prompts is None else prompts)
    if not questions:
        raise ValueError("no prompts to measure")
    device = _device(model)
    cuda = device.type == "cuda"
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    encoded = [tokenizer(render(tokenizer, q), return_tensors="pt", add_special_tokens=False).to(device)
               for q in questions]
    stats = weight_stats(model)
    generate = [lambda j=j, x=x: _one_run(model, x, max_new_tokens, pad_id, seed + j, cuda)
                for j, x in enumerate(encoded)]
    with torch.inference_mode():
        for _ in range(warmup):
            _pass(generate)
        memory, kind = _memory_pass(generate, device, stats.weight_bytes)
        runs = [run for _ in range(repeats) for run in _pass(generate)]
    samples = {"ttft_s": [r[0] for r in runs], "act_s": [r[1] for r in runs],
               "tps": [r[2] / r[1] for r in runs]}
    return Efficiency(
        device=device.type, memory_kind=kind, memory_bytes=memory, weight_bytes=stats.weight_bytes,
        bits_per_weight=stats.bits_per_weight,
        ttft_s=statistics.median(samples["ttft_s"]), act_s=statistics.median(samples["act_s"]),
        tps=statistics.median(samples["tps"]),
        spread={k: (min(v), max(v)) for k, v in samples.items()}, samples=samples,
        n_runs=len(runs), new_tokens=max(r[2] for r in runs))


def _dims(higher_is_better: Mapping[str, bool]) -> list[str]:
    unknown = [d for d in higher_is_better if d not in DIMS]
    if unknown or not higher_is_better:
        raise ValueError(f"efficiency dimensions must be a non-empty subset of {list(DIMS)}; "
                         f"got {unknown or '{}'}")
    return [d for d in DIMS if d in higher_is_better]


def ratios(dense: Efficiency, candidate: Efficiency,
           higher_is_better: Mapping[str, bool] = HIGHER_IS_BETTER) -> dict[str, float]:
    """Per-dimension ratio, > 1 when the candidate is more efficient (as `metrics.ces` orients it).

    The dimensions are the keys of `higher_is_better` (a subset of `DIMS`).
    """
    return {d: ces({("m", d): getattr(dense, d)}, {("m", d): getattr(candidate, d)},
                   {d: higher_is_better[d]}) for d in _dims(higher_is_better)}


def ces_of(dense: Efficiency, candidate: Efficiency,
           higher_is_better: Mapping[str, bool] = HIGHER_IS_BETTER, model: str = "model") -> float:
    """CES of one model: `metrics.ces` over keys (model, dim) for the dims of `higher_is_better`."""
    dims = _dims(higher_is_better)
    return ces({(model, d): getattr(dense, d) for d in dims},
               {(model, d): getattr(candidate, d) for d in dims},
               {d: higher_is_better[d] for d in dims})
