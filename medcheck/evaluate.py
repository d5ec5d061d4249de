"""The evaluator: dataset x (model, compression) -> per-sample records, via the results store.

On a miss it loads the model once and scores every dataset the run needs from it, committing
records in chunks; the dense reference is scored once and shared by all of its candidates.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import medcheck
from medcheck import datasets, metrics
from medcheck.compression import DENSE, LoadOptions
from medcheck.compression import get as compression_get
from medcheck.compression import strategies as compression_strategies
from medcheck.datasets.types import Dataset
from medcheck.models import ResolvedModel, resolve
from medcheck.pairs import Pair, PairsFile
from medcheck.prompts import PROMPT_VERSION, requests_for
from medcheck.scoring.choice import SampleRecord, Summary, score_item, summarize
from medcheck.settings import Settings
from medcheck.store import ResultStore, cache_key

CHUNK_ITEMS = 32   # records are committed to the store after every chunk


class Progress:
    """Minimal progress sink; the pytest layer supplies one that writes past output capture."""

    def start(self, label: str, total: int) -> None: ...
    def advance(self, items: int, tokens: int = 0) -> None: ...
    def finish(self) -> None: ...


@dataclass(frozen=True)
class RunResult:
    """One (model, compression) on one dataset."""
    model: str
    compression: str
    dataset_id: str
    records: tuple[SampleRecord, ...]
    summary: Summary
    fingerprint: str
    cache_key: str
    cached_items: int
    seconds: float                  # scoring time of the items scored in this run
    load: dict[str, Any] = field(default_factory=dict)
    backend: dict[str, Any] = field(default_factory=dict)

    @property
    def pair_id(self) -> str:
        return f"{self.model}/{self.compression}"

    @property
    def items_per_s(self) -> float | None:
        scored = len(self.records) - self.cached_items
        return scored / self.seconds if scored and self.seconds > 0 else None


@dataclass(frozen=True)
class PairResult:
    pair: Pair
    dataset: Dataset
    protocol: str
    dense: RunResult
    candidate: RunResult

    @property
    def cps(self) -> float:
        key = self.dataset.id
        if self.dense.summary.accuracy == 0:
            raise ValueError(f"CPS is undefined on {key}: the dense model {self.pair.model} scored 0 of "
                             f"{self.dataset.n} items, so it cannot serve as the reference")
        return metrics.cps({key: self.dense.summary.accuracy}, {key: self.candidate.summary.accuracy})

    @property
    def cps_or_none(self) -> float | None:
        """CPS, or None where the dense accuracy is 0 and CPS is undefined."""
        return self.cps if self.dense.summary.accuracy > 0 else None

    def collapse(self) -> str | None:
        """Why the candidate collapsed while its dense model did not, if it did."""
        c, d = self.candidate.summary, self.dense.summary
        if c.degenerate and not d.degenerate:
            return (f"{self.pair.id} collapsed on {self.dataset.id}: answers {c.top_answer!r} for "
                    f"{c.top_share:.0%} of items (gold {c.gold_share:.0%}); the dense model does not")
        return None

    def scores(self) -> dict[str, float | int]:
        """Rounded scores for snapshots."""
        return {"n": self.dataset.n, "dense_accuracy": round(self.dense.summary.accuracy, 4),
                "accuracy": round(self.candidate.summary.accuracy, 4),
                "cps": None if self.cps_or_none is None else round(self.cps_or_none, 4)}


def resolve_runtime(settings: Settings) -> tuple[str, str]:
    """(dtype, device): bfloat16 where the hardware runs it fast, else float32."""
    import torch

    device = settings.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = settings.dtype
    if dtype == "auto":
        if device == "cuda":
            dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        else:
            cpu = getattr(torch, "cpu", None)
            fast = any(getattr(cpu, name, lambda: False)() for name in
                       ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))
            dtype = "bfloat16" if fast else "float32"
    return dtype, device


class Evaluator:
    def __init__(self, settings: Settings, pairs: PairsFile, store: ResultStore,
                 progress: Callable[[], Progress] = Progress) -> None:
        self.settings, self.pairs, self.store, self._progress = settings, pairs, store, progress
        self.protocol = pairs.protocol
        self._datasets: dict[str, Dataset | Exception] = {}
        self._models: dict[str, ResolvedModel | Exception] = {}
        self._runs: dict[tuple[str, str, str], RunResult | Exception] = {}
        self._planned: dict[tuple[str, str], list[str]] = {}
        self._loaded: tuple[tuple[str, str], Any] | None = None
        self._load_info: dict[tuple[str, str], dict[str, Any]] = {}
        self._load_errors: dict[tuple[str, str], Exception] = {}
        self.results: list[PairResult] = []

    @functools.cached_property
    def runtime(self) -> tuple[str, str]:
        return resolve_runtime(self.settings)   # imports torch: only once something is scored

    @property
    def dtype(self) -> str:
        return self.runtime[0]

    @property
    def device(self) -> str:
        return self.runtime[1]

    # -- planning -------------------------------------------------------------------------
    def plan(self, wanted: Iterable[tuple[Pair, str]]) -> None:
        """Declare every (pair, dataset) the run will ask for, so each model loads once."""
        for pair, dataset_id in wanted:
            for comp in (DENSE, pair.compression):
                todo = self._planned.setdefault((pair.model, comp), [])
                if dataset_id not in todo:
                    todo.append(dataset_id)

    # -- lookups --------------------------------------------------------------------------
    def dataset(self, dataset_id: str) -> Dataset:
        if dataset_id not in self._datasets:
            try:
                self._datasets[dataset_id] = datasets.load(dataset_id, self.settings.data_dir,
                                                           self.settings.limit, self.settings.seed)
            except Exception as exc:   # remembered: every test of this dataset reports it
                self._datasets[dataset_id] = exc
        value = self._datasets[dataset_id]
        if isinstance(value, Exception):
            raise value
        return value

    def loaded_datasets(self) -> list[Dataset]:
        return [d for d in self._datasets.values() if isinstance(d, Dataset)]

    def model(self, name: str) -> ResolvedModel:
        if name not in self._models:
            try:
                self._models[name] = resolve(self.pairs.models[name], self.settings.cache_dir,
                                             allow_network=self.settings.allow_network)
            except Exception as exc:
                self._models[name] = exc
        value = self._models[name]
        if isinstance(value, Exception):
            raise value
        return value

    def resolved_models(self) -> dict[str, ResolvedModel]:
        return {k: v for k, v in self._models.items() if isinstance(v, ResolvedModel)}

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(self, pair: Pair, dataset_id: str) -> PairResult:
        dataset = self.dataset(dataset_id)
        dense = self.run(pair.model, DENSE, dataset_id)
        candidate = self.run(pair.model, pair.compression, dataset_id)
        result = PairResult(pair, dataset, self.protocol, dense, candidate)
        if all((r.pair, r.dataset.id) != (pair, dataset_id) for r in self.results):
            self.results.append(result)
        return result

    def run(self, model: str, compression: str, dataset_id: str) -> RunResult:
        key = (model, compression, dataset_id)
        if key not in self._runs:
            planned = self._planned.get((model, compression), [])
            for other in [dataset_id] + [d for d in planned if d != dataset_id]:
                if (model, compression, other) in self._runs:
                    continue
                try:
                    self._runs[(model, compression, other)] = self._run_one(model, compression, other)
                except Exception as exc:
                    self._runs[(model, compression, other)] = exc
            self._release()
        value = self._runs[key]
        if isinstance(value, Exception):
            raise value
        return value

    def run_results(self) -> list[RunResult]:
        return [r for r in self._runs.values() if isinstance(r, RunResult)]

    def components(self, model: ResolvedModel, compression: str, dataset: Dataset) -> dict[str, Any]:
        """Everything that shapes a record: the cache key and the report's provenance."""
        return {"medcheck": medcheck.__version__, "model_fingerprint": model.fingerprint,
                "compression": compression_get(compression).describe(), "dataset": dataset.id,
                "dataset_sha256": dataset.sha256, "loader_version": dataset.loader_version,
                "protocol": self.protocol, "prompt_version": PROMPT_VERSION, "dtype": self.dtype,
                "backend": "hf"}

    def _run_one(self, model_name: str, compression: str, dataset_id: str) -> RunResult:
        dataset = self.dataset(dataset_id)
        model = self.model(model_name)
        components = self.components(model, compression, dataset)
        key = cache_key(components)
        fingerprint = model.fingerprint if compression == DENSE else hashlib.sha256(
            (model.fingerprint + json.dumps(components["compression"], sort_keys=True)).encode()).hexdigest()
        stored = self.store.get(key) if self.settings.use_cache else {}
        missing = [item for item in dataset.items if item.id not in stored]
        seconds = 0.0
        backend_info: dict[str, Any] = {}
        if missing:
            backend = self._backend(model_name, model, compression)
            backend_info = backend.describe()
            bar = self._progress()
            bar.start(f"{model_name}/{compression} {dataset_id}", len(missing))
            try:
                for start in range(0, len(missing), CHUNK_ITEMS):
                    chunk = missing[start:start + CHUNK_ITEMS]
                    t0 = time.perf_counter()
                    records = self._score(backend, dataset, chunk)
                    seconds += time.perf_counter() - t0
                    self.store.put(key, components, [r.as_dict() for r in records])
                    stored.update({r.item_id: r.as_dict() for r in records})
                    bar.advance(len(chunk), sum(r.prompt_tokens for r in records))
            finally:
                bar.finish()
        records = tuple(SampleRecord.from_dict(stored[item.id]) for item in dataset.items)
        return RunResult(model_name, compression, dataset_id, records, summarize(records), fingerprint, key,
                         cached_items=len(dataset.items) - len(missing), seconds=seconds,
                         load=self._load_info.get((model_name, compression), {"cached": True}),
                         backend=backend_info)

    def _score(self, backend: Any, dataset: Dataset, items: list[Any]) -> list[SampleRecord]:
        per_item = [requests_for(item, self.protocol, dataset.prompt_style) for item in items]
        flat = [r for reqs in per_item for r in reqs]
        logliks = backend.loglikelihood(flat)
        out, at = [], 0
        for item, reqs in zip(items, per_item):
            chunk = logliks[at:at + len(reqs)]
            at += len(reqs)
            out.append(score_item(item, chunk, [len(r.continuation) for r in reqs]))
        return out

    def _backend(self, model_name: str, model: ResolvedModel, compression: str) -> Any:
        key = (model_name, compression)
        if self._loaded and self._loaded[0] == key:
            return self._loaded[1]
        if key in self._load_errors:
            raise self._load_errors[key]
        self._release()
        try:
            backend = self._load(model_name, model, compression)
        except Exception as exc:
            self._load_errors[key] = exc
            raise
        self._loaded = (key, backend)
        return backend

    def _load(self, model_name: str, model: ResolvedModel, compression: str) -> Any:
        """Load through the recipe's strategies, then warm up; record everything."""
        from transformers import AutoTokenizer

        from medcheck.backends import BACKENDS
        from medcheck.bits import weight_stats
        from medcheck.errors import ModelLoadError
        from medcheck.loading import load_with_fallbacks
        from medcheck.warmup import warm_up

        options = self.load_options(model_name, model)
        recipe = compression_get(compression)
        label = f"{model_name}/{compression}"
        print(f"medcheck: loading {label} ({self.dtype}, {self.device})", file=sys.stderr)
        t0 = time.perf_counter()
        tokenizer_source = getattr(recipe, "tokenizer_source", lambda base: base)(model.path)
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source, trust_remote_code=options.trust_remote_code)
        if tokenizer_source != model.path:
            base_vocab = AutoTokenizer.from_pretrained(model.path).get_vocab()
            if tokenizer.get_vocab() != base_vocab:
                raise ModelLoadError(f"{label}: the checkpoint's tokenizer vocabulary differs from {model_name}'s")
        loaded, attempts = load_with_fallbacks(label, compression_strategies(recipe, model.path, options))
        info: dict[str, Any] = {"seconds": round(time.perf_counter() - t0, 2), "strategy": attempts[-1].strategy,
                                "fallback": len(attempts) > 1, "attempts": [a.as_dict() for a in attempts],
                                "dtype": str(loaded.dtype).removeprefix("torch."), "device": self.device,
                                **weight_stats(loaded).as_dict()}
        marker = getattr(recipe, "built_marker", None)
        if marker:
            info["build"] = marker(model.path, options)
        report = warm_up(loaded, tokenizer)
        info["warmup"] = report.as_dict()
        self._load_info[(model_name, compression)] = info
        if not report.ok:
            dense_ok = self._load_info.get((model_name, DENSE), {}).get("warmup", {}).get("ok", True)
            if compression != DENSE and dense_ok:
                raise ModelLoadError(f"{label} is broken: warm-up {report.reason} "
                                     f"(output {report.output!r}); the dense model passes the warm-up")
            print(f"medcheck: warning: {label} warm-up: {report.reason}", file=sys.stderr)
        return BACKENDS["hf"](loaded, tokenizer, batch_tokens=self.settings.batch_tokens, label=label)

    def backend(self, model_name: str, compression: str) -> Any:
        """The loaded backend of a (model, compression), for measurements beyond scoring."""
        return self._backend(model_name, self.model(model_name), compression)

    def load_options(self, model_name: str, model: ResolvedModel) -> LoadOptions:
        return LoadOptions(dtype=self.dtype, device=self.device, allow_pickle=self.settings.allow_pickle,
                           trust_remote_code=model_name in self.pairs.trust_remote_code,
                           cache_dir=self.settings.cache_dir, base_fingerprint=model.fingerprint,
                           seed=self.settings.seed)

    def load_info(self, model_name: str, compression: str) -> dict[str, Any]:
        return self._load_info.get((model_name, compression), {})

    def _release(self) -> None:
        if self._loaded:
            self._loaded[1].close()
            self._loaded = None
