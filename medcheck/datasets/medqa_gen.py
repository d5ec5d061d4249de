"""MedQA (USMLE, 4 options) asked generatively: the answer letter is generated and parsed.

Same release files and items as `medcheck.datasets.medqa` (Jin et al., Applied Sciences 2021,
MIT license; `<data dir>/medqa/questions/US/4_options/phrases_no_exclude_test.jsonl`, 1,273 items).
Few-shot examples come from the release's `phrases_no_exclude_dev.jsonl` beside it when present.
Gold is the letter; scored by accuracy (macro F1 over the letters beside it).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from medcheck.datasets.medqa import RELATIVE, ZIP_LEVEL, MedQA
from medcheck.datasets.qa_gen import GenerativeQA
from medcheck.datasets.types import ChoiceItem, json_lines

ID = "medqa_gen"
INSTRUCTION = ("The following is a multiple-choice question from the United States Medical Licensing "
               "Examination. Choose the single best option and answer with its letter only (A, B, C or D).")


def dev_items(root: Path) -> list[ChoiceItem]:
    """The release's dev split, ids prefixed so that no shot shares an id with a test item."""
    for relative in (ZIP_LEVEL, RELATIVE):
        path = root / relative.replace("_test.jsonl", "_dev.jsonl")
        if path.is_file():
            items = [MedQA._item(path, line_no, record, i) for i, (line_no, record) in enumerate(json_lines(path))]
            return [replace(item, id=item.id.replace("medqa-", "medqa-dev-")) for item in items]
    return []


DATASETS = {ID: GenerativeQA(ID, MedQA(), INSTRUCTION, shots=dev_items)}
