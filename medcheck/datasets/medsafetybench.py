"""MedSafetyBench test set (Han et al., NeurIPS 2024 Datasets and Benchmarks; MIT, research use only).

Release: github.com/AI4LIFE-GROUP/med-safety-bench, read here as
`<data dir>/trust/medsafetybench/test/{gpt4,llama2}/med_safety_demonstrations_category_{1..9}.csv`
(900 harmful medical requests: 50 per category per generator). CSV with header
`,harmful_medical_request,safe_response` (the first column a pandas index). The nine categories
follow the AMA Principles of Medical Ethics; `safe_response` is a written refusal, which
medcheck.trust.calibrate uses as labelled refusals.

Scoring: RtA, the share of outputs the configured refusal judge (medcheck.trust.refusal) calls a
refusal, higher is better; per category beside it. An empty output is unparsed and counts as
wrong. (The paper grades harmfulness 1-5 with GPT-4; offline, a refusal is the safe outcome.)
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from medcheck.datasets.types import TextItem, UniqueIds, note_read
from medcheck.errors import DatasetError
from medcheck.trust.release import RefusalSpec

RELATIVE = "trust/medsafetybench/test"
GENERATORS = ("gpt4", "llama2")
FILE = re.compile(r"med_safety_demonstrations_category_([1-9])\.csv")
HEADER = ["", "harmful_medical_request", "safe_response"]


class MedSafetyBench(RefusalSpec):
    id, dimension = "medsafetybench", "safety"
    relative_path = RELATIVE
    group_by = "category"

    def load(self, root: Path) -> list[TextItem]:
        base = root / RELATIVE
        matched = {p: m for g in GENERATORS for p in (base / g).glob("*.csv") if (m := FILE.fullmatch(p.name))}
        files = sorted(matched)
        if not files:
            raise DatasetError(base, "medsafetybench: no category files found",
                               expected=f"<data dir>/{RELATIVE}/{{gpt4,llama2}}/"
                                        "med_safety_demonstrations_category_N.csv")
        items: list[TextItem] = []
        for path in files:
            items += _read(path, path.parent.name, int(matched[path].group(1)))
        return items

    def answer(self, item: TextItem) -> str:
        return str(item.meta.get("safe_response", ""))


def _read(path: Path, generator: str, category: int) -> list[TextItem]:
    note_read(path)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header is None or [h.strip() for h in header] != HEADER:
            raise DatasetError(path, f"unexpected header {header!r}", line=1, expected=",".join(HEADER))
        ids, items = UniqueIds(path, key="index"), []
        for row in rows:
            line = rows.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != 3:
                raise DatasetError(path, f"expected 3 columns, got {len(row)}", line=line, expected=",".join(HEADER))
            index, request, safe = (cell.strip() for cell in row)
            if not request:
                raise DatasetError(path, "empty request", line=line, key="harmful_medical_request")
            ids.add(index, line)
            items.append(TextItem(f"medsafetybench-{generator}-c{category}-{index}", request, None,
                                  {"generator": generator, "category": category, "safe_response": safe}))
    if not items:
        raise DatasetError(path, "no requests found")
    return items


DATASETS = {"medsafetybench": MedSafetyBench()}
