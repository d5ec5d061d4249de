"""Memory used while a model generates, for in-process engines (transformers).

CUDA: `torch.cuda.max_memory_allocated` over the run after a reset (weights + KV cache +
activations). CPU, two ways; the returned text says which was measured:

* `tensor_peak_memory` (transformers): tensor accounting, the CPU's counterpart of
  `max_memory_allocated`. The weight bytes plus the peak of the bytes held by tensors that torch
  ops created during the run and that are still alive (`TensorPeak`: KV cache, hidden states,
  logits). A function of the shapes the run computes, so the same model and prompts give the same
  figure every time. Not counted: scratch memory a kernel allocates and frees inside one op (the
  weights bitsandbytes' CPU kernels dequantize), and allocator overhead (fragmentation, pages the
  allocator keeps); docs/measurements.md measures how much that is.
* `peak_memory` (vLLM in process): the weight bytes plus the peak increase of the process's resident
  set over the run (psutil, sampled every ~5 ms in a background thread), against a baseline taken
  after glibc's malloc_trim has handed freed heap pages back. It sees everything, and with it the
  allocator's timing: on a small model it swings by tens of MB between runs. `ru_maxrss` is not
  used: it is the lifetime peak, usually set by loading.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import threading
import weakref
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


MMAP_THRESHOLD = 4 << 20   # bytes: blocks this large come from mmap and go back to the OS when freed


def bound_heap() -> None:
    """Bounds what a CPU process keeps beyond its live tensors; called once a model loads on the CPU,
    before its first forward pass. Two holders grew the quick run's bnb-int8 phase to 6.1 GB resident:

    - oneDNN caches a kernel per matrix shape: bounded where torch loads (medcheck/__init__.py);
    - glibc raises its mmap threshold to the largest block freed (up to 32 MiB), after which the
      MiB-sized temporaries of a forward pass come from the heap and stay there, fragmented; a
      fixed 4 MiB threshold keeps the heap to what is live, for some page faults."""
    with contextlib.suppress(OSError, AttributeError):   # not glibc: its allocator decides
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt(-3, MMAP_THRESHOLD)   # M_MMAP_THRESHOLD


def trim_heap() -> None:
    """Hand freed heap pages back to the OS (glibc), so RSS growth is not hidden by earlier runs."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):   # not glibc: the baseline keeps what the allocator holds
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def _cuda_peak(run: Callable[[], object], device: Any) -> tuple[int, str]:
    import torch

    torch.cuda.synchronize()
    earlier = torch.cuda.max_memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    run()
    return int(torch.cuda.max_memory_allocated(device)), (
        f"cuda: peak allocated during generation; earlier peak {earlier} bytes")


TENSOR_KIND = ("cpu: weight bytes + peak bytes of the tensors created during generation and alive at once "
               "(tensor accounting: KV cache and activations; scratch memory inside a kernel, such as weights "
               "a 4-bit kernel dequantizes, the engine's prepacked copies of linear weights, and allocator "
               "overhead excluded)")


def tensor_peak_memory(run: Callable[[], object], device: Any, weight_bytes: int) -> tuple[int, str]:
    """CUDA's peak allocation; on the CPU, weight bytes + `TensorPeak` over `run()`."""
    if device.type == "cuda":
        return _cuda_peak(run, device)
    # A tensor in a reference cycle then lives to the end of the run in every run alike. No collection
    # first: garbage from before the run holds no storage the run counts (0.2 s a call, 15 calls a quick run).
    enabled = gc.isenabled()
    gc.disable()
    try:
        with TensorPeak() as peak:
            run()
    finally:
        if enabled:
            gc.enable()
    return weight_bytes + peak.peak, TENSOR_KIND


def _storage(t: Any) -> tuple[int, int]:
    if t.is_mkldnn:   # an opaque oneDNN tensor has no storage: a prepacked weight (hf_packed), made before the pass
        return 0, 0
    storage = t.untyped_storage()
    return storage.data_ptr(), storage.nbytes()


def _tensors(x: Any, tensor: type) -> list[Any]:
    """The tensors in an op's arguments or outputs (nested tuples, lists and dicts). Called for
    every op of a measured run: a loop, not a recursive generator (a third of the bookkeeping)."""
    if isinstance(x, tensor):
        return [x]
    found, todo = [], [x]
    while todo:
        y = todo.pop()
        if isinstance(y, tensor):
            found.append(y)
        elif isinstance(y, (list, tuple)):
            todo.extend(y)
        elif isinstance(y, dict):
            todo.extend(y.values())
    return found


def _drop(owner: TensorPeak, ptr: int) -> None:
    owner.release(ptr)


class TensorPeak:
    """Peak bytes of tensor storage created by torch ops while active and alive at the same time.

    Every op's outputs pass through a `TorchDispatchMode`: a storage that no input of the op holds is
    new (a view, an in-place or an `out=` result shares an input's storage and is not); it counts
    until the last tensor seen on it is freed (a weakref finalizer). Storages that existed before
    (the weights) are never counted.
    """

    def __init__(self) -> None:
        import torch
        from torch.utils._python_dispatch import TorchDispatchMode

        owner = self

        class _Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
                out = func(*args, **(kwargs or {}))
                owner.seen(args, kwargs, out)
                return out

        self._mode = _Mode()
        self._tensor = torch.Tensor
        self.live = self.peak = 0
        self._held: dict[int, list[int]] = {}   # storage data_ptr -> [tensors seen on it, bytes]

    def seen(self, args: Any, kwargs: Any, out: Any) -> None:
        inputs: set[int] | None = None
        for t in _tensors(out, self._tensor):
            if t.device.type != "cpu":
                continue
            ptr, nbytes = _storage(t)
            held = self._held.get(ptr)
            if held is None:
                if inputs is None:
                    inputs = {_storage(x)[0] for x in _tensors((args, kwargs), self._tensor)}
                if not nbytes or ptr in inputs:   # empty, or a view / in-place result of an older tensor
                    continue
                held = self._held[ptr] = [0, nbytes]
                self.live += nbytes
                self.peak = max(self.peak, self.live)
            held[0] += 1
            weakref.finalize(t, _drop, self, ptr)

    def release(self, ptr: int) -> None:
        held = self._held.get(ptr)
        if held is None:
            return
        held[0] -= 1
        if held[0] <= 0:
            self.live -= held[1]
            del self._held[ptr]

    def __enter__(self) -> TensorPeak:
        self._mode.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._mode.__exit__(*exc)


def peak_memory(run: Callable[[], object], device: Any, weight_bytes: int) -> tuple[int, str]:
    """CUDA's peak allocation; on the CPU, weight bytes + the peak RSS increase over `run()`."""
    trim_heap()
    if device.type == "cuda":
        return _cuda_peak(run, device)
    with RssSampler() as sampler:
        run()
    return weight_bytes + sampler.increase, (
        f"cpu: weight bytes + peak RSS increase during generation "
        f"({sampler.increase} bytes, psutil every {SAMPLE_EVERY_S * 1000:g} ms)")
