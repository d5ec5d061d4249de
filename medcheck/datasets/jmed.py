"""JMED, real-world clinical questions with up to 21 options (Citrus, JD Health; arXiv 2502.18274).

Release: huggingface.co/datasets/jdh-algo/JMED, `JMED.jsonl` (1,000 items, options A..U),
read here as `<data dir>/jmed/JMED.jsonl`; licence: see its dataset card. The release is on a
model hub only and could not be inspected here, so this loader reads an ASSUMED layout, one
JSON object a line:
  question  the stem (text)
  options   a dict letter -> text with contiguous letters from A (2 to 21 options, A..U);
            a plain list of texts is read as A, B, ... in order
  answer    the correct letter; `answer_idx` is accepted instead (and wins if both are present);
            also a one-letter list (["C"]) or a letter with its text ("C. Aspirin", "C)"), since the
            one public reader of the release takes `answer[0]`; a list of several letters is refused
  id        optional; without it items are numbered jmed-00000, ...
Bump LOADER_VERSION if the real file turns out to differ.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

from medcheck.datasets.types import ChoiceItem, UniqueIds, json_lines, require_file
from medcheck.errors import DatasetError

ID = "jmed"
TRACK = "application"
LOADER_VERSION = 1
RELATIVE = "jmed/JMED.jsonl"
LETTERS = tuple(string.ascii_uppercase[:21])   # A..U
EXPECTED = 'question, options {"A": ..., up to "U"}, answer (a letter) or answer_idx, optional id'


class JMED:
    id = ID
    track = TRACK
    dimension = "CDA"             # CMedBench: clinical decision and application (real consultations)
    loader_version = LOADER_VERSION
    relative_path = RELATIVE
    prompt_style = "qa"
    kind = "choice"           # task kind (medcheck.task_kinds): the options' log-likelihood

    def load(self, root: Path) -> list[ChoiceItem]:
        path = require_file(root, RELATIVE, ID)
        items: list[ChoiceItem] = []
        ids = UniqueIds(path)
        for line_no, record in json_lines(path):
            item = _item(path, line_no, record, len(items))
            ids.add(item.id, line_no)
            items.append(item)
        if not items:
            raise DatasetError(path, "no questions found")
        return items


def _options(path: Path, line_no: int, options: Any) -> dict[str, str]:
    if isinstance(options, list):
        options = dict(zip(LETTERS, options)) if len(options) <= len(LETTERS) else options
    if not isinstance(options, dict) or not 2 <= len(options) <= len(LETTERS):
        shape = f"{len(options)} entries" if isinstance(options, (dict, list)) else type(options).__name__
        raise DatasetError(path, f"options must map 2-21 letters A..U to texts, got {shape}",
                           line=line_no, key="options", expected=EXPECTED)
    letters = LETTERS[:len(options)]
    if sorted(options) != list(letters):
        raise DatasetError(path, f"option letters must run A-{letters[-1]} without gaps, "
                                 f"got {', '.join(sorted(options))}",
                           line=line_no, key="options")
    for letter in letters:
        if not isinstance(options[letter], str) or not options[letter].strip():
            raise DatasetError(path, f"option {letter} must be non-empty text", line=line_no, key=f"options.{letter}")
    return {letter: options[letter].strip() for letter in letters}


def _letter(value: Any, options: dict[str, str]) -> str | None:
    """The option letter an answer field names: "C", ["C"], "C. text", "C)"; None if it names none."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        return None
    value = value.strip()
    if value in options:
        return value
    head, rest = value[:1], value[1:2]
    # "B cells" is text, not the letter B: only a letter closed by punctuation is one
    return head if head in options and rest in (".", ")", ":") else None


def _item(path: Path, line_no: int, record: dict[str, Any], index: int) -> ChoiceItem:
    answer_key = "answer_idx" if "answer_idx" in record else "answer"
    for key in ("question", "options", answer_key):
        if key not in record:
            raise DatasetError(path, "missing key", line=line_no, key=key, expected=EXPECTED)
    if not isinstance(record["question"], str) or not record["question"].strip():
        raise DatasetError(path, "question must be non-empty text", line=line_no, key="question")
    options = _options(path, line_no, record["options"])
    answer = _letter(record[answer_key], options)
    if answer is None:
        raise DatasetError(path, f"{answer_key} must be one of the option letters A-{list(options)[-1]}, "
                           f"got {record[answer_key]!r}", line=line_no, key=answer_key)
    letters = tuple(options)
    item_id = record.get("id")
    return ChoiceItem(id=str(item_id) if item_id not in (None, "") else f"{ID}-{index:05d}",
                      question=record["question"].strip(), options=tuple(options.values()),
                      gold=letters.index(answer), labels=letters)


DATASETS = {ID: JMED()}
