"""Loading that does not fall over: ordered strategies, clean-up between them, telemetry of each.

A strategy is a named zero-argument callable returning a model. They are tried in order; between
attempts the garbage collector and the device cache are cleared, so one failure does not cause
the next. Every attempt is recorded (outcome, exception, traceback tail, wall time, memory).
"""

from __future__ import annotations

import gc
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from medcheck.errors import ModelLoadError


@dataclass(frozen=True)
class Strategy:
    name: str
    load: Callable[[], Any]


@dataclass(frozen=True)
class Attempt:
    strategy: str
    ok: bool
    seconds: float
    rss_mb: float                # resident memory of the process after the attempt
    peak_mb: float               # peak device memory (CUDA) or peak resident memory (CPU) so far
    error: str | None = None
    traceback: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _memory() -> tuple[float, float]:
    import resource

    import psutil
    import torch

    rss = psutil.Process().memory_info().rss / 2**20
    if torch.cuda.is_available():
        return rss, torch.cuda.max_memory_allocated() / 2**20
    return rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def clean_up() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def load_with_fallbacks(label: str, strategies: Sequence[Strategy]) -> tuple[Any, list[Attempt]]:
    """The first strategy that works, and the record of every attempt up to it."""
    attempts: list[Attempt] = []
    for strategy in strategies:
        clean_up()
        t0 = time.perf_counter()
        try:
            model = strategy.load()
        except Exception as exc:   # any failure moves on to the next strategy
            rss, peak = _memory()
            tail = "".join(traceback.format_exception(exc)[-3:])[-1500:]
            attempts.append(Attempt(strategy.name, False, round(time.perf_counter() - t0, 2), round(rss, 1),
                                    round(peak, 1), f"{type(exc).__name__}: {exc}"[:1000], tail))
            continue
        rss, peak = _memory()
        attempts.append(Attempt(strategy.name, True, round(time.perf_counter() - t0, 2), round(rss, 1), round(peak, 1)))
        return model, attempts
    clean_up()
    listed = "\n".join(f"  {i}. {a.strategy}: {a.error}" for i, a in enumerate(attempts, 1))
    raise ModelLoadError(f"{label}: no loading strategy worked ({len(attempts)} tried)\n{listed}")
