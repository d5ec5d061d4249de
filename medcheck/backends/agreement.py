"""Do two engines score the same model alike? Predicted answers and speed, item by item.

    python -m medcheck.backends.agreement --dataset medqa --backends hf,vllm [--dtype float32]
        [--protocol option-text|letter] [--limit N] [--data-dir DIR] [--compression NAME]
        [--cache-dir DIR] [--save FILE] [--against FILE ...]

Each backend loads the model (dense, or the compression named: a GPTQ or AWQ checkpoint the gate's
recipe builds into the cache dir once, then each engine loads with its own kernels) as the gate does,
scores every item of the dataset once after a short warm-up, and the predictions (argmax of the
summed log-likelihoods) are compared.
Engines that need different environments (gptqmodel beside transformers, vLLM in its own venv)
are compared through files: `--save` writes one run, `--against` adds a saved run to the
comparison (it must be of the same dataset, items and compression).
Prints the share of items with the same prediction, the largest log-likelihood difference and
each backend's items/s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from medcheck.compression import DENSE

if TYPE_CHECKING:
    from medcheck.backends import Backend
    from medcheck.datasets.types import Dataset
    from medcheck.scoring.choice import SampleRecord

WARMUP_ITEMS = 4


@dataclass(frozen=True)
class Scored:
    backend: str
    version: str
    predictions: tuple[str, ...]
    scores: tuple[tuple[float, ...], ...]
    items_per_s: float
    load_s: float


@dataclass(frozen=True)
class Agreement:
    dataset: str
    n: int
    protocol: str
    dtype: str
    runs: tuple[Scored, ...] = field(default_factory=tuple)
    compression: str = DENSE

    @property
    def agreement(self) -> float:
        """Share of items where every backend predicts the same answer."""
        same = sum(len({run.predictions[i] for run in self.runs}) == 1 for i in range(self.n))
        return same / max(self.n, 1)

    @property
    def max_abs_diff(self) -> float:
        """Largest difference of one option's summed log-likelihood between two backends."""
        return max((abs(a - b) for i in range(self.n) for j in range(len(self.runs[0].scores[i]))
                    for a in (r.scores[i][j] for r in self.runs) for b in (r.scores[i][j] for r in self.runs)),
                   default=0.0)

    def lines(self) -> list[str]:
        out = [f"{self.dataset}: {self.compression}, n={self.n}, protocol {self.protocol}, dtype {self.dtype}"]
        out += [f"  {r.backend:<7} {r.items_per_s:7.2f} items/s  (load {r.load_s:.1f} s; {r.version})"
                for r in self.runs]
        out.append(f"  same prediction on {self.agreement:.1%} of items; "
                   f"max |log-likelihood difference| {self.max_abs_diff:.4f}")
        return out


def predictions(backend: Backend, data: Dataset, protocol: str) -> tuple[list[SampleRecord], float]:
    """(one record per item, items/s) of one scoring pass after a short warm-up."""
    from medcheck.datasets.types import ChoiceItem
    from medcheck.prompts import requests_for
    from medcheck.scoring.choice import score_item

    items = [item for item in data.items if isinstance(item, ChoiceItem)]
    if len(items) != len(data.items):
        raise ValueError(f"{data.id}: engines are compared on choice datasets (log-likelihoods), not {data.kind}")
    per_item = [requests_for(item, protocol, data.prompt_style) for item in items]
    backend.loglikelihood([r for reqs in per_item[:WARMUP_ITEMS] for r in reqs])
    t0 = time.perf_counter()
    logliks = backend.loglikelihood([r for reqs in per_item for r in reqs])
    rate = len(data.items) / (time.perf_counter() - t0)
    records, at = [], 0
    for item, reqs in zip(items, per_item):
        records.append(score_item(item, logliks[at:at + len(reqs)], [len(r.continuation) for r in reqs]))
        at += len(reqs)
    return records, rate


def score_with(backend_name: str, dataset_id: str, *, model: str = "embedded:smollm2-135m",
               protocol: str = "option-text", dtype: str = "float32", limit: int | None = None,
               data_dir: Path | None = None, compression: str = DENSE,
               cache_dir: Path | None = None) -> tuple[Scored, int]:
    """(one backend's predictions and speed, number of items) for a model, loaded as the gate loads it."""
    from medcheck import datasets
    from medcheck.compression import DENSE
    from medcheck.evaluate import Evaluator
    from medcheck.pairs import PairsFile
    from medcheck.settings import Settings, default_cache_dir
    from medcheck.store import ResultStore

    settings = Settings(dtype=dtype, backend=backend_name, limit=limit, data_dir=data_dir, use_cache=False,
                        cache_dir=cache_dir or default_cache_dir())
    evaluator = Evaluator(settings, PairsFile("<agreement>", protocol, {"model": model}, ()), ResultStore(None))
    data = datasets.load(dataset_id, data_dir, limit)
    t0 = time.perf_counter()
    backend = evaluator.backend("model", compression or DENSE)
    load_s = time.perf_counter() - t0
    try:
        records, rate = predictions(backend, data, protocol)
    finally:
        evaluator.release()
    return Scored(backend_name, evaluator.engine.version(), tuple(r.prediction for r in records),
                  tuple(r.scores for r in records), rate, load_s), len(data.items)


def save(run: Scored, n: int, path: Path, **kwargs: object) -> None:
    path.write_text(json.dumps({"run": asdict(run), "n": n, "settings": {k: str(v) for k, v in kwargs.items()}}))


def load(path: Path, **kwargs: object) -> tuple[Scored, int]:
    """A saved run; an error if it was made with other settings than this comparison's."""
    data = json.loads(path.read_text())
    theirs, ours = data["settings"], {k: str(v) for k, v in kwargs.items()}
    differ = {k: (theirs.get(k), v) for k, v in ours.items() if k != "cache_dir" and theirs.get(k) != v}
    if differ:
        raise SystemExit(f"{path}: saved with other settings (saved, here): {differ}")
    run = data["run"]
    return Scored(run["backend"], run["version"], tuple(run["predictions"]),
                  tuple(tuple(s) for s in run["scores"]), run["items_per_s"], run["load_s"]), int(data["n"])


def compare(dataset_id: str, backends: tuple[str, ...] = ("hf", "vllm"), against: tuple[Path, ...] = (),
            save_to: Path | None = None, *, model: str = "embedded:smollm2-135m", protocol: str = "option-text",
            dtype: str = "float32", limit: int | None = None, data_dir: Path | None = None,
            compression: str = DENSE, cache_dir: Path | None = None) -> Agreement:
    settings: dict[str, object] = {"model": model, "protocol": protocol, "dtype": dtype, "limit": limit,
                                   "data_dir": data_dir, "compression": compression, "cache_dir": cache_dir}
    runs = [score_with(name, dataset_id, model=model, protocol=protocol, dtype=dtype, limit=limit,
                       data_dir=data_dir, compression=compression, cache_dir=cache_dir) for name in backends]
    if save_to is not None and runs:
        run, n = runs[0]
        save(run, n, save_to, dataset=dataset_id, **settings)
    runs += [load(path, dataset=dataset_id, **settings) for path in against]
    return Agreement(dataset_id, runs[0][1], protocol, dtype, tuple(run for run, _ in runs), compression or DENSE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m medcheck.backends.agreement", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="medqa")
    parser.add_argument("--backends", default="hf,vllm", help="comma-separated backend names")
    parser.add_argument("--model", default="embedded:smollm2-135m")
    parser.add_argument("--protocol", default="option-text")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--compression", default=DENSE, help="a compression both engines load (gptq-w4, awq-w4, ...)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="where built compressions are kept")
    parser.add_argument("--save", type=Path, default=None, help="write the (first) backend's run to this file")
    parser.add_argument("--against", type=Path, action="append", default=[], help="a run saved with --save")
    args = parser.parse_args(argv)
    result = compare(args.dataset, tuple(b for b in args.backends.split(",") if b), tuple(args.against), args.save,
                     model=args.model,
                     protocol=args.protocol, dtype=args.dtype, limit=args.limit, data_dir=args.data_dir,
                     compression=args.compression, cache_dir=args.cache_dir)
    print("\n".join(result.lines()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
