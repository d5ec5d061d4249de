"""PubMedQA PQA-L (Jin et al., EMNLP 2019), MIT license.

Release: github.com/pubmedqa/pubmedqa, `data/ori_pqal.json` (1,000 expert-labelled items keyed by
PMID: QUESTION, CONTEXTS, LABELS, MESHES, YEAR, final_decision, LONG_ANSWER) and
`data/test_ground_truth.json` (PMID -> yes/no/maybe for the 500 test items), read here from
`<data dir>/pubmed_qa/` or, as the repository keeps them, `<data dir>/pubmed_qa/data/`; a clone
named as the repository (`pubmedqa/`, `pubmedqa/data/`) is found too (both files from one folder).
The test split is the ground-truth file's PMIDs: the 500 test items, as lm-eval scores them
(CMedBench scores all 1,000 labelled ones, so its PubMedQA figures are not comparable item for
item). The dataset id is the Hugging Face name `pubmed_qa`, so that `pytest -k medqa` does not select it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medcheck.datasets.types import ChoiceItem, parse_json, read_text, require_file
from medcheck.errors import DatasetError

ID = "pubmed_qa"
TRACK = "knowledge"
LOADER_VERSION = 1
DECISIONS = ("yes", "no", "maybe")
# the files as given, or the data/ folder of the repository (github.com/pubmedqa/pubmedqa) under
# its dataset name or as cloned
FOLDERS = ("pubmed_qa", "pubmed_qa/data", "pubmedqa", "pubmedqa/data")


def folder_in(root: Path) -> str | None:
    """The folder under `root` that holds the release's ori_pqal.json, or None."""
    return next((f for f in FOLDERS if (root / f / "ori_pqal.json").is_file()), None)


def _read_json(path: Path) -> Any:
    return parse_json(path, read_text(path))


class PubMedQA:
    id = ID
    track = TRACK
    dimension = "BLC"             # CMedBench: biomedical literature comprehension
    loader_version = LOADER_VERSION
    relative_path = "pubmed_qa/ori_pqal.json"
    release_paths = tuple(f"{folder}/ori_pqal.json" for folder in FOLDERS)
    prompt_style = "abstract"
    kind = "choice"           # task kind (medcheck.task_kinds): the options' log-likelihood

    def load(self, root: Path) -> list[ChoiceItem]:
        folder = folder_in(root)
        if folder is None:
            raise DatasetError(root / FOLDERS[0] / "ori_pqal.json", f"{ID}: file not found",
                               expected=" or ".join(f"<data dir>/{f}/ori_pqal.json" for f in FOLDERS)
                               + ", with test_ground_truth.json beside it (the release layout)")
        records_path = require_file(root, f"{folder}/ori_pqal.json", ID)
        truth_path = require_file(root, f"{folder}/test_ground_truth.json", ID)
        records, truth = _read_json(records_path), _read_json(truth_path)
        if not isinstance(records, dict) or not isinstance(truth, dict):
            raise DatasetError(records_path if not isinstance(records, dict) else truth_path,
                               "expected a JSON object keyed by PMID")
        items = []
        for pmid, label in truth.items():
            if label not in DECISIONS:
                raise DatasetError(truth_path, f"label must be yes/no/maybe, got {label!r}", key=pmid,
                                   expected="the release's lower-case labels: yes, no or maybe")
            if pmid not in records:
                raise DatasetError(records_path, "test PMID from test_ground_truth.json not found", key=pmid)
            record = records[pmid]
            if not isinstance(record, dict):
                raise DatasetError(records_path, f"expected an object, got {type(record).__name__}", key=pmid)
            for key in ("QUESTION", "CONTEXTS"):
                if key not in record:
                    raise DatasetError(records_path, "missing key", key=f"{pmid}.{key}")
            if not isinstance(record["QUESTION"], str) or not record["QUESTION"].strip():
                raise DatasetError(records_path, "QUESTION must be non-empty text", key=f"{pmid}.QUESTION")
            contexts = record["CONTEXTS"]
            if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
                raise DatasetError(records_path, "CONTEXTS must be a list of strings", key=f"{pmid}.CONTEXTS")
            items.append(ChoiceItem(id=str(pmid), question=record["QUESTION"], options=DECISIONS,
                                    labels=DECISIONS, gold=DECISIONS.index(label),
                                    context="\n".join(contexts)))
        if not items:
            raise DatasetError(truth_path, "no test PMIDs found")
        return items


DATASETS = {ID: PubMedQA()}
