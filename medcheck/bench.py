"""Scoring throughput benchmark: items/s per compression on one dataset, medians of repeats.

    python -m medcheck bench --dataset pubmed_qa [--data-dir DIR] [--limit 40] [--repeats 3]

Prints one row per compression with the median items/s and the ratio to dense measured in the
same run (two shared cores swing; ratios measured together are what to compare).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="pubmed_qa")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--model", default="embedded:smollm2-135m")
    parser.add_argument("--compression", action="append", default=None,
                        help="repeatable; default dense, bnb-nf4, bnb-int8")
    parser.add_argument("--protocol", default="option-text", choices=["letter", "option-text"])
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--batch-tokens", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=3)


def run(args: argparse.Namespace) -> int:
    from transformers import AutoTokenizer

    from medcheck import datasets
    from medcheck.backends.hf import HFBackend
    from medcheck.compression import RECIPES, LoadOptions
    from medcheck.evaluate import resolve_runtime
    from medcheck.models import resolve
    from medcheck.prompts import requests_for
    from medcheck.settings import Settings

    dtype, device = resolve_runtime(Settings(dtype=args.dtype))
    data = datasets.load(args.dataset, args.data_dir, args.limit)
    model = resolve(args.model, args.cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(model.path)
    requests = [r for item in data.items for r in requests_for(item, args.protocol, data.prompt_style)]
    tokens = sum(len(tokenizer(r.context).input_ids) for r in requests[:: len(data.items[0].options)])
    print(f"{data.id} ({data.source}, n={data.n}, mean prompt {tokens / data.n:.0f} tokens), protocol "
          f"{args.protocol}, {dtype} on {device}, {args.repeats} repeats after one warm-up")
    rows = []
    for name in args.compression or ["dense", "bnb-nf4", "bnb-int8"]:
        loaded = RECIPES[name].load(model.path, LoadOptions(dtype=dtype, device=device))
        backend = HFBackend(loaded, tokenizer, batch_tokens=args.batch_tokens)
        backend.loglikelihood(requests[: 4 * len(data.items[0].options)])   # warm-up
        rates = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            backend.loglikelihood(requests)
            rates.append(data.n / (time.perf_counter() - t0))
        rows.append((name, statistics.median(rates), min(rates), max(rates)))
        backend.close()
        print(f"  {name:<10} {rows[-1][1]:7.2f} items/s (min {rows[-1][2]:.2f}, max {rows[-1][3]:.2f})"
              f"  x{rows[-1][1] / rows[0][1]:.2f} of {rows[0][0]}", flush=True)
    return 0
