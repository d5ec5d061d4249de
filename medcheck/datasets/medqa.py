"""MedQA, USMLE 4-option English split (Jin et al., Applied Sciences 2021), MIT license.

Release: github.com/jind11/MedQA, data_clean.zip ->
`data_clean/questions/US/4_options/phrases_no_exclude_test.jsonl` (1,273 items), read here as
`<data dir>/medqa/questions/...` or `<data dir>/medqa/data_clean/questions/...`. One JSON object a
line: question, options {"A".."D"}, answer_idx, answer, meta_info (step1 / step2&3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medcheck.datasets.types import ChoiceItem, json_lines, require_file
from medcheck.errors import DatasetError

ID = "medqa"
TRACK = "knowledge"
LOADER_VERSION = 1
RELATIVE = "medqa/questions/US/4_options/phrases_no_exclude_test.jsonl"
ZIP_LEVEL = "medqa/data_clean/questions/US/4_options/phrases_no_exclude_test.jsonl"
LETTERS = ("A", "B", "C", "D")


class MedQA:
    id = ID
    track = TRACK
    dimension = "AMK"             # CMedBench: advanced medical knowledge (licensing exam)
    loader_version = LOADER_VERSION
    relative_path = RELATIVE
    release_paths = (ZIP_LEVEL, RELATIVE)   # what `datasets.available` looks for, in `load`'s order
    prompt_style = "qa"
    kind = "choice"           # task kind (medcheck.task_kinds): the options' log-likelihood

    def load(self, root: Path) -> list[ChoiceItem]:
        relative = ZIP_LEVEL if (root / ZIP_LEVEL).is_file() else RELATIVE
        path = require_file(root, relative, ID)
        items: list[ChoiceItem] = []
        for line_no, record in json_lines(path):
            items.append(self._item(path, line_no, record, len(items)))
        if not items:
            raise DatasetError(path, "no questions found")
        return items

    @staticmethod
    def _item(path: Path, line_no: int, record: dict[str, Any], index: int) -> ChoiceItem:
        for key in ("question", "options", "answer_idx"):
            if key not in record:
                raise DatasetError(path, "missing key", line=line_no, key=key,
                                   expected="question, options, answer_idx, answer, meta_info")
        options = record["options"]
        if not isinstance(options, dict) or sorted(options) != list(LETTERS):
            got = sorted(options) if isinstance(options, dict) else type(options).__name__
            raise DatasetError(path, f"options must have keys A-D, got {got}",
                               line=line_no, key="options")
        if record["answer_idx"] not in LETTERS:
            raise DatasetError(path, f"answer_idx must be A-D, got {record['answer_idx']!r}",
                               line=line_no, key="answer_idx")
        if not isinstance(record["question"], str) or not record["question"].strip():
            raise DatasetError(path, "question must be non-empty text", line=line_no, key="question")
        for letter in LETTERS:
            if not isinstance(options[letter], str):
                raise DatasetError(path, f"option {letter} must be text, got {type(options[letter]).__name__}",
                                   line=line_no, key=f"options.{letter}")
        if "answer" in record and record["answer"] != options[record["answer_idx"]]:
            raise DatasetError(path, "answer text differs from options[answer_idx]", line=line_no, key="answer")
        return ChoiceItem(id=f"medqa-{index:05d}", question=record["question"].strip(),
                          options=tuple(options[k] for k in LETTERS),
                          gold=LETTERS.index(record["answer_idx"]))


DATASETS = {ID: MedQA()}
