"""Results store: per-sample records in embedded SQLite, keyed by everything that shapes them.

Records are committed in chunks as they are scored, so a run killed halfway keeps what it
finished and the next run resumes from there. A chunk is one `BEGIN IMMEDIATE` transaction:
a kill mid-commit leaves none of it, never part of it.

Several processes may share one store (pytest-xdist workers, two CI jobs on one cache): WAL
lets readers run beside the one writer, writers wait for each other (`BUSY_SECONDS`), and a
record's primary key (key, item_id) means a record scored twice is stored once. Scoring is
deterministic, so whichever writer commits last stores the same record. A process about to score
a key claims it (`claim`): another that needs the same key waits until the first is done and then
reads its records, so two workers never score one key twice (nor form different batches of it).

A store file that SQLite cannot read (truncated, overwritten, not SQLite, another schema) is
moved aside next to itself with a timestamp suffix and replaced by an empty store, with a
warning: the results in it are scored again, never read half-broken. Opening (check, set aside,
create) holds an advisory lock on `<store>.lock`, so two processes never both set a file aside. A single record that no
longer parses is dropped with a warning and scored again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: opening is not serialised across processes
    fcntl = None  # type: ignore[assignment]

BUSY_SECONDS = 60.0   # how long a writer waits for another process's transaction
COLUMNS = {"runs": ("key", "components"), "records": ("key", "item_id", "record")}
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (key TEXT PRIMARY KEY, components TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    key TEXT NOT NULL, item_id TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (key, item_id));
"""
_CORRUPT_CODES = {11, 26}   # SQLITE_CORRUPT, SQLITE_NOTADB (primary result codes)


class StoreCorrupt(Exception):
    """The store file cannot be trusted; the message says why."""


def cache_key(components: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(components, sort_keys=True, default=str).encode()).hexdigest()


class ResultStore:
    """`ResultStore(None)` is an in-memory store: used when the cache is turned off."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.set_aside: Path | None = None   # where an unreadable store file was moved, if it was
        self._claims: IO[str] | None = None   # the open `<store>.claims` file (see claim)
        self._held: set[int] = set()          # the claim bytes this process holds
        if path is None:
            self._db = _connect(":memory:")
            self._db.executescript(SCHEMA)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with _open_lock(path):   # one process at a time checks, sets aside and creates
            try:
                self._db = _open_checked(path)
            except StoreCorrupt as exc:
                self.set_aside = _move_aside(path)
                warnings.warn(f"{path}: results store unreadable ({exc}); moved to {self.set_aside} and "
                              "started empty. Its results will be scored again; delete the moved file "
                              "once nothing in it is needed.", stacklevel=2)
                self._db = _open_checked(path)

    def get(self, key: str) -> dict[str, dict[str, Any]]:
        rows = self._db.execute("SELECT item_id, CAST(record AS BLOB) FROM records WHERE key = ?", (key,))
        out: dict[str, dict[str, Any]] = {}
        bad: list[str] = []
        for item_id, raw in rows:
            record = _parse(raw)
            if record is None or record.get("item_id") != item_id:
                bad.append(str(item_id))
                continue
            out[item_id] = record
        if bad:
            warnings.warn(f"{self.path or 'in-memory store'}: {len(bad)} stored record(s) no longer parse "
                          f"(item {bad[0]}{', ...' if len(bad) > 1 else ''}); they will be scored again",
                          stacklevel=2)
        return out

    def put(self, key: str, components: Mapping[str, Any], records: Iterable[dict[str, Any]]) -> None:
        rows = [(key, r["item_id"], json.dumps(r)) for r in records]
        with self._transaction():   # one transaction per chunk
            self._db.execute("INSERT OR IGNORE INTO runs VALUES (?, ?)",
                             (key, json.dumps(components, sort_keys=True, default=str)))
            self._db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", rows)

    @contextlib.contextmanager
    def claim(self, key: str) -> Iterator[None]:
        """Hold `key` while this process scores it; a process sharing the store waits here meanwhile.

        The claim is a kernel lock on one byte of `<store>.claims` (fcntl record locks: a process
        that dies mid-scoring frees it, and nothing is left to clean up); the byte is the key's
        hash, so two keys rarely share one, and when they do one waits for the other, nothing
        worse. One descriptor per store: closing another would drop the process's locks."""
        if self.path is None or fcntl is None:
            yield
            return
        claims, byte = self._claim_file(), int(key[:12], 16)
        fcntl.lockf(claims, fcntl.LOCK_EX, 1, byte)
        self._held.add(byte)
        try:
            yield
        finally:
            self._held.discard(byte)
            fcntl.lockf(claims, fcntl.LOCK_UN, 1, byte)

    def busy(self, key: str) -> bool:
        """Whether another process holds `key`'s claim now (is scoring it), without waiting. The
        answer can be stale a moment later: it orders work, it never replaces `claim`."""
        if self.path is None or fcntl is None:
            return False
        claims, byte = self._claim_file(), int(key[:12], 16)
        if byte in self._held:   # ours: probing and unlocking it would drop our own claim
            return False
        try:
            fcntl.lockf(claims, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, byte)
        except OSError:
            return True
        fcntl.lockf(claims, fcntl.LOCK_UN, 1, byte)
        return False

    def _claim_file(self) -> IO[str]:
        if self._claims is None:
            assert self.path is not None
            self._claims = open(self.path.with_name(self.path.name + ".claims"), "a")   # noqa: SIM115
        return self._claims

    def close(self) -> None:
        self._db.close()
        if self._claims is not None:
            self._claims.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front, so a busy store makes us wait (busy timeout)
        # rather than fail when a read lock would have to be upgraded.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _connect(target: str) -> sqlite3.Connection:
    # isolation_level=None: transactions are explicit (see ResultStore._transaction)
    return sqlite3.connect(target, timeout=BUSY_SECONDS, isolation_level=None)


def _open_checked(path: Path) -> sqlite3.Connection:
    db = _connect(str(path))
    try:
        db.execute("PRAGMA journal_mode=WAL")
        problems = [row[0] for row in db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise StoreCorrupt(f"integrity check: {problems[0].splitlines()[-1] if problems else 'no answer'}")
        db.executescript(SCHEMA)
        for table, expected in COLUMNS.items():
            columns = tuple(row[1] for row in db.execute(f"PRAGMA table_info({table})"))
            if columns != expected:
                raise StoreCorrupt(f"table {table} has columns {', '.join(columns)}, "
                                   f"expected {', '.join(expected)}")
    except sqlite3.DatabaseError as exc:
        db.close()
        if isinstance(exc, sqlite3.OperationalError) or (exc.sqlite_errorcode & 0xFF) not in _CORRUPT_CODES:
            raise   # locked, I/O, permissions: not the file's fault, nothing to set aside
        raise StoreCorrupt(str(exc)) from None
    except StoreCorrupt:
        db.close()
        raise
    return db


def _move_aside(path: Path) -> Path:
    """Rename the store (and its WAL side files) to `<name>.corrupt-<UTC time>`."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    path.rename(aside)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(aside.with_name(aside.name + suffix))
    return aside


@contextlib.contextmanager
def _open_lock(path: Path) -> Iterator[None]:
    if fcntl is None:
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return record if isinstance(record, dict) else None
