"""Remember a value or a failure per key, so every test that needs a broken thing reports it.

A dataset that fails to load, a model that fails to resolve or a pair that fails to score is
computed once; later callers get the same exception again. Re-raising one exception object
appends frames to its traceback on every raise, so the traceback captured at the first failure is
restored before each raise: the tenth test shows the same traceback as the first.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from types import TracebackType
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    def __init__(self) -> None:
        self._values: dict[K, V] = {}
        self._failures: dict[K, tuple[BaseException, TracebackType | None]] = {}

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The remembered value of `key`, computing it on first use; a failure is re-raised."""
        self.put(key, compute)
        return self.value(key)

    def value(self, key: K) -> V:
        if key in self._failures:
            exc, tb = self._failures[key]
            raise exc.with_traceback(tb)
        return self._values[key]

    def put(self, key: K, compute: Callable[[], V]) -> None:
        """Compute and remember `key` unless known; never raises (the failure is remembered)."""
        if key not in self._values and key not in self._failures:
            try:
                self._values[key] = compute()
            except Exception as exc:
                self._failures[key] = (exc, exc.__traceback__)

    def forget(self, key: K) -> None:
        """Drop a remembered value (a released model); remembered failures stay."""
        self._values.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._values or key in self._failures

    def values(self) -> Iterator[V]:
        """The values computed so far, failures left out."""
        return iter(list(self._values.values()))

    def items(self) -> Iterator[tuple[K, V]]:
        return iter(list(self._values.items()))
