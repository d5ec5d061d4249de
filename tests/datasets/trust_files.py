"""Helpers for the trust dataset tests: TrustLLM release files written by the test, real data location."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medcheck import datasets
from medcheck.trust.release import relative

REAL_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def write(root: Path, dimension: str, name: str, records: list[Any]) -> Path:
    """A release file laid out as TrustLLM ships it: an indented JSON array, one key per line."""
    path = root / relative(dimension, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=4), encoding="utf-8")
    return path


def line_of(path: Path, index: int) -> int:
    """The line on which the index-th element of an indent=4 array written by `write` starts."""
    lines = path.read_text(encoding="utf-8").splitlines()
    starts = [n for n, text in enumerate(lines, start=1) if text == "    {"]
    return starts[index]


def real(dataset_id: str) -> bool:
    return (REAL_DATA / datasets.info(dataset_id).relative_path).exists()


def spec(dataset_id: str) -> Any:
    return datasets.info(dataset_id)
