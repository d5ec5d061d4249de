"""The gate sees real damage on real MMLU health items (skips where ../shared/data is absent).

SmolLM2-135M scores near chance on MMLU (about 28% on 4 options), so accuracy alone separates
settings weakly; the per-item records show the damage plainly: a destructive setting
(ShortGPT removing 25% of the layers) changes about a third of the dense model's answers and
lowers its accuracy, while 8-bit weights change about one answer in twenty.
"""

from __future__ import annotations

import pytest

from medcheck.datasets import MMLU_IDS
from medcheck.evaluate import Evaluator
from medcheck.pairs import Pair, PairsFile
from medcheck.settings import Settings
from medcheck.store import ResultStore
from tests.conftest import SHARED_DATA, USER_CACHE

pytestmark = pytest.mark.skipif(not (SHARED_DATA / "mmlu").is_dir(), reason="real MMLU files not present")


@pytest.fixture(scope="module")
def outcomes(embedded_dir):
    settings = Settings(data_dir=SHARED_DATA, limit=30, cache_dir=USER_CACHE)
    pairs = PairsFile("test", "option-text", {"smollm2-135m": "embedded:smollm2-135m"}, ("shortgpt-25", "bnb-int8"))
    evaluator = Evaluator(settings, pairs, ResultStore(USER_CACHE / "results.sqlite"))
    out = {}
    for compression in pairs.compressions:
        results = [evaluator.evaluate(Pair("smollm2-135m", "embedded:smollm2-135m", compression), d) for d in MMLU_IDS]
        dense = [r for res in results for r in res.dense.records]
        cand = [r for res in results for r in res.candidate.records]
        out[compression] = {"dense_acc": sum(r.correct for r in dense) / len(dense),
                            "acc": sum(r.correct for r in cand) / len(cand),
                            "agreement": sum(a.prediction == b.prediction for a, b in zip(dense, cand)) / len(dense)}
    return out


def test_shortgpt_25_is_damaged(outcomes):
    o = outcomes["shortgpt-25"]
    assert o["acc"] < o["dense_acc"], outcomes
    assert o["agreement"] < 0.8, outcomes


def test_bnb_int8_stays_close(outcomes):
    o = outcomes["bnb-int8"]
    assert abs(o["acc"] - o["dense_acc"]) < 0.03 and o["agreement"] > 0.9, outcomes
    assert o["agreement"] > outcomes["shortgpt-25"]["agreement"] + 0.15
