"""MedMCQA validation split (Pal et al., CHIL 2022), MIT license.

Release: medmcqa.github.io (data.zip) -> `dev.json`, read here as `<data dir>/medmcqa/dev.json`
(4,183 items; the official release calls the split dev, CMedBench uses it as its test set).
JSON lines: id, question, opa, opb, opc, opd, cop (the correct option), choice_type, exp,
subject_name, topic_name. The official file numbers cop 1-4; the Hugging Face copy
(openlifescienceai/medmcqa) numbers it 0-3. The loader decides per file with `cop_base()` and
records the decision on the spec after each load: `cop_base` (0 or 1) and `cop_note` (why).
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from pathlib import Path
from typing import Any

from medcheck.datasets.types import ChoiceItem, UniqueIds, json_lines, require_file
from medcheck.errors import DatasetError

ID = "medmcqa"
TRACK = "application"
LOADER_VERSION = 1
RELATIVE = "medmcqa/dev.json"
OPTION_KEYS = ("opa", "opb", "opc", "opd")
REQUIRED = ("question", *OPTION_KEYS, "cop")


def cop_base(cops: Collection[int]) -> tuple[int, bool] | None:
    """How a file numbers cop: (0, assumed) for 0-3 or (1, assumed) for 1-4; None if it has both 0 and 4.

    A 0 only occurs in 0-based files and a 4 only in 1-based ones. A file with neither (only
    1-3, so a handful of items) is read as the official 1-4 numbering, with assumed=True.
    """
    if 0 in cops and 4 in cops:
        return None
    if 0 in cops:
        return 0, False
    return 1, 4 not in cops


NOTES = {(0, False): "cop numbered 0-3 (Hugging Face copy): a 0 was seen",
         (1, False): "cop numbered 1-4 (official release): a 4 was seen",
         (1, True): "cop numbered 1-4 assumed (official release): only 1-3 seen, no 0 or 4"}


class MedMCQA:
    id = ID
    track = TRACK
    dimension = "CDA"             # CMedBench: clinical decision and application (entrance-exam MCQs)
    loader_version = LOADER_VERSION
    relative_path = RELATIVE
    prompt_style = "qa"
    kind = "choice"           # task kind (medcheck.task_kinds): the options' log-likelihood
    cop_base: int | None = None   # of the last successful load
    cop_note: str = ""

    def load(self, root: Path) -> list[ChoiceItem]:
        path = require_file(root, RELATIVE, ID)
        self.cop_base, self.cop_note = None, ""
        records = [(line_no, _record(path, line_no, record)) for line_no, record in json_lines(path)]
        if not records:
            raise DatasetError(path, "no questions found")
        decided = cop_base({record["cop"] for _, record in records})
        if decided is None:
            first = {cop: next(n for n, r in records if r["cop"] == cop) for cop in (0, 4)}
            raise DatasetError(path, f"cop 0 (line {first[0]}) and cop 4 (line {first[4]}) in one file: "
                               "cannot tell 0-3 from 1-4 numbering", line=max(first.values()), key="cop",
                               expected="cop 1-4 (official release) or 0-3 (Hugging Face copy) throughout")
        base, assumed = decided
        note = NOTES[decided]
        if assumed:
            warnings.warn(f"{path}: {note}", stacklevel=2)
        items: list[ChoiceItem] = []
        ids = UniqueIds(path)
        for line_no, record in records:
            item_id = str(record.get("id") or f"{ID}-{len(items):05d}")
            ids.add(item_id, line_no)
            subject = record.get("subject_name")
            items.append(ChoiceItem(id=item_id, question=record["question"].strip(),
                                    options=tuple(record[k].strip() for k in OPTION_KEYS), gold=record["cop"] - base,
                                    subject=subject if isinstance(subject, str) else ""))
        self.cop_base, self.cop_note = base, note
        return items


def _record(path: Path, line_no: int, record: dict[str, Any]) -> dict[str, Any]:
    for key in REQUIRED:
        if key not in record:
            raise DatasetError(path, "missing key", line=line_no, key=key, expected=", ".join(REQUIRED))
    for key in ("question", *OPTION_KEYS):
        if not isinstance(record[key], str):
            raise DatasetError(path, f"expected text, got {type(record[key]).__name__}", line=line_no, key=key)
    if not record["question"].strip():
        raise DatasetError(path, "empty question", line=line_no, key="question")
    cop = record["cop"]
    # JSON ints; pandas dumps may store them as 2.0
    if isinstance(cop, float) and cop.is_integer():
        cop = record["cop"] = int(cop)
    if isinstance(cop, bool) or not isinstance(cop, int) or not 0 <= cop <= 4:
        raise DatasetError(path, f"cop must be an option number 0-4, got {cop!r}", line=line_no, key="cop")
    return record


DATASETS = {ID: MedMCQA()}
