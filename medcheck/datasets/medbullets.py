"""MedBullets, USMLE Step 2/3-style vignettes (Chen et al., arXiv 2402.18060); licence: see its repository.

Release: github.com/HanjieChen/ChallengeClinicalQA, `medbullets_op4.csv` and
`medbullets_op5.csv` (308 items each, the same questions with 4 or 5 options), read here from
`<data dir>/medbullets/`. CSV with a header row
`link,question,opa,opb,opc,opd[,ope],answer_idx,answer,explanation`; answer_idx is a letter;
fields are CSV-quoted and hold commas and newlines. Columns are found by name; link, answer
(the key's text) and explanation are not used. Empty columns after the header's last name (some
copies end every row with `,,,,`) are ignored; answer_idx is read in either case. Line breaks
inside a field are read as "\n" whatever the file's line endings, so a CRLF copy gives the same
prompts as an LF one. An empty question or option is an error naming its line and column.
Also accepted when the CSV is absent: the pandas column-oriented JSON of the same table,
`medbullets_op4.json` / `medbullets_op5.json` (`{"question": {"0": ..., "1": ...}, "opa": {...}}`).
After a load `relative_path` names the file actually read. CMedBench scores op5.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from medcheck.datasets.types import (
    ChoiceItem,
    csv_rows,
    parse_json,
    read_text,
)
from medcheck.errors import DatasetError

TRACK = "application"
LOADER_VERSION = 2   # 2: CRLF inside fields read as LF; empty options refused
OPTION_KEYS = ("opa", "opb", "opc", "opd", "ope")
LETTERS = ("A", "B", "C", "D", "E")

# (line, row key) -> record; exactly one of line (CSV) and row key (JSON) is set
Rows = Iterator[tuple[int | None, str | None, dict[str, Any]]]


class MedBullets:
    track = TRACK
    dimension = "CDA"             # CMedBench: clinical decision and application (case vignettes)
    loader_version = LOADER_VERSION
    prompt_style = "qa"
    kind = "choice"           # task kind (medcheck.task_kinds): the options' log-likelihood

    def __init__(self, n_options: int) -> None:
        self.n_options = n_options
        self.id = f"medbullets_op{n_options}"
        self.relative_path = f"medbullets/{self.id}.csv"
        self.release_paths = (self.relative_path, f"medbullets/{self.id}.json")   # what `available` looks for
        self.columns = ("question", *OPTION_KEYS[:n_options], "answer_idx")

    def load(self, root: Path) -> list[ChoiceItem]:
        csv_relative, json_relative = f"medbullets/{self.id}.csv", f"medbullets/{self.id}.json"
        if (root / csv_relative).is_file():
            relative, rows = csv_relative, self._csv_rows
        elif (root / json_relative).is_file():
            relative, rows = json_relative, self._json_rows
        else:
            raise DatasetError(root / csv_relative, f"{self.id}: file not found",
                               expected=f"<data dir>/{csv_relative} (the release CSV) or "
                                        f"<data dir>/{json_relative} (pandas column-oriented JSON)")
        path = root / relative
        items = [self._item(path, line, row, record, index) for index, (line, row, record) in enumerate(rows(path))]
        if not items:
            raise DatasetError(path, "no questions found")
        self.relative_path = relative
        return items

    def _csv_rows(self, path: Path) -> Rows:
        rows = csv_rows(path)   # read_text drops the byte-order mark the release's CSVs start with
        header = _trimmed([name.strip() for name in next(rows, (1, []))[1]])
        self._require_columns(path, header, line=1)
        for line, row in rows:
            if not any(cell.strip() for cell in row):
                continue
            row = _trimmed(row, len(header))
            if len(row) != len(header):
                hint = " (a quote left open or closed early joins or splits fields)" if any(
                    '"' in cell or "\n" in cell for cell in row) or len(row) < len(header) else ""
                raise DatasetError(path, f"expected {len(header)} fields (as in the header), got {len(row)}{hint}",
                                   line=line, expected=",".join(header))
            yield line, None, dict(zip(header, row))

    def _json_rows(self, path: Path) -> Rows:
        table = parse_json(path, read_text(path))
        if not isinstance(table, dict) or not all(isinstance(c, dict) for c in table.values()):
            raise DatasetError(path, "expected column-oriented JSON: {column: {row: value}}",
                               expected='{"question": {"0": ...}, "opa": {"0": ...}, ...} (pandas orient="columns")')
        self._require_columns(path, list(table), line=None)
        bad = [row for row in table["question"] if not (row.isascii() and row.isdigit())]
        if bad:
            raise DatasetError(path, "row keys must be integers", key=f"question.{bad[0]}")
        for row in sorted(table["question"], key=int):
            missing = [c for c in self.columns if row not in table[c]]
            if missing:
                raise DatasetError(path, "row missing from a column", key=f"{missing[0]}.{row}")
            yield None, row, {column: values.get(row) for column, values in table.items()}

    def _require_columns(self, path: Path, header: list[str], line: int | None) -> None:
        for column in self.columns:
            if column not in header:
                raise DatasetError(path, "missing column", line=line, key=column,
                                   expected=f"link,question,{','.join(self.columns[1:-1])},answer_idx,answer,explanation")

    def _item(self, path: Path, line: int | None, row: str | None, record: dict[str, Any], index: int) -> ChoiceItem:
        def error(problem: str, column: str) -> DatasetError:
            return DatasetError(path, problem, line=line, key=column if row is None else f"{column}.{row}")

        for column in self.columns:
            if not isinstance(record[column], str):
                raise error(f"expected text, got {type(record[column]).__name__}", column)
        letters = LETTERS[:self.n_options]
        answer = record["answer_idx"].strip().upper()
        if answer not in letters:
            raise error(f"answer_idx must be one of {letters[0]}-{letters[-1]}, got {answer!r}", "answer_idx")
        text = {c: record[c].replace("\r\n", "\n").strip() for c in ("question", *OPTION_KEYS[:self.n_options])}
        for column, value in text.items():
            if not value:   # an empty option would be scored, and could be the gold
                raise error(f"empty {'question' if column == 'question' else 'option'}", column)
        return ChoiceItem(id=f"{self.id}-{index:04d}", question=text["question"],
                          options=tuple(text[k] for k in OPTION_KEYS[:self.n_options]),
                          gold=letters.index(answer), labels=letters)


def _trimmed(fields: list[str], keep: int = 0) -> list[str]:
    """`fields` without the empty ones at its end beyond the first `keep`: some copies of the
    release end every row (and the header) with a run of empty columns."""
    end = len(fields)
    while end > keep and not fields[end - 1].strip():
        end -= 1
    return fields[:end]


DATASETS = {s.id: s for s in (MedBullets(4), MedBullets(5))}
