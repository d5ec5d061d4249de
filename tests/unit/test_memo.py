"""medcheck.memo: a value or a failure per key, computed once; re-raised failures do not grow."""

from __future__ import annotations

import traceback

import pytest

from medcheck.errors import DatasetError
from medcheck.memo import Memo


def test_value_is_computed_once():
    calls = []
    memo: Memo[str, int] = Memo()
    assert memo.get("a", lambda: calls.append(1) or 7) == 7
    assert memo.get("a", lambda: calls.append(1) or 8) == 7
    assert calls == [1] and "a" in memo and list(memo.values()) == [7]


def test_failure_is_remembered_and_keeps_its_type():
    calls = []

    def broken() -> int:
        calls.append(1)
        raise DatasetError("x.jsonl", "invalid JSON", line=3)

    memo: Memo[str, int] = Memo()
    for _ in range(3):
        with pytest.raises(DatasetError, match=r"x.jsonl:3: invalid JSON"):
            memo.get("x", broken)
    assert calls == [1] and list(memo.values()) == []


def test_traceback_does_not_grow_with_each_raise():
    memo: Memo[str, int] = Memo()
    memo.put("x", lambda: 1 // 0)
    lengths = []
    for _ in range(5):
        try:
            memo.value("x")
        except ZeroDivisionError as exc:
            lengths.append(len(traceback.extract_tb(exc.__traceback__)))
    assert len(set(lengths)) == 1, lengths


def test_forget_drops_values_but_keeps_failures():
    memo: Memo[str, int] = Memo()
    memo.put("ok", lambda: 1)
    memo.put("bad", lambda: 1 // 0)
    memo.forget("ok")
    memo.forget("bad")
    assert "ok" not in memo
    with pytest.raises(ZeroDivisionError):
        memo.value("bad")
