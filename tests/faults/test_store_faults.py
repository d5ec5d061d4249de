"""The results store under faults: concurrent writer processes, and store files that are broken."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import time
from pathlib import Path

import pytest

from medcheck.store import ResultStore

KEYS = [f"key-{k}" for k in range(4)]
CHUNK = 8


def record(item: int) -> dict:
    # deterministic in the item, like a real score: two writers of one item write the same record
    return {"item_id": f"q{item:04d}", "correct": item % 3 == 0, "scores": [-item / 7, -1.25]}


def _writer(path: str, items: list[int], start: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    store = ResultStore(Path(path))
    start.wait(30)
    for at in range(0, len(items), CHUNK):
        for key in KEYS:
            store.put(key, {"key": key}, [record(i) for i in items[at:at + CHUNK]])
    store.close()


def test_two_processes_writing_overlapping_keys_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    # both open the store at once, then write the same keys; items 120-239 are written by both
    plans = [list(range(240)), list(range(239, 119, -1)) + list(range(240, 360))]
    writers = [context.Process(target=_writer, args=(str(path), plan, start)) for plan in plans]
    for w in writers:
        w.start()
    start.set()
    for w in writers:
        w.join(120)
    assert [w.exitcode for w in writers] == [0, 0]
    store = ResultStore(path)
    for key in KEYS:
        assert store.get(key) == {record(i)["item_id"]: record(i) for i in range(360)}
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM records").fetchone() == (len(KEYS) * 360,)
    assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (len(KEYS),)
    db.close()
    store.close()


def _healthy(path: Path) -> None:
    store = ResultStore(path)
    store.put("k", {"x": 1}, [record(i) for i in range(300)])
    store.close()


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage_header(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(os.urandom(4096) + data[4096:])


def _garbage_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[8192:12288] = bytes(range(256)) * 16
    path.write_bytes(bytes(data))


def _not_sqlite(path: Path) -> None:
    path.write_text("item_id,correct\nq1,true\n")


def _wrong_schema(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE records; CREATE TABLE records (key TEXT, payload BLOB);")
    db.close()


BREAKAGES = {"truncated": _truncate, "garbage-header": _garbage_header, "garbage-page": _garbage_page,
             "not-sqlite": _not_sqlite, "wrong-schema": _wrong_schema}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_broken_store_is_set_aside_reported_and_rebuilt(tmp_path: Path, breakage: str) -> None:
    path = tmp_path / "results.sqlite"
    _healthy(path)
    BREAKAGES[breakage](path)
    broken = path.read_bytes()
    with pytest.warns(UserWarning, match=r"results store unreadable .* moved to .*results\.sqlite\.corrupt-"):
        store = ResultStore(path)
    assert store.set_aside is not None and store.set_aside.parent == tmp_path
    assert store.set_aside.read_bytes() == broken     # kept for inspection, untouched
    assert store.get("k") == {}                       # rebuilt empty ...
    store.put("k", {"x": 1}, [record(1)])             # ... and usable
    store.close()
    reopened = ResultStore(path)
    assert reopened.set_aside is None and reopened.get("k") == {"q0001": record(1)}
    reopened.close()


def test_healthy_store_is_not_set_aside(tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    path = tmp_path / "results.sqlite"
    _healthy(path)
    store = ResultStore(path)
    assert store.set_aside is None and len(store.get("k")) == 300
    store.close()
    assert not list(tmp_path.glob("*.corrupt-*")) and not recwarn.list


def test_a_record_that_no_longer_parses_is_dropped_and_rescored(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    _healthy(path)
    db = sqlite3.connect(path)
    db.execute("UPDATE records SET record = ? WHERE item_id = 'q0007'", (b"\xff{not json",))
    db.execute("UPDATE records SET record = ? WHERE item_id = 'q0008'", (json.dumps(record(9)),))
    db.commit()
    db.close()
    store = ResultStore(path)
    with pytest.warns(UserWarning, match="2 stored record"):
        got = store.get("k")
    assert set(got) == {record(i)["item_id"] for i in range(300)} - {"q0007", "q0008"}
    store.put("k", {"x": 1}, [record(7), record(8)])   # the rerun replaces them
    assert store.get("k") == {record(i)["item_id"]: record(i) for i in range(300)}
    store.close()


def test_a_locked_store_is_waited_for_not_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    _healthy(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO runs VALUES ('other', '{}')")
    store = ResultStore(path)                     # reading beside a writer is fine in WAL mode
    assert len(store.get("k")) == 300 and store.set_aside is None
    holder.execute("COMMIT")
    store.put("k", {"x": 1}, [record(1)])
    holder.close()
    store.close()


def _claimer(path: str, key: str, held: multiprocessing.synchronize.Event, die: bool) -> None:  # type: ignore[name-defined]
    store = ResultStore(Path(path))
    with store.claim(key):
        held.set()
        time.sleep(1.0)
        if die:
            os._exit(1)   # killed mid-scoring: the kernel drops the claim with the process
        store.put(key, {"key": key}, [record(i) for i in range(5)])
    store.close()


def _claimed_elsewhere(path: Path, key: str, die: bool) -> tuple[multiprocessing.process.BaseProcess, ResultStore]:
    """A second process holding `key`'s claim (for about a second), and this process's store."""
    context = multiprocessing.get_context("spawn")
    held = context.Event()
    first = context.Process(target=_claimer, args=(str(path), key, held, die))
    first.start()
    assert held.wait(60)
    return first, ResultStore(path)


@pytest.mark.parametrize("die", [False, True], ids=["finishes", "dies"])
def test_a_claimed_key_is_waited_for_then_read(tmp_path: Path, die: bool) -> None:
    """A process scoring a key holds its claim; another that needs the key waits, then reads what
    the first stored (or, if the first died, finds the key free and scores it itself)."""
    path, key = tmp_path / "results.sqlite", "ab" * 32
    first, store = _claimed_elsewhere(path, key, die)
    with store.claim("cd" * 32):   # another key is free meanwhile
        assert first.is_alive()
    t0 = time.perf_counter()
    with store.claim(key):
        waited = time.perf_counter() - t0
        assert len(store.get(key)) == (0 if die else 5)
    first.join(60)
    store.close()
    assert waited > 0.3 and first.exitcode == (1 if die else 0)


def _prober(path: str, key: str, answer: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = ResultStore(Path(path))
    answer.put(store.busy(key))
    store.close()


def test_busy_tells_a_key_another_process_scores_and_never_drops_our_own_claim(tmp_path: Path) -> None:
    """`busy` orders work between xdist workers: true while another process holds the key's claim,
    false for a free key and for a claim this process holds (probing it must not release it)."""
    path, key, mine = tmp_path / "results.sqlite", "ab" * 32, "cd" * 32
    first, store = _claimed_elsewhere(path, key, False)
    context = multiprocessing.get_context("spawn")
    assert store.busy(key) and not store.busy(mine)
    with store.claim(mine):
        assert not store.busy(mine)            # our own claim: not busy for us ...
        answer = context.Queue()
        prober = context.Process(target=_prober, args=(str(path), mine, answer))
        prober.start()
        assert answer.get(timeout=60) is True   # ... and still held: another process sees it
        prober.join(60)
    first.join(60)
    assert not store.busy(key)                 # the first finished: its claim is gone
    assert not ResultStore(None).busy(key)     # no file store, nothing to share
    store.close()
