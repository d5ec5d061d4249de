"""One engine's side of `python -m medcheck bench` (`"task": "loglikelihood"`) or `bench --generate`,
run in its own process.

    python -c "$(cat medcheck/bench_worker.py)" SPEC.json RESULT.json     (cwd: the tree measured)

The parent hands this file's text to `python -c`, with the working directory at the source tree to
measure: the current checkout, a `git worktree` of an earlier commit (a backend before a change),
or the checkout from inside the vLLM virtual environment. So it imports only what every tree since
the backends split offers: `resolve`, `BACKENDS`, `LoadOptions`, `ConfigError`, `GenerationRequest`,
`Request`.
A process per engine also gives each its own peak memory.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any


def _peak_rss(stop: threading.Event, out: list[int]) -> None:
    import psutil

    process = psutil.Process()
    while not stop.is_set():
        out[0] = max(out[0], process.memory_info().rss)
        stop.wait(0.01)
    # at least one sample, even when the work ended before the first (a tiny model: ~10 ms; CI saw 0)
    out[0] = max(out[0], process.memory_info().rss)


def main(spec_path: str, result_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    from medcheck.backends import BACKENDS
    from medcheck.compression import LoadOptions
    from medcheck.errors import ConfigError
    from medcheck.models import resolve

    threads = int(spec.get("threads") or 0)
    if threads and spec["engine"] == "vllm":   # vLLM binds its own OpenMP threads to these cores
        os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"0-{threads - 1}" if threads > 1 else "0")
    elif threads:
        import torch

        torch.set_num_threads(threads)
    engine = BACKENDS[spec["engine"]]
    cache_dir = Path(spec["cache_dir"])
    model = resolve(spec["model"], cache_dir)
    dtype, device = engine.runtime(spec["dtype"], spec["device"])
    options = LoadOptions(dtype=dtype, device=device, cache_dir=cache_dir, base_fingerprint=model.fingerprint)
    t0 = time.perf_counter()
    try:
        loaded = engine.load(f"bench/{spec['compression']}", model, spec["compression"], options,
                             batch_tokens=spec["batch_tokens"])
    except ConfigError as exc:   # a compression this engine does not run (bitsandbytes on vLLM): not a failure
        Path(result_path).write_text(json.dumps({"refused": str(exc).splitlines()[0]}))
        return
    load_s = time.perf_counter() - t0
    backend = loaded.backend
    result = (_score if spec.get("task") == "loglikelihood" else _generate)(backend, spec)
    result.update({"load_s": load_s, "dtype": dtype, "device": device, "version": engine.version(),
                   "max_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                   "threads": threads or _threads()})
    backend.close()
    Path(result_path).write_text(json.dumps(result))


def _generate(backend: Any, spec: dict[str, Any]) -> dict[str, Any]:
    from medcheck.backends import GenerationRequest

    n = spec["new_tokens"]
    requests = [GenerationRequest(backend.chat(p)[0], max_new_tokens=n, min_new_tokens=n) for p in spec["prompts"]]
    backend.generate(requests[:1])   # warm-up: first-call allocations and kernel selection
    runs: list[dict[str, float]] = []
    for _ in range(spec["repeats"]):
        stop, peak = threading.Event(), [0]
        sampler = threading.Thread(target=_peak_rss, args=(stop, peak), daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        out = backend.generate(requests)
        seconds = time.perf_counter() - t0
        stop.set()
        sampler.join()
        new = sum(g.new_tokens for g in out)
        prompt = sum(g.prompt_tokens for g in out)
        computed = sum(getattr(g, "computed_tokens", None) or g.new_tokens for g in out)
        runs.append({"seconds": seconds, "new_tokens": new, "prompt_tokens": prompt, "computed_tokens": computed,
                     "new_per_s": new / seconds, "processed_per_s": (prompt + computed) / seconds,
                     "peak_rss": peak[0]})
    median = sorted(runs, key=lambda r: r["new_per_s"])[len(runs) // 2]
    return {**median, "runs": runs, "requests": len(requests),
            "new_per_s_all": statistics.median(r["new_per_s"] for r in runs)}


def _score(backend: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """`spec["requests"]` ([context, continuation] pairs of `spec["items"]` items) scored `repeats` times."""
    from medcheck.prompts import Request

    requests = [Request(context, continuation) for context, continuation in spec["requests"]]
    backend.loglikelihood(requests[:spec["warmup"]])   # first-call allocations and kernel selection
    rates, scores = [], []
    for _ in range(spec["repeats"]):
        t0 = time.perf_counter()
        scores = [r.logprob for r in backend.loglikelihood(requests)]
        rates.append(spec["items"] / (time.perf_counter() - t0))
    return {"items_per_s": statistics.median(rates), "runs": rates, "logprobs": scores}


def _threads() -> int:
    import torch

    return int(torch.get_num_threads())


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main(sys.argv[1], sys.argv[2])
