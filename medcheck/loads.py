"""Which model is in memory: one (model, compression) at a time, loaded through the run's backend,
with the warm-up policy that decides whether a candidate that fails its warm-up is broken.

A candidate that fails the warm-up is an error only where its dense model passes it; a resumed run
that never loaded the dense model loads it to tell, so the verdict never depends on the store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from medcheck.backends import Backend, BackendClass, Loaded
from medcheck.compression import DENSE, LoadOptions
from medcheck.errors import ModelLoadError
from medcheck.memo import Memo
from medcheck.models import ResolvedModel

log = logging.getLogger(__name__)


class Loads:
    def __init__(self, engine: BackendClass, model: Callable[[str], ResolvedModel],
                 options: Callable[[str, ResolvedModel], LoadOptions], batch_tokens: int,
                 say: Callable[[str, bool], None] = lambda text, done: None) -> None:
        self.engine = engine
        self._say = say   # a load of a large model takes minutes: it is announced, then timed
        self._model = model
        self._options = options
        self._batch_tokens = batch_tokens
        self._loads: Memo[tuple[str, str], Backend] = Memo()
        self._loaded: tuple[tuple[str, str], Backend] | None = None
        self.info: dict[tuple[str, str], dict[str, Any]] = {}   # load telemetry per (model, compression)

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

    def holds(self, model_name: str, compression: str) -> bool:
        """Whether this (model, compression) is the one in memory now."""
        return self._loaded is not None and self._loaded[0] == (model_name, compression)

    def release(self) -> None:
        """Close the loaded model; a later request for it loads it again."""
        if self._loaded:
            key, backend = self._loaded
            backend.close()
            self._loads.forget(key)
            self._loaded = None

    def _load(self, model_name: str, compression: str) -> Backend:
        model = self._model(model_name)
        loaded = self._engine_load(model_name, model, compression)
        warm = loaded.info.get("warmup") or {"ok": True}
        if warm["ok"] or compression == DENSE:
            if not warm["ok"]:
                log.warning("medcheck: %s/%s warm-up: %s", model_name, compression, warm["reason"])
            return loaded.backend
        if (model_name, DENSE) not in self.info:
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
        return bool(self.info[(model_name, DENSE)].get("warmup", {"ok": True})["ok"])

    def _engine_load(self, model_name: str, model: ResolvedModel, compression: str) -> Loaded:
        label, options = f"{model_name}/{compression}", self._options(model_name, model)
        self._say(f"loading {label} ({options.dtype}, {options.device}) ...", False)
        t0 = time.perf_counter()
        loaded = self.engine.load(label, model, compression, options, batch_tokens=self._batch_tokens)
        self.info[(model_name, compression)] = loaded.info
        how = f" (fell back to {loaded.info.get('strategy')})" if loaded.info.get("fallback") else ""
        self._say(f"loaded {label} in {time.perf_counter() - t0:.1f} s{how}", True)
        return loaded


def _broken(model_name: str, compression: str, warm: dict[str, Any]) -> ModelLoadError:
    return ModelLoadError(f"{model_name}/{compression} is broken: warm-up {warm['reason']} "
                          f"(output {warm['output']!r}); the dense model passes the warm-up")
