"""PubMedQA PQA-L asked generatively: yes / no / maybe is generated and parsed.

Same release files and items as `medcheck.datasets.pubmed_qa` (Jin et al., EMNLP 2019, MIT
license; `<data dir>/pubmed_qa/ori_pqal.json` and `test_ground_truth.json`, or under `pubmed_qa/data/`,
`pubmedqa/`, `pubmedqa/data/`;
500 test items).
Few-shot examples are the labelled PQA-L items outside the test split (the other 500 of
ori_pqal.json). Gold is the decision; scored by accuracy (macro F1 over the three decisions beside it).
"""

from __future__ import annotations

from pathlib import Path

from medcheck.datasets.pubmed_qa import DECISIONS, PubMedQA, _read_json, folder_in
from medcheck.datasets.qa_gen import GenerativeQA
from medcheck.datasets.types import ChoiceItem
from medcheck.errors import DatasetError

ID = "pubmed_qa_gen"
INSTRUCTION = ("Answer the biomedical research question using the abstract it comes from. "
               "Answer with one word: yes, no or maybe.")


def non_test_items(root: Path) -> list[ChoiceItem]:
    """Labelled PQA-L items whose PMID is not in the test ground truth. A record that is not one
    (no lower-case yes/no/maybe decision, contexts that are not texts) is an error naming its PMID
    and key, as in the test split: a few-shot pool never shrinks without a word."""
    folder = folder_in(root)
    if folder is None:
        return []
    records_path, truth_path = root / folder / "ori_pqal.json", root / folder / "test_ground_truth.json"
    if not truth_path.is_file():
        return []
    records, truth = _read_json(records_path), _read_json(truth_path)
    if not isinstance(records, dict) or not isinstance(truth, dict):
        raise DatasetError(records_path if not isinstance(records, dict) else truth_path,
                           "expected a JSON object keyed by PMID")
    items = []
    for pmid, r in records.items():
        if pmid in truth:
            continue
        if not isinstance(r, dict):
            raise DatasetError(records_path, f"expected an object, got {type(r).__name__}", key=pmid)
        if r.get("final_decision") not in DECISIONS:
            raise DatasetError(records_path, f"final_decision must be yes/no/maybe, got {r.get('final_decision')!r}",
                               key=f"{pmid}.final_decision", expected="the release's lower-case labels")
        if not isinstance(r.get("QUESTION"), str) or not r["QUESTION"].strip():
            raise DatasetError(records_path, "expected the question as (non-empty) text", key=f"{pmid}.QUESTION")
        if not isinstance(r.get("CONTEXTS"), list) or not all(isinstance(c, str) for c in r["CONTEXTS"]):
            raise DatasetError(records_path, "expected a list of texts", key=f"{pmid}.CONTEXTS")
        items.append(ChoiceItem(id=str(pmid), question=r["QUESTION"], options=DECISIONS, labels=DECISIONS,
                                gold=DECISIONS.index(r["final_decision"]), context="\n".join(r["CONTEXTS"])))
    return items


DATASETS = {ID: GenerativeQA(ID, PubMedQA(), INSTRUCTION, shots=non_test_items)}
