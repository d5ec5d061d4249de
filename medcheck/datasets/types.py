"""Typed items shared by every dataset module."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from medcheck.errors import DatasetError

DataSource = Literal["real", "sample"]


@dataclass(frozen=True)
class ChoiceItem:
    """One multiple-choice question. `labels` are what the letter protocol scores (" A" or " yes")."""

    id: str
    question: str
    options: tuple[str, ...]
    gold: int
    labels: tuple[str, ...] = ("A", "B", "C", "D")
    context: str = ""          # passage shown before the question (PubMedQA's abstract)
    subject: str = ""          # MMLU subject, for its description line

    def __post_init__(self) -> None:
        if len(self.options) != len(self.labels):
            raise ValueError(f"item {self.id}: {len(self.options)} options but {len(self.labels)} labels")
        if not 0 <= self.gold < len(self.options):
            raise ValueError(f"item {self.id}: gold index {self.gold} out of range")


@dataclass(frozen=True)
class TextItem:
    """One generative item: `text` is the input the task's template renders; `gold` the reference.

    `gold` is JSON-able and kind-specific (a label, a tuple of labels or entity strings, a rating,
    None where the task has no reference, e.g. a request that should be refused). `meta` holds what
    the scorer needs beyond the text (a perturbed twin's id, an e-mail address, a category).
    """

    id: str
    text: str
    gold: Any = None
    meta: dict[str, Any] = field(default_factory=dict)


Item = ChoiceItem | TextItem


@dataclass(frozen=True)
class Dataset:
    id: str
    track: str
    items: tuple[Item, ...]
    source: DataSource
    path: str
    loader_version: int
    total: int                  # items in the split before --medcheck-limit
    prompt_style: str = "qa"    # which letter-protocol template applies (see medcheck.prompts)
    kind: str = "choice"        # "choice" (log-likelihood over options) or "generate" (parsed free text)
    sha256: str = field(default="")

    def __post_init__(self) -> None:
        if not self.sha256:
            object.__setattr__(self, "sha256", content_hash(self.items))

    @property
    def n(self) -> int:
        return len(self.items)


def content_hash(items: tuple[Item, ...]) -> str:
    """sha256 of the items actually evaluated, in evaluation order."""
    payload = json.dumps([asdict(i) for i in items], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def require_file(root: Path, relative: str, dataset_id: str) -> Path:
    """Path of a release file, or a DatasetError naming the expected layout."""
    path = root / relative
    if not path.is_file():
        raise DatasetError(path, f"{dataset_id}: file not found",
                           expected=f"<data dir>/{relative} (the official release layout)")
    return path


def json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number from 1, object) for each non-blank line of a JSON-lines file.

    A line that is not JSON, or not a JSON object, is a DatasetError naming it. Python's json
    accepts bare NaN tokens, which CareQA's pandas dump relies on.
    """
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(path, f"invalid JSON: {exc.msg} (column {exc.colno})", line=line_no) from None
            if not isinstance(record, dict):
                raise DatasetError(path, f"expected a JSON object, got {type(record).__name__}", line=line_no)
            yield line_no, record


class UniqueIds:
    """The ids of one file so far; `add` rejects a repeat, naming the line it was first on."""

    def __init__(self, path: Path, key: str = "id") -> None:
        self.path, self.key = path, key
        self.first_line: dict[str, int] = {}

    def add(self, item_id: str, line_no: int) -> None:
        if item_id in self.first_line:
            raise DatasetError(self.path, f"duplicate {self.key} (first on line {self.first_line[item_id]})",
                               line=line_no, key=self.key)
        self.first_line[item_id] = line_no

    def __len__(self) -> int:
        return len(self.first_line)
