"""Few-shot examples: from the dev pool where there is one; where not, from items of the evaluated
split that are not evaluated (said in a note); never an evaluated item; an error where none are
left; and the examples' identity is part of the store key."""

from __future__ import annotations

import shutil

import pytest

from medcheck.datasets import SAMPLES_DIR
from medcheck.errors import ConfigError
from medcheck.evaluate import Evaluator
from medcheck.models import resolve
from medcheck.pairs import PairsFile
from medcheck.settings import Settings
from medcheck.store import ResultStore

MEDQA = "medqa/questions/US/4_options"


def _evaluator(tmp_path, tiny_model_dir, data_dir=None, limit=4, **settings):
    pairs = PairsFile("test", "option-text", {"tiny": str(tiny_model_dir)}, ("rtn-w8",))
    s = Settings(limit=limit, cache_dir=tmp_path / "cache", dtype="float32", data_dir=data_dir, **settings)
    return Evaluator(s, pairs, ResultStore(None))


def _key(ev, dataset_id):
    return ev.components(resolve(ev.pairs.models["tiny"], ev.settings.cache_dir), "dense", ev.dataset(dataset_id))


@pytest.fixture
def no_dev(tmp_path):
    """A data dir holding MedQA's test file only, as some releases ship it."""
    target = tmp_path / "data" / MEDQA
    target.mkdir(parents=True)
    shutil.copy(SAMPLES_DIR / MEDQA / "phrases_no_exclude_test.jsonl", target)
    return tmp_path / "data"


def test_shots_come_from_the_dev_pool_when_there_is_one(tmp_path, tiny_model_dir):
    ev = _evaluator(tmp_path, tiny_model_dir, strategy="few-shot", shots=3)
    dataset = ev.dataset("medqa_gen")
    shots = ev.shots(dataset)
    assert len(shots) == 3 and all(s.id.startswith("medqa-dev-") for s in shots) and not ev.shot_sources
    assert "shots" in _key(ev, "medqa_gen")


def test_without_a_dev_pool_shots_are_unevaluated_test_items_and_a_note_says_so(tmp_path, tiny_model_dir, no_dev):
    ev = _evaluator(tmp_path, tiny_model_dir, data_dir=no_dev, strategy="few-shot", shots=3)
    dataset = ev.dataset("medqa_gen")
    shots = ev.shots(dataset)
    assert len(shots) == 3 and not {s.id for s in shots} & {i.id for i in dataset.items}
    assert "no dev pool" in ev.shot_sources["medqa_gen"]
    with_dev = _evaluator(tmp_path, tiny_model_dir, strategy="few-shot", shots=3)   # same test file, a dev pool
    mine, theirs = _key(ev, "medqa_gen"), _key(with_dev, "medqa_gen")
    assert mine["release_sha256"] == theirs["release_sha256"] and mine["strategy"] == theirs["strategy"]
    assert mine["shots"] != theirs["shots"]               # other examples: never the other run's records


def test_no_examples_left_is_a_located_error(tmp_path, tiny_model_dir, no_dev):
    ev = _evaluator(tmp_path, tiny_model_dir, data_dir=no_dev, limit=None, strategy="few-shot", shots=3)
    with pytest.raises(ConfigError, match="(?s)medqa_gen.*few-shot.*dev split"):
        ev.shots(ev.dataset("medqa_gen"))


def test_zero_shot_has_no_shots_and_no_shots_key(tmp_path, tiny_model_dir):
    ev = _evaluator(tmp_path, tiny_model_dir)
    assert ev.shots(ev.dataset("medqa_gen")) == [] and "shots" not in _key(ev, "medqa_gen")
