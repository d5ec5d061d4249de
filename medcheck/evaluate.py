"""The evaluator: dataset x (model, compression) -> per-sample records, via the results store.

On a miss it loads the model once (medcheck.loads) and scores every dataset the run needs from it,
committing records in chunks; the dense reference is scored once and shared by all of its
candidates. What a dataset's items cost and yield is its task kind's (medcheck.task_kinds); what a
generative dataset is prompted with is the run's `Prompting`; loading and engine objects belong to
the backend.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import medcheck
from medcheck import datasets, task_kinds
from medcheck.backends import BACKENDS, Backend, BackendClass
from medcheck.compression import DENSE, LoadOptions
from medcheck.compression import get as compression_get
from medcheck.datasets.types import Dataset, TextItem
from medcheck.loads import Loads
from medcheck.memo import Memo
from medcheck.models import ResolvedModel, resolve
from medcheck.pairs import Pair, PairsFile
from medcheck.prompting import Prompting
from medcheck.prompts import PROMPT_VERSION
from medcheck.results import PairResult, RunResult
from medcheck.settings import Settings
from medcheck.store import ResultStore, cache_key


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
        self.prompting = Prompting(settings, pairs.strategy, budgets)
        self.loads = Loads(self.engine, lambda name: self.model(name),
                           lambda name, model: self.load_options(name, model), settings.batch_tokens)
        self._datasets: Memo[str, Dataset] = Memo()
        self._models: Memo[str, ResolvedModel] = Memo()
        self._runs: Memo[tuple[str, str, str], RunResult] = Memo()
        self._planned: dict[tuple[str, str], list[str]] = {}
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

    @property
    def load_info(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self.loads.info

    @property
    def shot_sources(self) -> dict[str, str]:
        return self.prompting.shot_sources

    def shots(self, dataset: Dataset) -> list[TextItem]:
        return self.prompting.shots(dataset)

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
        kind = task_kinds.of(datasets.info(dataset_id).kind)
        caps = [s.limit, self.budgets(dataset_id).get("limit"), kind.limit(s)]
        limit = min((c for c in caps if c), default=None)
        return self._datasets.get(dataset_id, lambda: datasets.load(dataset_id, s.data_dir, limit, s.seed))

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
                **task_kinds.of(dataset.kind).components(dataset, self.prompting)}

    def _run_one(self, model_name: str, compression: str, dataset_id: str) -> RunResult:
        dataset = self.dataset(dataset_id)
        kind = task_kinds.of(dataset.kind)
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
            bar.start(f"{model_name}/{compression} {dataset_id}", len(missing), kind.unit)
            try:
                for start in range(0, len(missing), kind.chunk):   # a killed run keeps every finished chunk
                    chunk = missing[start:start + kind.chunk]
                    t0 = time.perf_counter()
                    records = kind.score(backend, dataset, chunk, self.protocol, self.prompting)
                    seconds += time.perf_counter() - t0
                    self.store.put(key, components, [r.as_dict() for r in records])
                    stored.update({r.item_id: r.as_dict() for r in records})
                    bar.advance(len(chunk), sum(kind.tokens(r) for r in records))
            finally:
                bar.finish()
        records = kind.records([stored[item.id] for item in dataset.items])
        strategy = kind.strategy(dataset, self.prompting)
        return RunResult(model_name, compression, dataset_id, records, kind.summarize(dataset, records), fingerprint,
                         key, cached_items=len(dataset.items) - len(missing), seconds=seconds,
                         load=self.load_info.get((model_name, compression), {"cached": True}),
                         backend=backend_info, strategy=strategy, task=kind.name)

    # -- loading: one model in memory at a time (medcheck.loads) -------------------------------
    def backend(self, model_name: str, compression: str) -> Backend:
        """The loaded backend of a (model, compression); loads it (once) if needed."""
        return self.loads.backend(model_name, compression)

    def load_options(self, model_name: str, model: ResolvedModel) -> LoadOptions:
        return LoadOptions(dtype=self.dtype, device=self.device, allow_pickle=self.settings.allow_pickle,
                           trust_remote_code=model_name in self.pairs.trust_remote_code,
                           cache_dir=self.settings.cache_dir, base_fingerprint=model.fingerprint,
                           seed=self.settings.seed)

    def release(self) -> None:
        """Close the loaded model; a later request for it loads it again."""
        self.loads.release()
