"""MedXpertQA Text, expert-level 10-option questions (Zuo et al., 2025), MIT license.

Release: github.com/TsinghuaC3I/MedXpertQA (and the Hugging Face card TsinghuaC3I/MedXpertQA),
`Text/test.jsonl`, read here as `<data dir>/medxpertqa/Text/test.jsonl` (2,450 items: Reasoning
1,861, Understanding 589). JSON lines: id (Text-N), question (the stem, then
"\\nAnswer Choices: (A) ... (J) ..."), options {A..J}, label (a letter), question_type
(Reasoning / Understanding); the official file also has medical_task and body_system.
The two question types are CMedBench's two datasets. The "Answer Choices:" tail is cut from
the question so that prompts do not show the options twice; the `options` mapping is the
authority (a few real items list slightly different inline choices).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medcheck.datasets.types import ChoiceItem, UniqueIds, json_lines, require_file
from medcheck.errors import DatasetError

TRACK = "application"
LOADER_VERSION = 1
RELATIVE = "medxpertqa/Text/test.jsonl"
QUESTION_TYPES = ("Reasoning", "Understanding")
LETTERS = tuple(string.ascii_uppercase[:21])   # Text has A..J; accept up to U like the other loaders
CHOICES_MARK = "Answer Choices:"
EXPECTED = "id, question, options {A..J}, label, question_type (Reasoning / Understanding)"


def stem(question: str) -> str:
    """The question without its trailing "Answer Choices: (A) ..." list."""
    cut = question.rfind(CHOICES_MARK)
    return (question[:cut] if cut >= 0 else question).strip()


@dataclass(frozen=True)
class MedXpertQASplit:
    question_type: str
    track: str = TRACK
    dimension: str = "EUR"        # CMedBench: expert-level understanding and reasoning
    loader_version: int = LOADER_VERSION
    relative_path: str = RELATIVE
    prompt_style: str = "qa"
    kind = "choice"           # task kind (medcheck.task_kinds): the options' log-likelihood

    @property
    def id(self) -> str:
        return f"medxpertqa_{self.question_type.lower()}"

    def load(self, root: Path) -> list[ChoiceItem]:
        path = require_file(root, RELATIVE, self.id)
        items: list[ChoiceItem] = []
        ids = UniqueIds(path)
        for line_no, record in json_lines(path):
            # every line is validated, also those of the other question type
            question_type, item = _item(path, line_no, record, len(ids))
            ids.add(item.id, line_no)
            if question_type == self.question_type:
                items.append(item)
        if not items:
            raise DatasetError(path, f"no {self.question_type} questions found")
        return items


def _item(path: Path, line_no: int, record: dict[str, Any], index: int) -> tuple[str, ChoiceItem]:
    for key in ("question", "options", "label", "question_type"):
        if key not in record:
            raise DatasetError(path, "missing key", line=line_no, key=key, expected=EXPECTED)
    if record["question_type"] not in QUESTION_TYPES:
        raise DatasetError(path, f"question_type must be Reasoning or Understanding, got {record['question_type']!r}",
                           line=line_no, key="question_type")
    options = record["options"]
    letters = LETTERS[:len(options)] if isinstance(options, dict) else ()
    if not isinstance(options, dict) or len(options) < 2 or sorted(options) != list(letters):
        raise DatasetError(path, "options must map the letters A, B, ... (no gaps, at most U) to texts",
                           line=line_no, key="options", expected=EXPECTED)
    if not all(isinstance(options[k], str) for k in letters):
        raise DatasetError(path, "every option must be text", line=line_no, key="options")
    if not isinstance(record["label"], str) or record["label"] not in options:
        raise DatasetError(path, f"label must be one of A-{letters[-1]}, got {record['label']!r}",
                           line=line_no, key="label")
    if not isinstance(record["question"], str) or not stem(record["question"]):
        raise DatasetError(path, "question must be text with a stem before 'Answer Choices:'",
                           line=line_no, key="question")
    item_id = record.get("id")
    item = ChoiceItem(id=str(item_id) if item_id not in (None, "") else f"medxpertqa-{index:05d}",
                      question=stem(record["question"]), options=tuple(options[k].strip() for k in letters),
                      gold=letters.index(record["label"]), labels=letters)
    return record["question_type"], item


DATASETS = {s.id: s for s in (MedXpertQASplit(t) for t in QUESTION_TYPES)}
