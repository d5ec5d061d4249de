"""Name -> lazy "module:Object" registries that answer a typo with "did you mean"."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from medcheck.errors import MedcheckError, close_matches, did_you_mean

T = TypeVar("T")


class UnknownNameError(MedcheckError, KeyError):
    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        super().__init__(f"unknown {kind} {name!r}\n  known: {', '.join(known)}{did_you_mean(name, known)}")
        self.name, self.known, self.suggestions = name, known, close_matches(name, known)

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def suggest(kind: str, name: str, known: list[str]) -> UnknownNameError:
    return UnknownNameError(kind, name, known)


class Registry(Generic[T], Mapping[str, T]):
    """Maps names to objects given as "package.module:attr" strings, imported on first use."""

    def __init__(self, kind: str, entries: Mapping[str, str]) -> None:
        self.kind = kind
        self._paths = dict(entries)
        self._loaded: dict[str, T] = {}

    def register(self, name: str, path: str) -> None:
        self._paths[name] = path
        self._loaded.pop(name, None)

    def check(self, name: str) -> str:
        if name not in self._paths:
            raise suggest(self.kind, name, sorted(self._paths))
        return name

    def location(self, name: str) -> str:
        """The "package.module:attr" string `name` is registered as; nothing is imported."""
        return self._paths[self.check(name)]

    def __getitem__(self, name: str) -> T:
        self.check(name)
        if name not in self._loaded:
            module, _, attr = self._paths[name].partition(":")
            self._loaded[name] = getattr(importlib.import_module(module), attr)
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, name: Any) -> bool:
        return name in self._paths
