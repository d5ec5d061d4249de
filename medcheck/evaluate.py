"""The evaluator: dataset x (model, compression) -> per-sample records, via the results store.

On a miss it loads the model once through the settings' backend and scores every dataset the run
needs from it, committing records in chunks; the dense reference is scored once and shared by
all of its candidates. Loading, inference and engine objects belong to the backend.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import medcheck
from medcheck import datasets
from medcheck.backends import BACKENDS, Backend, BackendClass, Loaded
from medcheck.compression import DENSE, LoadOptions
from medcheck.compression import get as compression_get
from medcheck.datasets.types import Dataset, TextItem
from medcheck.errors import ConfigError, ModelLoadError
from medcheck.memo import Memo
from medcheck.models import ResolvedModel, resolve
from medcheck.pairs import Pair, PairsFile
from medcheck.prompts import PROMPT_VERSION, requests_for
from medcheck.results import PairResult, RunResult
from medcheck.scoring.choice import SampleRecord, score_item, summarize
from medcheck.scoring.generative import GenRecord
from medcheck.settings import Settings
from medcheck.store import ResultStore, cache_key
from medcheck.strategies import GENERATION_VERSION, Strategy, generate_records, pick_shots, user_prompt

log = logging.getLogger(__name__)

CHUNK_ITEMS = 32   # records are committed to the store after every chunk
GEN_CHUNK_ITEMS = 8   # generation is slower per item: commit more often


class Progress:
    """Minimal progress sink; the pytest layer supplies one that writes past output capture."""

    def start(self, label: str, total: int, unit: str = "prompt tokens") -> None: ...
    def advance(self, items: int, tokens: int = 0) -> None: ...
    def finish(self) -> None: ...


class Evaluator:
    def __init__(self, settings: Settings, pairs: PairsFile, store: ResultStore,
                 progress: Callable[[], Progress] = Progress,
                 budgets: Callable[[str], dict[str, int]] = lambda dataset_id: {}) -> None:
        self.settings = settings
        self.budgets = budgets        # dataset id -> {"limit", "max_new_tokens"} from its track's YAML
        self.pairs = pairs
        self.store = store
        self._progress = progress
        self.protocol = pairs.protocol
        self.engine: BackendClass = BACKENDS[settings.backend]
        self._datasets: Memo[str, Dataset] = Memo()
        self._models: Memo[str, ResolvedModel] = Memo()
        self._runs: Memo[tuple[str, str, str], RunResult] = Memo()
        self._loads: Memo[tuple[str, str], Backend] = Memo()
        self._shots: Memo[str, list[TextItem]] = Memo()
        self.shot_sources: dict[str, str] = {}   # dataset id -> where its few-shot examples came from
        self._planned: dict[tuple[str, str], list[str]] = {}
        self._loaded: tuple[tuple[str, str], Backend] | None = None
        self.load_info: dict[tuple[str, str], dict[str, Any]] = {}
        self.results: list[PairResult] = []

    @functools.cached_property
    def runtime(self) -> tuple[str, str]:
        return self.engine.runtime(self.settings.dtype, self.settings.device)   # imports the engine lazily

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

    # -- lookups (remembered, failures included) ---------------------------------------------
    def dataset(self, dataset_id: str) -> Dataset:
        s = self.settings
        caps = [s.limit, self.budgets(dataset_id).get("limit")]
        if getattr(datasets.info(dataset_id), "kind", "choice") == "generate":
            caps.append(s.generate_limit)
        limit = min((c for c in caps if c), default=None)
        return self._datasets.get(dataset_id, lambda: datasets.load(dataset_id, s.data_dir, limit, s.seed))

    def strategy(self, dataset: Dataset) -> Strategy:
        """The prompting strategy a generative dataset runs (the task may not support the chosen one)."""
        return self.base_strategy.for_task(datasets.info(dataset.id))

    @functools.cached_property
    def base_strategy(self) -> Strategy:
        s = self.settings
        return Strategy(s.strategy or self.pairs.strategy, shots=s.shots, samples=s.samples,
                        temperature=s.temperature)

    def loaded_datasets(self) -> list[Dataset]:
        return list(self._datasets.values())

    def model(self, name: str) -> ResolvedModel:
        return self._models.get(name, lambda: resolve(self.pairs.models[name], self.settings.cache_dir,
                                                      allow_network=self.settings.allow_network))

    def resolved_models(self) -> dict[str, ResolvedModel]:
        return dict(self._models.items())

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(self, pair: Pair, dataset_id: str) -> PairResult:
        dataset = self.dataset(dataset_id)
        dense = self.run(pair.model, DENSE, dataset_id)
        candidate = self.run(pair.model, pair.compression, dataset_id)
        result = PairResult(pair, dataset, dense, candidate)
        if all((r.pair, r.dataset.id) != (pair, dataset_id) for r in self.results):
            self.results.append(result)
        return result

    def run(self, model: str, compression: str, dataset_id: str) -> RunResult:
        if (model, compression, dataset_id) not in self._runs:
            planned = self._planned.get((model, compression), [])
            for other in [dataset_id] + [d for d in planned if d != dataset_id]:
                self._runs.put((model, compression, other), lambda o=other: self._run_one(model, compression, o))
            self.release()
        return self._runs.value((model, compression, dataset_id))

    def run_results(self) -> list[RunResult]:
        return list(self._runs.values())

    def components(self, model: ResolvedModel, compression: str, dataset: Dataset) -> dict[str, Any]:
        """Provenance of a record: every field enters the store key and the report."""
        return {"medcheck": medcheck.__version__, "model_fingerprint": model.fingerprint,
                "compression": compression_get(compression).describe(), "dataset": dataset.id,
                "dataset_sha256": dataset.sha256, "loader_version": dataset.loader_version,
                "protocol": self.protocol, "prompt_version": PROMPT_VERSION, "dtype": self.dtype,
                "backend": self.engine.name, "backend_version": self.engine.version(),
                **(self._generation_components(dataset) if dataset.kind == "generate" else {})}

    def _generation_components(self, dataset: Dataset) -> dict[str, Any]:
        spec = datasets.info(dataset.id)
        shots = self.shots(dataset)
        return {"kind": "generate", "strategy": self.strategy(dataset).key(), "generation_version": GENERATION_VERSION,
                "max_new_tokens": self.budgets(dataset.id).get("max_new_tokens", spec.max_new_tokens),
                "seed": self.settings.seed, "parse_version": getattr(spec, "parse_version", None),
                **({"shots": hashlib.sha256(json.dumps([(s.id, spec.render(s), spec.answer(s)) for s in shots])
                                            .encode()).hexdigest()[:16]} if shots else {})}

    def shots(self, dataset: Dataset) -> list[TextItem]:
        """The few-shot examples of a dataset (none unless the strategy is few-shot): from its dev
        pool; where that holds too few, from items of its own split that are not evaluated (noted
        in `shot_sources`); never an evaluated item. Their identity is part of the store key."""
        strategy = self.strategy(dataset)
        if strategy.name != "few-shot":
            return []
        return self._shots.get(dataset.id, lambda: self._pick_shots(dataset, strategy.shots))

    def _pick_shots(self, dataset: Dataset, k: int) -> list[TextItem]:
        spec, root = datasets.info(dataset.id), datasets.data_root(self.settings.data_dir)
        evaluated = {i.id for i in dataset.items}
        chosen = pick_shots(spec.shots(root), k, self.settings.seed, dataset.id, evaluated)
        if len(chosen) < k:
            rest = datasets.load(dataset.id, self.settings.data_dir, None).items
            chosen = pick_shots(rest, k, self.settings.seed, dataset.id, evaluated)
            self.shot_sources[dataset.id] = (f"{dataset.id} has no dev pool of {k} examples here; its few-shot "
                                             f"examples are {len(chosen)} items of its evaluated split that are "
                                             "not evaluated")
        if len(chosen) < k:
            raise ConfigError(dataset.id, "few-shot", f"{k} examples wanted, {len(chosen)} available (no dev pool, "
                              "and every item of the split is evaluated)",
                              "add the release's dev split beside the test file, use --medcheck-limit, "
                              "lower --medcheck-shots, or choose another --medcheck-strategy")
        return chosen

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
            backend = self.backend(model_name, compression)
            backend_info = backend.describe()
            bar = self._progress()
            bar.start(f"{model_name}/{compression} {dataset_id}", len(missing),
                      "generated tokens" if dataset.kind == "generate" else "prompt tokens")
            try:
                step = GEN_CHUNK_ITEMS if dataset.kind == "generate" else CHUNK_ITEMS
                for start in range(0, len(missing), step):
                    chunk = missing[start:start + step]
                    t0 = time.perf_counter()
                    records = self._score(backend, dataset, chunk)
                    seconds += time.perf_counter() - t0
                    self.store.put(key, components, [r.as_dict() for r in records])
                    stored.update({r.item_id: r.as_dict() for r in records})
                    bar.advance(len(chunk), sum(getattr(r, "new_tokens", r.prompt_tokens) for r in records))
            finally:
                bar.finish()
        if dataset.kind == "generate":
            gen = tuple(GenRecord.from_dict(stored[item.id]) for item in dataset.items)
            summary = datasets.info(dataset_id).score(dataset.items, [r.parsed for r in gen])
            return RunResult(model_name, compression, dataset_id, gen, summary, fingerprint, key,
                             cached_items=len(dataset.items) - len(missing), seconds=seconds,
                             load=self.load_info.get((model_name, compression), {"cached": True}),
                             backend=backend_info, strategy=self.strategy(dataset).name)
        records = tuple(SampleRecord.from_dict(stored[item.id]) for item in dataset.items)
        return RunResult(model_name, compression, dataset_id, records, summarize(records), fingerprint, key,
                         cached_items=len(dataset.items) - len(missing), seconds=seconds,
                         load=self.load_info.get((model_name, compression), {"cached": True}),
                         backend=backend_info)

    def _score(self, backend: Backend, dataset: Dataset, items: list[Any]) -> list[Any]:
        if dataset.kind == "generate":
            return self._generate(backend, dataset, items)
        per_item = [requests_for(item, self.protocol, dataset.prompt_style) for item in items]
        logliks = backend.loglikelihood([r for reqs in per_item for r in reqs])
        out, at = [], 0
        for item, reqs in zip(items, per_item):
            chunk = logliks[at:at + len(reqs)]
            at += len(reqs)
            out.append(score_item(item, chunk, [len(r.continuation) for r in reqs]))
        return out

    def _generate(self, backend: Backend, dataset: Dataset, items: list[TextItem]) -> list[GenRecord]:
        spec = datasets.info(dataset.id)
        strategy = self.strategy(dataset)
        instruction = spec.instruction(datasets.data_root(self.settings.data_dir))
        shots = self.shots(dataset)
        prompts = [user_prompt(spec, item, strategy, instruction, shots) for item in items]
        budget = self.budgets(dataset.id).get("max_new_tokens", spec.max_new_tokens)
        return generate_records(backend, spec, items, strategy, prompts, budget, self.settings.seed)

    # -- loading: one model in memory at a time ------------------------------------------------
    def backend(self, model_name: str, compression: str) -> Backend:
        """The loaded backend of a (model, compression); loads it (once) if needed."""
        key = (model_name, compression)
        if self._loaded and self._loaded[0] == key:
            return self._loaded[1]
        if key not in self._loads:
            self.release()
        backend = self._loads.get(key, lambda: self._load(model_name, compression))
        self._loaded = (key, backend)
        return backend

    def _load(self, model_name: str, compression: str) -> Backend:
        model = self.model(model_name)
        loaded = self._engine_load(model_name, model, compression)
        warm = loaded.info.get("warmup") or {"ok": True}
        if warm["ok"] or compression == DENSE:
            if not warm["ok"]:
                log.warning("medcheck: %s/%s warm-up: %s", model_name, compression, warm["reason"])
            return loaded.backend
        # A broken candidate is an error only where its dense model warms up; a resumed run that
        # never loaded the dense model loads it to tell, so the verdict never depends on the store.
        if (model_name, DENSE) not in self.load_info:
            loaded.backend.close()
            self._engine_load(model_name, model, DENSE).backend.close()
            if self._dense_warms_up(model_name):
                raise _broken(model_name, compression, warm)
            loaded = self._engine_load(model_name, model, compression)
        elif self._dense_warms_up(model_name):
            loaded.backend.close()
            raise _broken(model_name, compression, warm)
        log.warning("medcheck: %s/%s warm-up: %s (the dense model fails it too)", model_name, compression,
                    warm["reason"])
        return loaded.backend

    def _dense_warms_up(self, model_name: str) -> bool:
        return bool(self.load_info[(model_name, DENSE)].get("warmup", {"ok": True})["ok"])

    def _engine_load(self, model_name: str, model: ResolvedModel, compression: str) -> Loaded:
        loaded = self.engine.load(f"{model_name}/{compression}", model, compression,
                                  self.load_options(model_name, model), batch_tokens=self.settings.batch_tokens)
        self.load_info[(model_name, compression)] = loaded.info
        return loaded

    def load_options(self, model_name: str, model: ResolvedModel) -> LoadOptions:
        return LoadOptions(dtype=self.dtype, device=self.device, allow_pickle=self.settings.allow_pickle,
                           trust_remote_code=model_name in self.pairs.trust_remote_code,
                           cache_dir=self.settings.cache_dir, base_fingerprint=model.fingerprint,
                           seed=self.settings.seed)

    def release(self) -> None:
        """Close the loaded model; a later request for it loads it again."""
        if self._loaded:
            key, backend = self._loaded
            backend.close()
            self._loads.forget(key)
            self._loaded = None



def _broken(model_name: str, compression: str, warm: dict[str, Any]) -> ModelLoadError:
    return ModelLoadError(f"{model_name}/{compression} is broken: warm-up {warm['reason']} "
                          f"(output {warm['output']!r}); the dense model passes the warm-up")
