"""medcheck.audit.write_atomic and the report dir: a file is replaced whole or left as it was."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from medcheck import audit
from medcheck.report import write_views
from tests.report.payloads import full, rec


def test_write_atomic_replaces_the_file_and_leaves_no_temp_file(tmp_path: Path):
    path = tmp_path / "report.json"
    path.write_text("old")
    audit.write_atomic(path, "new \u00e9")
    audit.write_atomic(tmp_path / "table.csv", "a,b\r\n1,2\r\n")
    assert path.read_text(encoding="utf-8") == "new \u00e9"
    assert (tmp_path / "table.csv").read_bytes() == b"a,b\r\n1,2\r\n"   # written as given: CSV line ends kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "table.csv"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "report.json"
    path.write_text('{"complete": true}')

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        audit.write_atomic(path, '{"complete": false, "padding": "' + "x" * 100_000 + '"}')
    assert json.loads(path.read_text()) == {"complete": True}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_reader_never_sees_a_half_written_report(tmp_path: Path):
    """A dashboard or CI step reading report.json while a run rewrites it gets one whole version."""
    path = tmp_path / "report.json"
    versions = [json.dumps({"version": k, "rows": list(range(20_000 * (k + 1)))}) for k in range(2)]
    audit.write_atomic(path, versions[0])
    done, seen, broken = threading.Event(), set(), []

    def read() -> None:
        while not done.is_set():
            text = path.read_text()
            try:
                seen.add(json.loads(text)["version"])
            except ValueError:
                broken.append(len(text))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for k in range(40):
            audit.write_atomic(path, versions[k % 2])
    finally:
        done.set()
        reader.join()
    assert not broken, f"{len(broken)} partial reads"
    assert seen


def test_the_report_views_are_written_atomically(tmp_path: Path):
    written = write_views(rec(full()), tmp_path)
    names = sorted(p.name for p in written)
    assert "dashboard.html" in names and "report.md" in names and any(n.endswith(".csv") for n in names)
    assert sorted(p.name for p in tmp_path.iterdir()) == names   # nothing but the views: no temp files left
