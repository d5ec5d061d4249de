"""TrustLLM truthfulness: CODAH, external claim checks, hallucination (bundled samples, parsing, accuracy)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from medcheck import datasets
from medcheck.datasets.types import TextItem
from medcheck.errors import DatasetError
from tests.datasets.trust_files import REAL_DATA, line_of, real, spec, write

IDS = ("trust_internal_codah", "trust_external", "trust_hallucination")


def test_codah_parse_and_accuracy() -> None:
    s = spec("trust_internal_codah")
    items = [TextItem(f"c{g}", "q", g) for g in (0, 1, 2, 3)]
    assert [s.parse(t, items[0]) for t in ("2", "Answer: 3", "option 1.", "none", "12")] == [2, 3, 1, None, None]
    score = s.score(items, [0, 2, None, 3])
    assert (score.primary, score.value, score.unparsed, score.item_scores) == ("accuracy", 0.5, 1, (1.0, 0.0, 0.0, 1.0))
    assert score.majority_baseline == 0.25


def test_external_reads_one_verdict() -> None:
    s = spec("trust_external")
    item = TextItem("e", "q", "SUPPORT", {"source": "covid"})
    assert [s.parse(t, item) for t in ("Supports", "It refutes the claim", "supports or refutes", "")] == \
        ["SUPPORT", "REFUTE", None, None]
    assert s.answer(item) == "Supports"
    score = s.score([item, TextItem("f", "q", "REFUTE", {"source": "scifact"})], ["SUPPORT", "SUPPORT"])
    assert score.metrics == {"accuracy": 0.5, "accuracy_covid": 1.0, "accuracy_scifact": 0.0}


def test_hallucination_mc_gold_is_the_answer_option(tmp_path: Path) -> None:
    prompt = ("Here is the question: Q?. Here are the options: A. Wrong one.\nB. Right one.\nC. Other.\n\n"
              "Only return me the letter.")
    write(tmp_path, "truthfulness", "hallucination", [
        {"prompt": prompt, "answer": "Right one.", "source": "mc"},
        {"prompt": "judge this", "answer": "No", "source": "halu_qa"}])
    items = spec("trust_hallucination").load(tmp_path)
    assert [i.gold for i in items] == ["B", "No"]
    s = spec("trust_hallucination")
    assert (s.parse("B", items[0]), s.parse("Yes.", items[1]), s.parse("Yes or no", items[1])) == ("B", "Yes", None)
    assert s.score(items, ["B", None]).metrics == {"accuracy": 0.5, "accuracy_halu_qa": 0.0, "accuracy_mc": 1.0}


@pytest.mark.parametrize(("name", "records", "key", "needle"), [
    ("internal_codah", [{"prompt": "p", "answer": 0}, {"prompt": "p", "answer": 4}], "answer", "unexpected value 4"),
    ("external", [{"prompt": "p", "answer": "SUPPORT"}, {"prompt": "p", "answer": "TRUE"}], "answer", "'TRUE'"),
    ("hallucination", [{"prompt": "p", "answer": "Yes", "source": "halu_qa"},
                       {"prompt": "options: A. x\nB. y\n\n", "answer": "z", "source": "mc"}],
     "answer", "none of the options"),
    ("hallucination", [{"prompt": "p", "answer": "Yes", "source": "halu_qa"},
                       {"prompt": "p", "answer": "Yes", "source": "wiki"}], "source", "'wiki'"),
])
def test_bad_record_names_line_and_key(tmp_path: Path, name: str, records: list, key: str, needle: str) -> None:
    path = write(tmp_path, "truthfulness", name, records)
    with pytest.raises(DatasetError) as info:
        spec(f"trust_{name}").load(tmp_path)
    assert (info.value.line, info.value.key) == (line_of(path, 1), key) and needle in str(info.value)


@pytest.mark.skipif(not real("trust_hallucination"), reason=f"no TrustLLM truthfulness files in {REAL_DATA}")
def test_real_files() -> None:
    counts = {d: datasets.load(d, REAL_DATA).n for d in IDS}
    assert counts == {"trust_internal_codah": 100, "trust_external": 400, "trust_hallucination": 652}
    golds = Counter(i.gold for i in datasets.load("trust_hallucination", REAL_DATA).items)
    assert golds == {"A": 352, "Yes": 150, "No": 150}
