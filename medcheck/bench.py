"""Scoring throughput benchmark: items/s per compression on one dataset, medians of repeats.

    medcheck bench --dataset pubmed_qa [--data-dir DIR] [--limit 40] [--repeats 3]
    medcheck bench --generate ...      generation speed per engine: see medcheck.bench_generate

Models load exactly as the gate loads them (the evaluator's backend: recipes build into the
cache dir once, fallback strategies, warm-up), so any compression name the gate accepts works
here, `checkpoint:<path>` included. Prints one row per compression with the median items/s and
the ratio to dense measured in the same run (two shared cores swing; compare ratios).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from medcheck.prompts import PROTOCOLS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """bench's own options (--data-dir and --cache-dir are the command line's, before or after `bench`)."""
    from medcheck.backends import BACKENDS
    from medcheck.settings import DEVICES, DTYPES

    parser.add_argument("--dataset", default="pubmed_qa", help="dataset id, as `medcheck ls datasets` lists them "
                                                               "(default pubmed_qa)")
    parser.add_argument("--limit", type=int, default=None, help="the first N items, in the gate's seeded order")
    parser.add_argument("--model", default="embedded:smollm2-135m", help="model spec (default embedded:smollm2-135m)")
    parser.add_argument("--compression", action="append", default=None,
                        help="repeatable; default dense, bnb-nf4, bnb-int8")
    parser.add_argument("--protocol", default="option-text", choices=list(PROTOCOLS))
    parser.add_argument("--dtype", default="auto", choices=DTYPES)
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument("--backend", default="hf", choices=list(BACKENDS))
    parser.add_argument("--batch-tokens", type=int, default=8192, help="tokens per forward batch (default 8192)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repeats; the median is printed (default 3; 1 with --generate)")
    from medcheck.bench_generate import add_arguments as generate_arguments

    generate_arguments(parser)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    if args.generate:
        from medcheck.bench_generate import run as run_generate

        args.repeats = args.repeats or 1
        return run_generate(args)
    args.repeats = args.repeats or 3
    from medcheck import datasets
    from medcheck.compression import DENSE, check_name
    from medcheck.errors import MedcheckError
    from medcheck.evaluate import Evaluator
    from medcheck.pairs import PairsFile
    from medcheck.prompts import requests_for
    from medcheck.settings import Settings
    from medcheck.store import ResultStore

    names = args.compression or [DENSE, "bnb-nf4", "bnb-int8"]
    try:
        for name in names:
            check_name(name)
        settings = Settings(dtype=args.dtype, device=args.device, backend=args.backend, cache_dir=args.cache_dir,
                            batch_tokens=args.batch_tokens, data_dir=args.data_dir, limit=args.limit)
        data = datasets.load(args.dataset, args.data_dir, args.limit)
    except (MedcheckError, ValueError) as exc:
        print(f"medcheck bench: {exc}", file=sys.stderr)
        return 2
    pairs = PairsFile("<bench>", args.protocol, {"model": args.model}, tuple(n for n in names if n != DENSE))
    evaluator = Evaluator(settings, pairs, ResultStore(None))
    items: list[Any] = list(data.items)   # a multiple-choice set: ChoiceItems
    requests = [r for item in items for r in requests_for(item, args.protocol, data.prompt_style)]
    print(f"{data.id} ({data.source}, n={data.n}), protocol {args.protocol}, {evaluator.dtype} on "
          f"{evaluator.device}, backend {evaluator.engine.name}, {args.repeats} repeats after one warm-up", flush=True)
    rows: list[tuple[str, float]] = []
    for name in names:
        _say(f"medcheck bench: loading {name} (a recipe builds once into the cache dir) ...")
        t0 = time.perf_counter()
        try:
            backend = evaluator.backend("model", name)
        except Exception as exc:   # one broken compression must not hide the others' numbers
            print(f"  {name:<14} could not load: {exc}", flush=True)
            continue
        _say(f"medcheck bench: {name} loaded in {time.perf_counter() - t0:.1f} s; warm-up ...")
        backend.loglikelihood(requests[: 4 * len(items[0].options)])
        rates = []
        for k in range(args.repeats):
            t0 = time.perf_counter()
            backend.loglikelihood(requests)
            rates.append(data.n / (time.perf_counter() - t0))
            _say(f"medcheck bench: {name} repeat {k + 1}/{args.repeats}: {rates[-1]:.2f} items/s")
        median = statistics.median(rates)
        rows.append((name, median))
        bits = evaluator.load_info.get(("model", name), {}).get("bits_per_weight")
        print(f"  {name:<14} {median:7.2f} items/s (min {min(rates):.2f}, max {max(rates):.2f})"
              f"  x{median / rows[0][1]:.2f} of {rows[0][0]}" + (f"  {bits:.2f} bits/weight" if bits else ""),
              flush=True)
    evaluator.release()
    return 0 if len(rows) == len(names) else 1
