"""A scoring run killed with SIGKILL at seeded points, mid-commit included, resumes to the same answer.

Each run is the real gate (`python -m pytest suites/knowledge/test_medqa.py`) on a tiny random Llama and the
bundled MedQA sample (48 items: two chunks each for the dense model and the compression). One
store is killed and resumed several times in a row; the final run's samples, scores and verdicts
must equal those of a run never interrupted, and the store must hold each record exactly once.
Kills at a store statement come from `tests/faults/killer.py` (SQLite's trace callback); one kill
comes from outside, at a seeded moment.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from medcheck.task_kinds import Choice

CHUNK_ITEMS = Choice.chunk   # multiple-choice items committed per chunk

REPO = Path(__file__).resolve().parents[2]
SEED = 20261129
ITEMS = 48                       # the bundled MedQA sample
COMPRESSION = "rtn-w2"           # damages the tiny model, so dense and compressed records differ
CHUNKS = [CHUNK_ITEMS, ITEMS - CHUNK_ITEMS] * 2   # dense then compressed, in commit order


def _project(root: Path) -> Path:
    shutil.copytree(REPO / "suites", root / "suites", ignore=shutil.ignore_patterns("__snapshots__"))
    shutil.copytree(REPO / "thresholds", root / "thresholds")
    shutil.copy(REPO / "conftest.py", root / "conftest.py")
    (root / "pytest.ini").write_text("[pytest]\njunit_family = xunit1\nmarkers =\n    track(name): track\n")
    return root


def _start(project: Path, model: Path, cache: Path, report: Path, kill_at: str = "") -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "MEDCHECK_KILL_AT": kill_at}
    args = [sys.executable, "-m", "pytest", "suites/knowledge/test_medqa.py", "-q", "-p", "no:cacheprovider",
            "-p", "tests.faults.killer", "--snapshot-update", "--medcheck-model", f"tiny={model}",
            "--medcheck-compression", COMPRESSION, "--medcheck-cache-dir", str(cache),
            "--medcheck-limit", str(ITEMS),   # one look of every item: the chunks below, not sequential looks
            "--medcheck-report-dir", str(report)]
    return subprocess.Popen(args, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def _committed(cache: Path) -> list[int]:
    """Records per store key, in commit order of the keys."""
    path = cache / "results.sqlite"
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    try:
        total, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT key || '/' || item_id) FROM records").fetchone()
        assert total == distinct, "a record is stored twice"
        return [n for _, n in db.execute("SELECT key, COUNT(*) FROM records GROUP BY key ORDER BY MIN(rowid)")]
    finally:
        db.close()


def _chunks_done(per_key: list[int]) -> int:
    """How many whole chunks the store holds; fails on a partial chunk."""
    done = 0
    for at, n in enumerate(per_key):
        assert n in (0, CHUNK_ITEMS, ITEMS), f"store key {at} holds {n} records: a chunk was half committed"
        done += (n > 0) + (n == ITEMS)
    return done


def _expected_after(kill_at: str, done: int) -> int:
    """Whole chunks committed after a kill at `kill_at`, starting from `done` chunks."""
    prefix, _, nth = kill_at.rpartition(":")
    n = int(nth)
    if prefix in ("COMMIT", "BEGIN IMMEDIATE"):
        return done + n - 1                     # the n-th chunk's transaction never commits
    rows = 0                                    # INSERT OR REPLACE INTO records: the n-th row
    for extra, size in enumerate(CHUNKS[done:]):
        rows += size
        if n <= rows:
            return done + extra
    raise AssertionError(f"kill point {kill_at} past the end")


def _outcome(report: Path) -> dict:
    data = json.loads((report / "report.json").read_text())
    samples = sorted((json.loads(line) for line in (report / "samples.jsonl").read_text().splitlines()),
                     key=lambda s: (s["pair"], s["item_id"]))
    runs = [{k: r[k] for k in ("pair", "dataset", "fingerprint", "cache_key", "n", "accuracy")} for r in data["runs"]]
    return {"samples": samples, "scores": data["scores"], "verdicts": data["verdicts"], "runs": runs}


def test_killed_and_resumed_run_equals_an_uninterrupted_one(tmp_path: Path, tiny_model_dir: Path) -> None:
    rng = random.Random(SEED)
    reference = _start(_project(tmp_path / "ref-project"), tiny_model_dir, tmp_path / "ref-cache", tmp_path / "ref")
    project, cache = _project(tmp_path / "project"), tmp_path / "cache"
    kills = [f"COMMIT:{rng.randint(1, 2)}",                     # mid-commit: rows written, not committed
             f"INSERT OR REPLACE INTO records:{rng.randint(1, 24)}",   # mid-chunk
             "outside"]                                          # SIGKILL from the parent at a seeded moment
    history = []
    for run, kill_at in enumerate(kills):
        done = _chunks_done(_committed(cache))
        if done == len(CHUNKS):
            break
        report = tmp_path / f"killed-{run}"
        if kill_at == "outside":
            proc = _start(project, tiny_model_dir, cache, report)
            time.sleep(rng.uniform(2.0, 8.0))
            proc.send_signal(signal.SIGKILL)
            code, out = _finish(proc)
            assert code in (-signal.SIGKILL, 0, 1), out[-2000:]
            _chunks_done(_committed(cache))              # whatever it reached, no half chunk
        else:
            code, out = _finish(_start(project, tiny_model_dir, cache, report, kill_at))
            assert code == -signal.SIGKILL, f"run {run} was not killed at {kill_at}:\n{out[-2000:]}"
            assert _chunks_done(_committed(cache)) == _expected_after(kill_at, done), kill_at
        history.append((kill_at, done, _committed(cache)))
    assert any(k.startswith("COMMIT") for k, _, _ in history), history   # a mid-commit kill did happen

    code, out = _finish(_start(project, tiny_model_dir, cache, tmp_path / "final"))
    ref_code, ref_out = _finish(reference)
    assert ref_code in (0, 1) and code == ref_code, f"{out[-2000:]}\n---\n{ref_out[-2000:]}"
    assert _committed(cache) == _committed(tmp_path / "ref-cache") == [ITEMS, ITEMS]
    assert _outcome(tmp_path / "final") == _outcome(tmp_path / "ref")
