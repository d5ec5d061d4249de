"""MMLU health subjects (Hendrycks et al., ICLR 2021), MIT license.

Release: people.eecs.berkeley.edu/~hendrycks/data.tar, `test/<subject>_test.csv`, here read as
`<data dir>/mmlu/test/<subject>_test.csv`. CSV without a header: question, A, B, C, D, answer
(A-D); fields may hold quoted commas and newlines. CMedBench's MMLU_AN/CK/CB/CM/MG/PM.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from medcheck.datasets.types import ChoiceItem, csv_rows, require_file
from medcheck.errors import DatasetError

LOADER_VERSION = 1
TRACK = "knowledge"
SUBJECTS = ("anatomy", "clinical_knowledge", "college_biology", "college_medicine",
            "medical_genetics", "professional_medicine")
LETTERS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class MMLUSubject:
    subject: str
    track: str = TRACK
    dimension: str = "GMK"        # CMedBench: general medical knowledge
    loader_version: int = LOADER_VERSION
    prompt_style: str = "mmlu"
    kind = "choice"           # task kind (medcheck.task_kinds): the options' log-likelihood

    @property
    def id(self) -> str:
        return f"mmlu_{self.subject}"

    @property
    def relative_path(self) -> str:
        return f"mmlu/test/{self.subject}_test.csv"

    def load(self, root: Path) -> list[ChoiceItem]:
        path = require_file(root, self.relative_path, self.id)
        items: list[ChoiceItem] = []
        for line, row in csv_rows(path):   # line: physical line where this record starts
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != 6:
                raise DatasetError(path, f"expected 6 fields, got {len(row)}", line=line,
                                   expected="question,A,B,C,D,answer (no header row)")
            question, *options, answer = row
            if not question.strip():
                raise DatasetError(path, "empty question (field 1)", line=line)
            answer = answer.strip()
            if answer not in LETTERS:
                raise DatasetError(path, f"answer must be one of A-D, got {answer!r}", line=line)
            items.append(ChoiceItem(id=f"{self.subject}-{len(items):04d}", question=question.strip(),
                                    options=tuple(options), gold=LETTERS.index(answer),
                                    subject=self.subject.replace("_", " ")))
        if not items:
            raise DatasetError(path, "no questions found")
        return items


DATASETS = {s.id: s for s in (MMLUSubject(name) for name in SUBJECTS)}
