"""Typed items shared by every dataset module."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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
class DataFile:
    """A release file a loader read: its path as given (under the data dir, through any links),
    the file that path resolves to, and the sha256 of its bytes, which identify it wherever it lives."""

    path: str
    resolved: str
    sha256: str


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
    files: tuple[DataFile, ...] = ()   # the release files the loader read, for the audit manifest
    release_sha256: str = ""    # sha256 of every item of the split, whatever the limit (the store key's)

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
    """Path of a release file, or a DatasetError naming the expected layout.

    Symbolic links are followed, to shared storage or anywhere else (teams link benchmarks into a
    data dir rather than copy them): a file is identified by its resolved path and sha256, which
    the audit manifest records (`DataFile`), not by where it lies.
    """
    path = root / relative
    if not path.is_file():
        raise DatasetError(path, f"{dataset_id}: file not found",
                           expected=f"<data dir>/{relative} (the official release layout)")
    return path


_READ: ContextVar[list[Path] | None] = ContextVar("medcheck_dataset_reads", default=None)


@contextmanager
def reading() -> Iterator[list[Path]]:
    """The paths loaders read inside the block (read_text, note_read), in first-read order."""
    read: list[Path] = []
    token = _READ.set(read)
    try:
        yield read
    finally:
        _READ.reset(token)


def note_read(path: Path) -> None:
    """Record that a loader read `path` (read_text does; a loader that opens a file itself calls this)."""
    read = _READ.get()
    if read is not None and path not in read:
        read.append(path)


def data_files(paths: Iterable[Path]) -> tuple[DataFile, ...]:
    """Given path, resolved path and sha256 of each file."""
    out = []
    for path in paths:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        out.append(DataFile(str(path), str(path.resolve()), digest.hexdigest()))
    return tuple(out)


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """A release file's text; bytes that are not `encoding` are a DatasetError naming the line."""
    note_read(path)
    data = path.read_bytes()
    try:
        text = data.decode(encoding).removeprefix("\ufeff")   # a byte-order mark is not content
    except UnicodeDecodeError as exc:
        line: int | None = data[:exc.start].count(b"\n") + 1
        if _looks_utf16(data):
            problem, line = "file is UTF-16, not UTF-8", None
        else:
            problem = f"not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}"
        raise DatasetError(path, problem, line=line,
                           expected=f"{encoding} text (re-save the file as UTF-8, e.g. iconv -t UTF-8)") from None
    if "\x00" in text:   # UTF-16 without a byte-order mark decodes as UTF-8 full of NULs
        problem = "file is UTF-16, not UTF-8" if _looks_utf16(data) else "contains NUL bytes: not a text file"
        raise DatasetError(path, problem, line=text[:text.index("\x00")].count("\n") + 1,
                           expected=f"{encoding} text (re-save the file as UTF-8, e.g. iconv -t UTF-8)")
    return text


def _looks_utf16(data: bytes) -> bool:
    """A UTF-16 byte-order mark, or ASCII text with a NUL in every other byte."""
    head = data[:64]
    return head[:2] in (b"\xff\xfe", b"\xfe\xff") or (
        len(head) >= 8 and (head[1::2].count(0) == len(head[1::2]) or head[0::2].count(0) == len(head[0::2])))


def csv_rows(path: Path, delimiter: str = ",", encoding: str = "utf-8") -> Iterator[tuple[int, list[str]]]:
    """(physical line where the record starts, fields) for each CSV record (a quoted field may span
    lines: an error points at the record's first line); malformed CSV is a DatasetError."""
    reader = csv.reader(io.StringIO(read_text(path, encoding), newline=""), delimiter=delimiter)
    while True:
        start = reader.line_num + 1   # blank lines are records too ([]), so the last record ended just before
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DatasetError(path, f"malformed CSV: {exc}", line=start,
                               expected=f"{'tab' if delimiter == chr(9) else 'comma'}-separated fields under "
                                        f"{csv.field_size_limit()} characters "
                                        "(a quote left open runs to the end)") from None
        yield start, row


# a high surrogate escape without its low half, or a low one without its high half
_LONE_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                             r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def parse_json(path: Path, text: str, line: int | None = None) -> Any:
    """json.loads with located errors (bad syntax, nesting too deep, lone surrogate escapes)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(path, f"invalid JSON: {exc.msg} (column {exc.colno})",
                           line=line if line is not None else exc.lineno) from None
    except RecursionError:
        raise DatasetError(path, "JSON nested too deeply", line=line) from None
    if "\\u" in text:   # "\\udc80" decodes to a lone surrogate, which no UTF-8 text can hold
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            lone = _LONE_SURROGATE.search(text)
            if line is None and lone:
                line = text[:lone.start()].count("\n") + 1
            escape = lone.group() if lone else "a \\u escape"
            raise DatasetError(path, f"{escape} is a lone UTF-16 surrogate, not a character", line=line,
                               expected="text escapes of real characters") from None
    return value


def json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number from 1, object) for each non-blank line of a JSON-lines file.

    A line that is not JSON, or not a JSON object, is a DatasetError naming it. Python's json
    accepts bare NaN tokens, which CareQA's pandas dump relies on.
    """
    for line_no, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        record = parse_json(path, line, line_no)
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
