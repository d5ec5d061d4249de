"""Checks every generative dataset module's tests share: the bundled sample, shots, scoring bounds."""

from __future__ import annotations

from pathlib import Path

from medcheck import datasets
from medcheck.datasets.types import Dataset, TextItem

REAL_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def check_sample(dataset_id: str, dimension: str) -> Dataset:
    """The bundled sample loads as generate-kind TextItems with unique ids and held-apart shots."""
    spec = datasets.info(dataset_id)
    ds = datasets.load(dataset_id)
    assert ds.source == "sample" and ds.kind == "generate" and ds.track == spec.track == "bionlp"
    assert spec.dimension == dimension and 30 <= ds.n == ds.total <= 50
    assert all(isinstance(i, TextItem) and i.text.strip() for i in ds.items)
    assert len({i.id for i in ds.items}) == ds.n
    shots = spec.shots(datasets.SAMPLES_DIR)
    assert 3 <= len(shots) <= 10
    assert not {s.id for s in shots} & {i.id for i in ds.items}, "a shot must never be an evaluated item"
    assert spec.instruction(datasets.SAMPLES_DIR).strip()
    assert 1 <= spec.max_new_tokens <= 256 and "zero-shot" in spec.strategies
    return ds


def check_scoring(dataset_id: str) -> None:
    """Gold answers written out and parsed back score 1.0; all-unparsed scores 0 with unparsed == n."""
    spec = datasets.info(dataset_id)
    ds = datasets.load(dataset_id)
    parsed = [spec.parse(spec.answer(item), item) for item in ds.items]
    assert [tuple(p) if isinstance(p, list) else p for p in parsed] == [i.gold for i in ds.items]
    perfect = spec.score(ds.items, parsed)
    assert perfect.value == 1.0 and perfect.unparsed == 0 and perfect.n == ds.n
    assert perfect.majority_baseline is not None and 0.0 <= perfect.majority_baseline < 1.0
    assert {"precision", "recall"} <= set(perfect.metrics)
    nothing = spec.score(ds.items, [None] * ds.n)
    assert nothing.value == 0.0 and nothing.unparsed == ds.n == nothing.n
    assert nothing.majority_baseline == perfect.majority_baseline     # a property of the gold, not the outputs


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
