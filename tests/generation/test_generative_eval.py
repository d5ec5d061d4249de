"""Generative datasets through the real evaluator and HF backend on a tiny random model:
records are stored per item and never generated twice, the strategy is part of the store key,
unread outputs are counted, and the gate's results compare the task's primary metric."""

from __future__ import annotations

import pytest

from medcheck.evaluate import Evaluator
from medcheck.pairs import Pair, PairsFile
from medcheck.settings import Settings
from medcheck.store import ResultStore
from medcheck.strategies import Strategy

DATASETS = ("medqa_gen", "ddi", "trust_jailbreak")


def evaluator(tmp_path, tiny_model_dir, **settings):
    pairs = PairsFile("test", "option-text", {"tiny": str(tiny_model_dir)}, ("rtn-w8",))
    s = Settings(limit=4, cache_dir=tmp_path, dtype="float32", **settings)
    return Evaluator(s, pairs, ResultStore(tmp_path / "results.sqlite"),
                     budgets=lambda d: {"max_new_tokens": 6})


@pytest.fixture(scope="module")
def first(tmp_path_factory, tiny_model_dir):
    tmp = tmp_path_factory.mktemp("gen")
    ev = evaluator(tmp, tiny_model_dir)
    pair = Pair("tiny", str(tiny_model_dir), "rtn-w8")
    return tmp, {d: ev.evaluate(pair, d) for d in DATASETS}


def test_every_item_has_a_record_with_its_text_and_outcome(first):
    _, results = first
    for result in results.values():
        for run in (result.dense, result.candidate):
            assert [r.item_id for r in run.records] == [i.id for i in result.dataset.items]
            assert all(r.texts and r.prompt and r.new_tokens <= 6 for r in run.records)
            s = run.summary
            assert s.unparsed == sum(r.parsed is None for r in run.records)   # a random model mostly babbles
            assert 0.0 <= s.value <= 1.0 and s.n == 4
        assert "cps" in result.scores() and result.scores()["metric"] == result.dense.summary.primary


def test_a_rerun_generates_nothing(first, tiny_model_dir):
    tmp, results = first
    ev = evaluator(tmp, tiny_model_dir)
    pair = Pair("tiny", str(tiny_model_dir), "rtn-w8")
    again = ev.evaluate(pair, "ddi")
    assert again.candidate.cached_items == again.dataset.n and not ev.load_info
    assert [r.texts for r in again.candidate.records] == [r.texts for r in results["ddi"].candidate.records]


def test_the_strategy_is_part_of_the_key_and_recorded(first, tiny_model_dir):
    tmp, results = first
    ev = evaluator(tmp, tiny_model_dir, strategy="few-shot", shots=2)
    few = ev.evaluate(Pair("tiny", str(tiny_model_dir), "rtn-w8"), "ddi")
    assert few.dense.cache_key != results["ddi"].dense.cache_key and few.candidate.cached_items == 0
    assert few.candidate.strategy == "few-shot"
    assert few.dense.records[0].prompt.count("Answer:") >= 2   # two solved examples precede the item
    trust = ev.evaluate(Pair("tiny", str(tiny_model_dir), "rtn-w8"), "trust_jailbreak")
    assert trust.candidate.strategy == "zero-shot"             # trust probes are zero-shot by design


def test_self_consistency_draws_and_votes(tmp_path, tiny_model_dir):
    ev = evaluator(tmp_path, tiny_model_dir, strategy="self-consistency", samples=3, temperature=1.0)
    # a short chain
    ev.prompting.base_strategy = Strategy("self-consistency", samples=3, temperature=1.0, reasoning_tokens=8)
    result = ev.evaluate(Pair("tiny", str(tiny_model_dir), "rtn-w8"), "medqa_gen")
    for r in result.dense.records:
        assert len(r.texts) == 3 and r.votes <= 3
        assert (r.parsed is None) == (r.votes == 0)


def test_the_instruction_read_from_the_data_dir_is_part_of_the_store_key(tmp_path, tiny_model_dir):
    """A release's prompt.txt is read from the data dir: another text must not reuse records made under
    the first (the item files, and so their hash, are the same)."""
    from medcheck import datasets

    folder = tmp_path / "data" / "bionlp" / "DDI"
    folder.mkdir(parents=True)
    for name in ("test.tsv", "sample200.tsv"):   # the bundled sample's items as a release folder
        (folder / name).write_bytes((datasets.SAMPLES_DIR / "bionlp" / "DDI" / name).read_bytes())
    ev = evaluator(tmp_path, tiny_model_dir, data_dir=tmp_path / "data")
    ds = ev.dataset("ddi")
    keys = []
    for text in ("TASK: classify DDI-effect DDI-mechanism DDI-advise DDI-int DDI-false.",
                 "TASK: label the drug pair: DDI-effect, DDI-mechanism, DDI-advise, DDI-int or DDI-false."):
        (folder / "prompt.txt").write_text(text, encoding="utf-8")
        keys.append(ev.prompting.components(ds)["instruction"])
        assert ev.prompting.prompts(ds, list(ds.items[:1]))[0].count(text) == 1
    assert keys[0] != keys[1]
