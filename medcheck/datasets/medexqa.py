"""MedExQA, five under-represented medical specialties (Kim et al., BioNLP 2024), CC BY-NC-SA 4.0.

Release: github.com/knowlab/MedExQA (and the Hugging Face card bluesky333/MedExQA),
`test/<specialty>_test.tsv`, read here as `<data dir>/medexqa/test/<specialty>_test.tsv`.
TSV without a header, 8 columns: question, A, B, C, D, explanation 1, explanation 2, answer (A-D).
Fields holding quotes are CSV-quoted (pandas' writer), so a real CSV reader with a tab
delimiter reads them. Test sizes: 143, 372, 106, 189, 130. CMedBench's AME dimension.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from medcheck.datasets.types import ChoiceItem, csv_rows, require_file
from medcheck.errors import DatasetError

LOADER_VERSION = 1
TRACK = "application"
SPECIALTIES = ("biomedical_engineer", "clinical_laboratory_scientist", "clinical_psychologist",
               "occupational_therapist", "speech_pathologist")
LETTERS = ("A", "B", "C", "D")
FIELDS = 8


@dataclass(frozen=True)
class MedExQASpecialty:
    specialty: str
    track: str = TRACK
    dimension: str = "AME"        # CMedBench: application in medical expertise (specialty exams)
    loader_version: int = LOADER_VERSION
    prompt_style: str = "qa"
    kind = "choice"           # task kind (medcheck.task_kinds): the options' log-likelihood

    @property
    def id(self) -> str:
        return f"medexqa_{self.specialty}"

    @property
    def relative_path(self) -> str:
        return f"medexqa/test/{self.specialty}_test.tsv"

    def load(self, root: Path) -> list[ChoiceItem]:
        path = require_file(root, self.relative_path, self.id)
        items: list[ChoiceItem] = []
        for line, row in csv_rows(path, delimiter="\t"):   # line: physical line where this record starts
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != FIELDS:
                raise DatasetError(path, f"expected {FIELDS} tab-separated fields, got {len(row)}", line=line,
                                   expected="question, A, B, C, D, explanation 1, explanation 2, answer")
            question, *options = row[:5]
            answer = row[7].strip()
            if answer not in LETTERS:
                raise DatasetError(path, f"answer (column 8) must be one of A-D, got {answer!r}", line=line)
            if not question.strip():
                raise DatasetError(path, "empty question (column 1)", line=line)
            items.append(ChoiceItem(id=f"{self.specialty}-{len(items):04d}", question=question.strip(),
                                    options=tuple(o.strip() for o in options), gold=LETTERS.index(answer),
                                    subject=self.specialty.replace("_", " ")))
        if not items:
            raise DatasetError(path, "no questions found")
        return items


DATASETS = {s.id: s for s in (MedExQASpecialty(name) for name in SPECIALTIES)}
