"""Results store: round trips, resume after reopening, key isolation, and cache keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcheck.store import ResultStore, cache_key

COMPONENTS = {"model_fingerprint": "ab" * 32, "compression": {"name": "bnb-nf4", "version": "0.45"},
              "dataset_sha256": "cd" * 32, "protocol": "option-text", "prompt_version": 1,
              "loader_version": 1, "dtype": "float32", "medcheck": "0.1.0"}


def records(*ids: str, correct: bool = True) -> list[dict]:
    return [{"item_id": i, "prediction": "A", "gold": "A", "correct": correct, "scores": [-1.5, -2.25]}
            for i in ids]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "dir" / "results.sqlite"


def test_put_get_round_trip(db_path: Path) -> None:
    store = ResultStore(db_path)
    key = cache_key(COMPONENTS)
    assert store.get(key) == {}
    store.put(key, COMPONENTS, records("q1", "q2"))
    got = store.get(key)
    assert got == {r["item_id"]: r for r in records("q1", "q2")}
    assert db_path.is_file()   # parent folders created
    store.close()


def test_records_survive_reopening_and_resume(db_path: Path) -> None:
    key = cache_key(COMPONENTS)
    first = ResultStore(db_path)
    first.put(key, COMPONENTS, records("q1", "q2"))      # chunk 1 committed
    # a run killed here never calls close(); a new process must still see chunk 1
    second = ResultStore(db_path)
    assert set(second.get(key)) == {"q1", "q2"}
    second.put(key, COMPONENTS, records("q3"))
    second.close()
    first.close()
    third = ResultStore(db_path)
    assert set(third.get(key)) == {"q1", "q2", "q3"}
    third.close()


def test_put_replaces_a_record_with_the_same_item_id(db_path: Path) -> None:
    store = ResultStore(db_path)
    store.put("k", COMPONENTS, records("q1", correct=True))
    store.put("k", COMPONENTS, records("q1", correct=False))
    assert store.get("k")["q1"]["correct"] is False and len(store.get("k")) == 1
    store.close()


@pytest.mark.parametrize("path_given", [True, False], ids=["sqlite-file", "in-memory"])
def test_keys_are_isolated(db_path: Path, path_given: bool) -> None:
    store = ResultStore(db_path if path_given else None)
    store.put("key-a", {"x": 1}, records("q1", "q2"))
    store.put("key-b", {"x": 2}, records("q2", "q3", correct=False))
    assert set(store.get("key-a")) == {"q1", "q2"} and store.get("key-a")["q2"]["correct"] is True
    assert set(store.get("key-b")) == {"q2", "q3"} and store.get("key-b")["q2"]["correct"] is False
    assert store.get("key-c") == {}
    store.close()


def test_in_memory_store_is_not_shared_or_persisted(tmp_path: Path) -> None:
    one, two = ResultStore(None), ResultStore(None)
    assert one.path is None
    one.put("k", {}, records("q1"))
    assert set(one.get("k")) == {"q1"} and two.get("k") == {}
    assert list(tmp_path.iterdir()) == []
    one.close()
    two.close()


def test_empty_chunk_is_fine(db_path: Path) -> None:
    store = ResultStore(db_path)
    store.put("k", COMPONENTS, [])
    assert store.get("k") == {}
    store.close()


def test_cache_key_is_stable_and_order_independent() -> None:
    key = cache_key(COMPONENTS)
    assert len(key) == 64 and int(key, 16) >= 0
    assert cache_key(dict(reversed(list(COMPONENTS.items())))) == key
    assert cache_key({**COMPONENTS, "compression": dict(reversed(list(COMPONENTS["compression"].items())))}) == key
    assert cache_key(dict(COMPONENTS)) == key


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_cache_key_changes_with_each_component(component: str) -> None:
    value = COMPONENTS[component]
    changed = ({**value, "version": "other"} if isinstance(value, dict)
               else value + 1 if isinstance(value, int) else value + "x")
    assert cache_key({**COMPONENTS, component: changed}) != cache_key(COMPONENTS)
    assert cache_key({k: v for k, v in COMPONENTS.items() if k != component}) != cache_key(COMPONENTS)


def test_cache_key_accepts_paths_and_distinguishes_types() -> None:
    assert cache_key({"p": Path("/a/b")}) == cache_key({"p": "/a/b"})
    assert cache_key({"limit": 1}) != cache_key({"limit": "1"})
    assert cache_key({"limit": None}) != cache_key({})
