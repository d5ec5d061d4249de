"""Results store: per-sample records in embedded SQLite, keyed by everything that shapes them.

Records are committed in chunks as they are scored, so a run killed halfway keeps what it
finished and the next run resumes from there.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (key TEXT PRIMARY KEY, components TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    key TEXT NOT NULL, item_id TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (key, item_id));
"""


def cache_key(components: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(components, sort_keys=True, default=str).encode()).hexdigest()


class ResultStore:
    """`ResultStore(None)` is an in-memory store: used when the cache is turned off."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path) if path else ":memory:", timeout=60)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def get(self, key: str) -> dict[str, dict[str, Any]]:
        rows = self._db.execute("SELECT item_id, record FROM records WHERE key = ?", (key,))
        return {item_id: json.loads(record) for item_id, record in rows}

    def put(self, key: str, components: Mapping[str, Any], records: Iterable[dict[str, Any]]) -> None:
        with self._db:   # one transaction per chunk
            self._db.execute("INSERT OR IGNORE INTO runs VALUES (?, ?)",
                             (key, json.dumps(components, sort_keys=True, default=str)))
            self._db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?)",
                                 [(key, r["item_id"], json.dumps(r)) for r in records])

    def close(self) -> None:
        self._db.close()
