"""Errors that tell the user what is wrong, where, and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


def close_matches(name: str, known: Iterable[str]) -> list[str]:
    """The known names nearest a typo, nearest first (at most three)."""
    return difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' (did you mean a or b?)' to follow the list of known names, or '' where none is close."""
    close = close_matches(name, known)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


class MedcheckError(Exception):
    """Base class: every message is meant to be read by a person."""


class ConfigError(MedcheckError):
    """A settings value, pairs file or threshold file is invalid."""

    def __init__(self, where: str, key: str, problem: str, fix: str = "") -> None:
        self.where, self.key, self.problem, self.fix = where, key, problem, fix
        message = f"{where}: {key}: {problem}" if key else f"{where}: {problem}"
        super().__init__(f"{message}\n  {fix}" if fix else message)


class RecordError(ConfigError):
    """A run record (report.json, samples.jsonl, a worker's record) medcheck cannot read: names the
    file (or file:line), the key and the fix."""


class DatasetError(MedcheckError):
    """A dataset file is missing or malformed; names the file, line or key, and the fix."""

    def __init__(self, path: Path | str, problem: str, *, line: int | None = None,
                 key: str | None = None, expected: str | None = None) -> None:
        self.path, self.problem, self.line, self.key = Path(path), problem, line, key
        where = str(path)
        if line is not None:
            where += f":{line}"
        if key is not None:
            where += f" [{key}]"
        message = f"{where}: {problem}"
        if expected:
            message += f"\n  expected: {expected}"
        super().__init__(message)


class ModelLoadError(MedcheckError):
    """No way to load a model spec worked."""
