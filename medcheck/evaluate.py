"""The evaluator: dataset x (model, compression) -> per-sample records, via the results store.

On a miss it loads the model once (medcheck.loads) and scores every dataset the run needs from it,
committing records in chunks; the dense reference is scored once and shared by all of its
candidates. What a dataset's items cost and yield is its task kind's (medcheck.task_kinds); what a
generative dataset is prompted with is the run's `Prompting`; loading and engine objects belong to
the backend.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

import medcheck
from medcheck import datasets, task_kinds
from medcheck.ahead import AHEAD, Ahead
from medcheck.backends import BACKENDS, Backend, BackendClass
from medcheck.backends.teacher import can_teacher_force, teacher_forcing
from medcheck.compression import DENSE, LoadOptions, recipe_for
from medcheck.datasets.types import Dataset, TextItem
from medcheck.loads import Loads
from medcheck.memo import Memo
from medcheck.models import ResolvedModel, resolve
from medcheck.pairs import Pair, PairsFile
from medcheck.prompting import Prompting
from medcheck.prompts import PROMPT_VERSION
from medcheck.results import PairResult, RunResult
from medcheck.sequential import Looks, look_sizes
from medcheck.settings import Settings
from medcheck.store import ResultStore, cache_key


class Progress:
    """Minimal progress sink; the pytest layer supplies one that writes past output capture."""

    # budget: the most `unit`s the work can count (a fill's token budget), for a time-left estimate
    # before its first item ends
    def start(self, label: str, total: int, unit: str = "prompt tokens", budget: int | None = None) -> None: ...
    def advance(self, items: int, tokens: int = 0) -> None: ...
    def finish(self) -> None: ...
    def note(self, text: str, done: bool = True) -> None:
        """One line of news (a model loading, `done=False`, then loaded): the next line replaces an undone one
        on a terminal."""


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
                           lambda name, model: self.load_options(name, model), settings.batch_tokens,
                           lambda text, done: self._progress().note(text, done))
        self._datasets: Memo[str, Dataset] = Memo()
        self._models: Memo[str, ResolvedModel] = Memo()
        self._runs: Memo[tuple[str, str, str, int], RunResult] = Memo()
        self._unstored: dict[str, dict[str, Any]] = {}      # records of a run without the store, across looks
        self._seconds: dict[tuple[str, str, str], float] = {}   # scoring time over every look
        self._cached: dict[tuple[str, str, str], int] = {}      # items the store held when the run began
        self.decide: Callable[[PairResult], str] | None = None   # the gate's outcome of a look
        self._planned: dict[tuple[str, str], list[str]] = {}
        self._order: dict[tuple[str, str], list[str]] = {}   # the loaded model's datasets, in scoring order
        self._ahead: Ahead | None = None   # generations made ahead for the loaded model's next datasets
        self._while_loaded: dict[tuple[str, str], list[Callable[[], object]]] = {}
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

    def while_loaded(self, model: str, compression: str, work: Callable[[], object]) -> None:
        """Work a test will ask of a loaded model (an efficiency measurement): done right after the
        model's planned datasets are scored, while it is still loaded, so it is not loaded again."""
        self._while_loaded.setdefault((model, compression), []).append(work)

    # -- lookups (remembered, failures included) ---------------------------------------------
    def dataset(self, dataset_id: str) -> Dataset:
        s = self.settings
        kind = task_kinds.of(datasets.info(dataset_id).kind)
        caps = [s.limit, s.budget, self.budgets(dataset_id).get("limit"), kind.limit(s)]
        limit = min((c for c in caps if c), default=None)
        return self._datasets.get(dataset_id, lambda: datasets.load(dataset_id, s.data_dir, limit, s.seed))

    def _loadable(self, dataset_id: str) -> Dataset | None:
        """A planned dataset scored beside another, or None where it cannot load: its error is
        remembered and raised by its own evaluation, not by the one that loaded the model."""
        try:
            return self.dataset(dataset_id)
        except Exception:
            return None

    def loaded_datasets(self) -> list[Dataset]:
        return list(self._datasets.values())

    def model(self, name: str) -> ResolvedModel:
        return self._models.get(name, lambda: resolve(self.pairs.models[name], self.settings.cache_dir,
                                                      allow_network=self.settings.allow_network))

    def resolved_models(self) -> dict[str, ResolvedModel]:
        return dict(self._models.items())

    # -- evaluation -----------------------------------------------------------------------
    def looks(self, dataset: Dataset) -> tuple[int, ...]:
        """Items per look of a dataset scored sequentially (its task kind allows it, the run has a
        budget and a stopping rule), else one look at the whole selection."""
        if self.decide is None or not self.settings.sequential or not task_kinds.of(dataset.kind).sequential:
            return (dataset.n,)
        return look_sizes(dataset.n)

    def evaluate(self, pair: Pair, dataset_id: str) -> PairResult:
        """The pair on a dataset: the whole selection, or look by look until `decide` settles it."""
        done = next((r for r in self.results if (r.pair, r.dataset.id) == (pair, dataset_id)), None)
        if done is not None:
            return done
        dataset = self.dataset(dataset_id)
        sizes = self.looks(dataset)
        result = self._pair(pair, dataset, sizes[0], None)
        if len(sizes) > 1 and self.decide is not None:
            history: list[tuple[int, str]] = []
            late = False
            for k, n in enumerate(sizes):   # the fixed seeded order: look k sees the first n items
                result = self._pair(pair, dataset, n, Looks(sizes, k, tuple(history)))
                history.append((n, self.decide(result)))
                late = self._spent(pair, dataset.id) and k < len(sizes) - 1
                if history[-1][1] != "inconclusive" or late:
                    break
            result = dataclasses.replace(result, looks=Looks(sizes, k, tuple(history), late))
        self.results.append(result)
        return result

    def _spent(self, pair: Pair, dataset_id: str) -> bool:
        """Whether scoring the dataset for the pair (dense and candidate, this run) used its seconds budget."""
        limit = self.settings.budget_seconds
        used = sum(self._seconds.get((pair.model, c, dataset_id), 0.0) for c in (DENSE, pair.compression))
        return limit is not None and used >= limit

    def _pair(self, pair: Pair, dataset: Dataset, n: int, looks: Looks | None) -> PairResult:
        dense = self.run(pair.model, DENSE, dataset.id, n)
        candidate = self.run(pair.model, pair.compression, dataset.id, n)
        return PairResult(pair, dataset, dense, candidate, looks=looks)

    def run(self, model: str, compression: str, dataset_id: str, n: int | None = None) -> RunResult:
        """A model's records on the first `n` items of a dataset (its first look by default); on a
        miss, every planned dataset of the model is scored to its first look while it is loaded."""
        n = n or self.looks(self.dataset(dataset_id))[0]
        if (model, compression, dataset_id, n) not in self._runs:
            planned = self._planned.get((model, compression), [])
            self._order[(model, compression)] = [dataset_id, *[d for d in planned if d != dataset_id]]
            todo = [(dataset_id, n)]
            for other in [d for d in planned if d != dataset_id]:
                if (ds := self._loadable(other)) is not None:
                    todo.append((other, self.looks(ds)[0]))
            while todo:
                pick = self._next_free(model, compression, todo)
                todo.remove(pick)
                if (model, compression, *pick) not in self._runs:
                    self._runs.put((model, compression, *pick),
                                   functools.partial(self._run_one, model, compression, *pick))
            if self.loads.holds(model, compression):
                for work in self._while_loaded.pop((model, compression), []):
                    with contextlib.suppress(Exception):   # the work remembers its failure for its test
                        work()
            self.release()
        return self._runs.value((model, compression, dataset_id, n))

    def _next_free(self, model: str, compression: str, todo: list[tuple[str, int]]) -> tuple[str, int]:
        """The next of `todo` to score: the first, unless another process sharing the store (an
        xdist worker) is scoring it; then the first dataset nobody is scoring whose kind does not
        generate, so the worker computes instead of waiting (the dense reference of several workers'
        pairs is shared out). Never a generative one out of order: the worker scoring one generated
        the next ones' answers with it (medcheck.ahead), and a second would make them again."""
        def busy(dataset_id: str) -> bool:
            try:   # a failure is remembered and raised by the dataset's own evaluation; here it only orders
                return self.store.busy(self._key(model, compression, self.dataset(dataset_id)))
            except Exception:
                return False

        if self.store.path is None or not busy(todo[0][0]):
            return todo[0]
        return next((t for t in todo[1:] if not task_kinds.of(self.dataset(t[0]).kind).generates
                     and not busy(t[0])), todo[0])

    def run_results(self) -> list[RunResult]:
        """Each model's records on each dataset, at the most items any look scored."""
        most: dict[tuple[str, str], RunResult] = {}
        for run in self._runs.values():
            key = (run.pair_id, run.dataset_id)
            if key not in most or len(run.records) > len(most[key].records):
                most[key] = run
        return list(most.values())

    def components(self, model: ResolvedModel, compression: str, dataset: Dataset) -> dict[str, Any]:
        """Provenance of a record: every field enters the store key and the report."""
        return {"medcheck": medcheck.__version__, "model_fingerprint": model.fingerprint,
                "compression": recipe_for(compression).describe(), "dataset": dataset.id,
                # the split's items, not the selection's: records are per item, so runs with other
                # limits or budgets share them (a larger budget scores only the items it adds)
                "release_sha256": dataset.release_sha256 or dataset.sha256, "loader_version": dataset.loader_version,
                "protocol": self.protocol, "prompt_version": PROMPT_VERSION, "dtype": self.dtype,
                "backend": self.engine.name, "backend_version": self.engine.version(),
                **task_kinds.of(dataset.kind).components(dataset, self.prompting)}

    def _key(self, model_name: str, compression: str, dataset: Dataset) -> str:
        """The store key of a model's records on a dataset."""
        return cache_key(self.components(self.model(model_name), compression, dataset))

    def _run_one(self, model_name: str, compression: str, dataset_id: str, n: int) -> RunResult:
        dataset = self.dataset(dataset_id)   # the store key is the whole selection's: looks extend it
        kind = task_kinds.of(dataset.kind)
        forced = kind.forced_pass and can_teacher_force(self.engine)
        # the dense answers a candidate is forced along: scored (or read) before the candidate loads
        reference = self.run(model_name, DENSE, dataset_id, n) if forced and compression != DENSE else None
        model = self.model(model_name)
        components = self.components(model, compression, dataset)
        key = cache_key(components)
        fingerprint = model.fingerprint if compression == DENSE else hashlib.sha256(
            (model.fingerprint + json.dumps(components["compression"], sort_keys=True)).encode()).hexdigest()
        items = dataset.items[:n]
        seconds = self._seconds.get((model_name, compression, dataset_id), 0.0)
        backend_info: dict[str, Any] = {}
        with self._claimed(key, [item.id for item in items]) as stored:
            missing = [item for item in items if item.id not in stored]
            if missing:
                backend = self.backend(model_name, compression)
                backend_info = backend.describe()
                bar = self._progress()
                ahead = self._ahead_for(backend)
                served = kind.generates and ahead.has(kind.requests(cast(Backend, ahead), dataset, missing,
                                                                    self.prompting))
                # answers generated in an earlier dataset's batch: its rate is not this dataset's speed
                bar.start(f"{model_name}/{compression} {dataset_id}" + (" (answers generated above)" if served else ""),
                          len(missing), kind.unit)
                try:
                    for start in range(0, len(missing), kind.chunk):   # a killed run keeps every finished chunk
                        chunk = missing[start:start + kind.chunk]
                        t0 = time.perf_counter()
                        made, charged = ahead.fill_seconds, ahead.charged
                        if kind.generates:
                            self._fill_ahead(ahead, model_name, compression, dataset, kind, chunk)
                        records = kind.score(cast(Backend, ahead), dataset, chunk, self.protocol, self.prompting)
                        # the chunk's share of a batch made for several datasets, not the batch's wall time
                        seconds += time.perf_counter() - t0 - (ahead.fill_seconds - made) + (ahead.charged - charged)
                        self._seconds[(model_name, compression, dataset_id)] = seconds
                        self.store.put(key, components, [r.as_dict() for r in records])
                        stored.update({r.item_id: r.as_dict() for r in records})
                        bar.advance(len(chunk), sum(kind.tokens(r) for r in records))
                finally:
                    bar.finish()
        final = kind.records([stored[item.id] for item in items])
        if forced:
            t0 = time.perf_counter()
            final = self._forced(kind, model_name, compression, components, final, reference)
            seconds += time.perf_counter() - t0
        strategy = kind.strategy(dataset, self.prompting)
        scored = dataset if n == dataset.n else dataclasses.replace(dataset, items=items, sha256="")
        cached = self._cached.setdefault((model_name, compression, dataset_id), len(items) - len(missing))
        return RunResult(model_name, compression, dataset_id, final, kind.summarize(scored, final), fingerprint,
                         key, cached_items=cached, seconds=seconds,
                         load=self.load_info.get((model_name, compression), {"cached": True}),
                         backend=backend_info, strategy=strategy, task=kind.name)

    def _ahead_for(self, backend: Backend) -> Ahead:
        if self._ahead is None or self._ahead.backend is not backend:
            self._ahead = Ahead(backend)
        return self._ahead

    def _fill_ahead(self, ahead: Ahead, model_name: str, compression: str, dataset: Dataset,
                    own: task_kinds.TaskKind, chunk: list[Any]) -> None:
        """Generate the chunk's answers together with the first chunks of the generative datasets the
        loaded model answers next (medcheck.ahead), unless they were made already."""
        wanted = own.requests(cast(Backend, ahead), dataset, chunk, self.prompting)
        if not wanted or ahead.has(wanted):
            return
        batch, names = list(wanted), [dataset.id]
        for other in self._order.get((model_name, compression), []):
            if (ds := self._loadable(other)) is None:
                continue
            kind = task_kinds.of(ds.kind)
            first = self.looks(ds)[0]
            if len(batch) >= AHEAD or other == dataset.id or not kind.generates \
                    or (model_name, compression, other, first) in self._runs:
                continue
            try:   # its prompts (its few-shot pool, say) may fail: raised by its own evaluation, not this one's
                stored = self._stored(self._key(model_name, compression, ds))
                items = [item for item in ds.items[:first] if item.id not in stored][:kind.chunk]
                more = kind.requests(cast(Backend, ahead), ds, items, self.prompting) if items else []
            except Exception:
                continue
            if more and len(batch) + len(more) <= AHEAD and not ahead.has(more):
                batch += more
                names.append(other)
        bar = self._progress()
        sets = f"{len(names)} dataset{'' if len(names) == 1 else 's'}"
        bar.start(f"{model_name}/{compression} generating {len(batch)} answers for {sets}",
                  len(batch), "generated tokens", budget=sum(r.max_new_tokens for r in batch))
        try:   # every generated token advances the line: a fill of 128 answers takes minutes on a CPU
            ahead.fill(batch, lambda _index, _now: bar.advance(0, 1))
            bar.advance(len(batch))
        finally:
            bar.finish()

    def _forced(self, kind: task_kinds.TaskKind, model_name: str, compression: str, components: dict[str, Any],
                records: tuple[Any, ...], reference: RunResult | None) -> tuple[Any, ...]:
        """The kind's teacher-forced pass over the dense answers (fidelity on generated items): one
        prefill per item, stored under its own key (the records' components plus the pass's fields,
        which name the dense records a candidate reads), so a cached run reuses it."""
        extra = {**components, "forced_pass": kind.forced_key(reference)}
        key = cache_key(extra)
        with self._claimed(key, [r.item_id for r in records]) as stored:
            missing = [r for r in records if r.item_id not in stored]
            if missing:
                forcing = teacher_forcing(self.backend(model_name, compression))
                if forcing is None:
                    return records
                for start in range(0, len(missing), 32):   # a killed run keeps every finished chunk
                    rows = kind.forced_rows(forcing, missing[start:start + 32], reference)
                    if rows:
                        self.store.put(key, extra, rows)
                    stored.update({r["item_id"]: r for r in rows})
        return kind.with_forced(records, stored)

    def _stored(self, key: str) -> dict[str, dict[str, Any]]:
        """The records under a key: a file store's (earlier runs', or this run's that its workers
        share: fixtures/xdist.py), else this run's own."""
        return self.store.get(key) if self.store.path is not None else self._unstored.setdefault(key, {})

    @contextlib.contextmanager
    def _claimed(self, key: str, ids: list[str]) -> Iterator[dict[str, dict[str, Any]]]:
        """The records under a key; while some of `ids` are missing, the key is this process's to score
        (ResultStore.claim): another process sharing the store and scoring it is waited for, and its
        records are read rather than scored again (the dense reference of two xdist workers)."""
        stored = self._stored(key)
        if all(i in stored for i in ids):
            yield stored
            return
        with self.store.claim(key):
            yield self._stored(key)

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
        self._ahead = None
        self.loads.release()
