"""CareQA, English (HPAI-BSC; arXiv 2405.01886 and 2502.06666), Apache-2.0 per its dataset card.

Release: huggingface.co/datasets/HPAI-BSC/CareQA (the hub names the file `CareQA_en.json`), read
here as `<data dir>/careqa/CareQA_en.jsonl`, the name of the public copy this layout follows
(5,621 items from the Spanish specialised healthcare training exams, 2020-2024). JSON lines from
a pandas dump: exam_id, question, op1..op4, cop (1-4, stored as a float such as 2.0), year,
category, unique_id.

Real-world dirt: rows that are entirely NaN (bare `NaN` tokens, which Python's json accepts
and strict parsers reject) are skipped, never scored, and reported: a warning names the file
and lines, and the spec keeps `skipped_rows` (count) and `skipped_lines` of its last load.
A row with only some NaN in a required key is an error.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

from medcheck.datasets.types import ChoiceItem, UniqueIds, json_lines, require_file
from medcheck.errors import DatasetError

ID = "careqa"
TRACK = "application"
LOADER_VERSION = 1
RELATIVE = "careqa/CareQA_en.jsonl"
OPTION_KEYS = ("op1", "op2", "op3", "op4")
REQUIRED = ("question", *OPTION_KEYS, "cop")
EXPECTED = "exam_id, question, op1, op2, op3, op4, cop (1-4), year, category, unique_id"


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


class CareQA:
    id = ID
    track = TRACK
    dimension = "CDA"             # CMedBench: clinical decision and application
    loader_version = LOADER_VERSION
    relative_path = RELATIVE
    prompt_style = "qa"
    kind = "choice"           # task kind (medcheck.task_kinds): the options' log-likelihood
    skipped_rows: int = 0         # all-NaN rows of the last load, never scored
    skipped_lines: tuple[int, ...] = ()

    def load(self, root: Path) -> list[ChoiceItem]:
        path = require_file(root, RELATIVE, ID)
        self.skipped_rows, self.skipped_lines = 0, ()
        items: list[ChoiceItem] = []
        skipped: list[int] = []
        ids = UniqueIds(path, key="unique_id")
        for line_no, record in json_lines(path):   # json_lines accepts the pandas dump's bare NaN
            if record and all(_is_nan(v) for v in record.values()):
                skipped.append(line_no)
                continue
            item = _item(path, line_no, record, len(items))
            ids.add(item.id, line_no)
            items.append(item)
        if not items:
            raise DatasetError(path, "no questions found" + (f" ({len(skipped)} all-NaN rows)" if skipped else ""))
        if skipped:
            lines = ("line " if len(skipped) == 1 else "lines ") + ", ".join(map(str, skipped[:10]))
            warnings.warn(f"{path}: skipped {len(skipped)} row(s) that are entirely NaN "
                          f"({lines}{', ...' if len(skipped) > 10 else ''}); "
                          "they are not scored", stacklevel=2)
        self.skipped_rows, self.skipped_lines = len(skipped), tuple(skipped)
        return items


def _item(path: Path, line_no: int, record: dict[str, Any], index: int) -> ChoiceItem:
    for key in REQUIRED:
        if key not in record:
            raise DatasetError(path, "missing key", line=line_no, key=key, expected=EXPECTED)
        if _is_nan(record[key]):
            raise DatasetError(path, "NaN in a row that is not entirely NaN", line=line_no, key=key)
    for key in ("question", *OPTION_KEYS):
        if not isinstance(record[key], str):
            raise DatasetError(path, f"expected text, got {type(record[key]).__name__}", line=line_no, key=key)
    if not record["question"].strip():
        raise DatasetError(path, "empty question", line=line_no, key="question")
    cop = record["cop"]
    if isinstance(cop, bool) or not isinstance(cop, (int, float)) or cop not in (1, 2, 3, 4):
        raise DatasetError(path, f"cop must be an option number 1-4, got {cop!r}", line=line_no, key="cop")
    unique_id, category = record.get("unique_id"), record.get("category")
    return ChoiceItem(id=unique_id if isinstance(unique_id, str) and unique_id else f"{ID}-{index:05d}",
                      question=record["question"].strip(), options=tuple(record[k].strip() for k in OPTION_KEYS),
                      gold=int(cop) - 1, subject=category if isinstance(category, str) else "")


DATASETS = {ID: CareQA()}
