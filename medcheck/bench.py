"""Scoring throughput benchmark: log-likelihood items/s per engine and compression on one dataset.

    medcheck bench --dataset pubmed_qa [--data-dir DIR] [--limit 40] [--repeats 3] [--engines hf,vllm]
        [--compression dense ...] [--vllm-python /path/to/venv/bin/python] [--hf-before REV] [--vllm-before REV]
    medcheck bench --generate ...      generation speed per engine: see medcheck.bench_generate

Every (engine, compression) scores the same requests (the dataset's items under `--protocol`) in its
own process, one after the other, with the same threads (`--threads`): the engines and their
processes are `medcheck.bench_generate`'s (vLLM from its own venv through `--vllm-python`, an
earlier commit's backend through a git worktree). Each loads the model as the gate's evaluator does
(the engine's load: recipes build into the cache dir once, fallback strategies, warm-up), so any
compression the gate accepts works, `checkpoint:<path>` included; a compression an engine does not
run (bitsandbytes on vLLM) is reported as not run. Prints the median items/s of the repeats per row,
the ratio to dense within each engine, and per compression each engine's items/s relative to the
first engine's with the largest log-likelihood difference from it and the share of items where both
pick the same option (argmax of the summed log-likelihood). Shared cores swing: compare ratios.
"""

from __future__ import annotations

import argparse
import sys
from itertools import accumulate
from typing import Any

from medcheck.prompts import PROTOCOLS

Row = tuple[str, str, dict[str, Any]]   # (engine label, compression, worker result)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """bench's own options (--data-dir and --cache-dir are the command line's, before or after `bench`)."""
    from medcheck.settings import DEVICES, DTYPES

    parser.add_argument("--dataset", default="pubmed_qa",
                        help="dataset id, as `medcheck ls datasets` lists them, or several joined by commas (their "
                             "items scored in one call, as a mixed batch; default pubmed_qa)")
    parser.add_argument("--limit", type=int, default=None, help="the first N items, in the gate's seeded order")
    parser.add_argument("--model", default="embedded:smollm2-135m", help="model spec (default embedded:smollm2-135m)")
    parser.add_argument("--compression", action="append", default=None,
                        help="repeatable; default dense, bnb-nf4, bnb-int8 (dense with --generate)")
    parser.add_argument("--protocol", default="option-text", choices=list(PROTOCOLS))
    parser.add_argument("--dtype", default="auto", choices=DTYPES)
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument("--batch-tokens", type=int, default=8192, help="tokens per forward batch (default 8192)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repeats; the median is printed (default 3; 1 with --generate)")
    from medcheck.bench_generate import add_arguments as generate_arguments

    generate_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if args.generate:
        from medcheck.bench_generate import run as run_generate

        args.repeats = args.repeats or 1
        return run_generate(args)
    args.repeats = args.repeats or 3
    from medcheck import datasets, task_kinds
    from medcheck.bench_generate import engines, worker
    from medcheck.compression import DENSE, check_name
    from medcheck.errors import MedcheckError
    from medcheck.prompts import requests_for

    names = args.compression or [DENSE, "bnb-nf4", "bnb-int8"]
    try:
        for name in names:
            check_name(name)
    except (MedcheckError, ValueError) as exc:
        print(f"medcheck bench: {exc}", file=sys.stderr)
        return 2
    items: list[Any] = []
    requests: list[Any] = []
    loaded: list[str] = []
    for dataset_id in [d.strip() for d in args.dataset.split(",") if d.strip()]:
        try:
            if task_kinds.of(datasets.info(dataset_id).kind).generates:
                raise ValueError("its answers are generated, not scored by log-likelihood: use --generate")
            data = datasets.load(dataset_id, args.data_dir, args.limit)
        except (MedcheckError, ValueError) as exc:
            print(f"medcheck bench: {dataset_id}: {exc}", file=sys.stderr)
            return 2
        loaded.append(f"{data.id} ({data.source}, n={data.n})")
        chosen: list[Any] = list(data.items)   # a multiple-choice set: ChoiceItems
        items += chosen
        requests += [r for item in chosen for r in requests_for(item, args.protocol, data.prompt_style)]
    sizes = [len(item.options) for item in items]
    rows: list[Row] = []
    with engines(args) as (found, notes, scratch):
        print(f"{' + '.join(loaded)}: {len(items)} items, {len(requests)} requests, protocol {args.protocol}, "
              f"dtype {args.dtype}, device {args.device}, {args.threads} thread(s), {args.repeats} repeats after "
              "a warm-up, one process per engine", flush=True)
        for name in names:
            for label, backend, python, tree in found:
                spec = {"task": "loglikelihood", "engine": backend, "model": args.model, "compression": name,
                        "cache_dir": str(args.cache_dir), "dtype": args.dtype, "device": args.device,
                        "requests": [[r.context, r.continuation] for r in requests], "items": len(items),
                        "warmup": sum(sizes[:4]), "batch_tokens": args.batch_tokens, "repeats": args.repeats,
                        "threads": args.threads}
                print(f"medcheck bench: {label} {name} (loading, warm-up, {args.repeats} repeats) ...",
                      file=sys.stderr, flush=True)
                rows.append((label, name, worker(python, tree, spec, scratch, f"{label}-{name}")))
                _print_row(rows)
        _print_engines(rows, sizes)
    for note in notes:
        print(f"  note: {note}")
    return 0 if rows and all("error" not in r for _, _, r in rows) else 1


def _print_row(rows: list[Row]) -> None:
    label, name, r = rows[-1]
    if "error" in r or "refused" in r:
        print(f"  {label:<12} {name:<14} " + (f"failed: {r['error']}" if "error" in r else f"not run: {r['refused']}"),
              flush=True)
        return
    first, base = next((n, d) for lab, n, d in rows if lab == label and "items_per_s" in d)   # dense, normally
    print(f"  {label:<12} {name:<14} {r['items_per_s']:7.2f} items/s (min {min(r['runs']):.2f}, max "
          f"{max(r['runs']):.2f})  x{r['items_per_s'] / base['items_per_s']:.2f} of {first}  "
          f"({r['dtype']} on {r['device']}, {r['threads']} threads, loaded in {r['load_s']:.0f} s; {r['version']})",
          flush=True)


def _print_engines(rows: list[Row], sizes: list[int]) -> None:
    """Per compression: each engine against the first engine that scored it."""
    for name in dict.fromkeys(n for _, n, _ in rows):
        mine = [(label, r) for label, n, r in rows if n == name and "items_per_s" in r]
        if len(mine) < 2:
            continue
        first, base = mine[0]
        parts = []
        for label, r in mine[1:]:
            diff = max(abs(a - b) for a, b in zip(r["logprobs"], base["logprobs"]))
            same = sum(_argmax(r["logprobs"], at, n) == _argmax(base["logprobs"], at, n)
                       for at, n in zip(accumulate([0, *sizes]), sizes))
            parts.append(f"{label} x{r['items_per_s'] / base['items_per_s']:.2f} (max |log-likelihood difference| "
                         f"{diff:.1e}, same option on {same}/{len(sizes)} items)")
        print(f"  {name}: items/s relative to {first}: " + "; ".join(parts), flush=True)


def _argmax(scores: list[float], start: int, n: int) -> int:
    return max(range(n), key=lambda k: scores[start + k])
