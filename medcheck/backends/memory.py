"""Memory used while a model generates, for in-process engines (transformers).

CUDA: `torch.cuda.max_memory_allocated` over the run after a reset (weights + KV cache +
activations). CPU: the weight bytes plus the peak increase of the process's resident set over the
run (psutil, sampled every ~5 ms in a background thread), against a baseline taken after glibc's
malloc_trim has handed freed heap pages back. `ru_maxrss` is not used: it is the lifetime peak,
usually set by loading. The returned text says which was measured.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import threading
from collections.abc import Callable
from typing import Any

SAMPLE_EVERY_S = 0.005


class RssSampler:
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

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def increase(self) -> int:
        return max(0, self.peak - self.baseline)


def trim_heap() -> None:
    """Hand freed heap pages back to the OS (glibc), so RSS growth is not hidden by earlier runs."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):   # not glibc: the baseline keeps what the allocator holds
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def peak_memory(run: Callable[[], object], device: Any, weight_bytes: int) -> tuple[int, str]:
    import torch

    trim_heap()
    if device.type == "cuda":
        torch.cuda.synchronize()
        earlier = torch.cuda.max_memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        run()
        return int(torch.cuda.max_memory_allocated(device)), (
            f"cuda: peak allocated during generation; earlier peak {earlier} bytes")
    with RssSampler() as sampler:
        run()
    return weight_bytes + sampler.increase, (
        f"cpu: weight bytes + peak RSS increase during generation "
        f"({sampler.increase} bytes, psutil every {SAMPLE_EVERY_S * 1000:g} ms)")
