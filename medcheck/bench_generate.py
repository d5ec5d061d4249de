"""Generation benchmark: the gate's own generative prompts through each installed engine, one run.

    python -m medcheck bench --generate [--limit 2] [--new-tokens 64] [--compression dense ...]
        [--hf-before REV] [--vllm-before REV] [--vllm-python /path/to/venv/bin/python] [--repeats 1]

Prompts are the trust and biomedical NLP datasets' items as the evaluator renders them
(`strategies.user_prompt`, then the engine's chat template), `--limit` items per dataset. Every
request generates exactly `--new-tokens` tokens (min = max new tokens), greedy, so engines do the
same work. Each (engine, compression) runs in its own process (`bench_worker`), one after the other:

    hf            this checkout's transformers backend
    hf@REV        the same backend at an earlier commit (`--hf-before`, through a git worktree)
    vllm          vLLM, from this interpreter when it imports vllm, else from `--vllm-python`
                  ($MEDCHECK_VLLM_PYTHON): a separate venv with vllm and `pip install -e . --no-deps`
    vllm@REV      the vllm backend at an earlier commit (`--vllm-before`)

`engines` and `worker` serve the scoring benchmark (`medcheck.bench`) as well.

Prints new tokens/s, processed tokens/s (prompt + generated), the peak resident memory while
generating and over the whole process (loading included), and the ratio of new tokens/s to the
fastest engine of the same compression. Shared cores swing: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("bench_worker.py")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--generate", action="store_true", help="benchmark generation instead of scoring")
    parser.add_argument("--new-tokens", type=int, default=64, help="tokens generated per prompt (--generate)")
    parser.add_argument("--tracks", default="trust,bionlp", help="generative tracks whose prompts are used")
    parser.add_argument("--strategy", default="zero-shot", help="prompting strategy of the rendered prompts")
    parser.add_argument("--engines", default="hf,vllm", help="comma-separated: hf, vllm (default both)")
    parser.add_argument("--hf-before", default=None, metavar="REV",
                        help="also run the hf backend of this commit (a temporary git worktree)")
    parser.add_argument("--vllm-before", default=None, metavar="REV",
                        help="also run the vllm backend of this commit (a temporary git worktree)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="CPU threads of every engine (default: all cores; vLLM binds them to cores 0..N-1)")
    parser.add_argument("--vllm-python", default=os.environ.get("MEDCHECK_VLLM_PYTHON"),
                        help="python of a venv with vLLM and medcheck (pip install -e . --no-deps)")


def prompts(tracks: list[str], limit: int, strategy_name: str, data_dir: Path | None, seed: int) -> list[str]:
    """The user prompts the evaluator renders for every generative dataset of `tracks`."""
    from medcheck import datasets, task_kinds
    from medcheck.prompting import spec_of
    from medcheck.strategies import Strategy, pick_shots, user_prompt

    out = []
    root = datasets.data_root(data_dir)
    for dataset_id in datasets.dataset_ids():
        info = datasets.info(dataset_id)
        if not task_kinds.of(info.kind).generates or info.track not in tracks:
            continue
        spec = spec_of(dataset_id)
        data = datasets.load(dataset_id, data_dir, limit)
        strategy = Strategy(strategy_name).for_task(spec)
        shots = (pick_shots(spec.shots(root), strategy.shots, seed, dataset_id, {i.id for i in data.items})
                 if strategy.name == "few-shot" else [])
        out += [user_prompt(spec, item, strategy, spec.instruction(root), shots)   # type: ignore[arg-type]
                for item in data.items]   # a generative set's items are TextItems
    return out


def _vllm_python(args: argparse.Namespace) -> str | None:
    if importlib.util.find_spec("vllm") is not None:
        return sys.executable
    return args.vllm_python


def worker(python: str, tree: Path, spec: dict[str, Any], scratch: Path, name: str) -> dict[str, Any]:
    """Run `bench_worker` on `spec` with `python` in `tree`: its result, or {"error": the output's tail}."""
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    spec_path, result_path = scratch / f"{name}.spec.json", scratch / f"{name}.result.json"
    spec_path.write_text(json.dumps(spec))
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run([python, "-c", WORKER.read_text(), str(spec_path), str(result_path)], cwd=tree, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode or not result_path.exists():
        tail = "\n    ".join(proc.stdout.strip().splitlines()[-6:])
        return {"error": f"exit {proc.returncode}\n    {tail}"}
    return dict(json.loads(result_path.read_text()))


def _worktree(rev: str, scratch: Path) -> Path:
    folder = scratch / "".join(c if c.isalnum() else "_" for c in f"tree-{rev}")
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), rev], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return folder


def _gb(n: float) -> str:
    return f"{n / 2**30:.2f} GB"


Engine = tuple[str, str, str, Path]   # (label, backend, python, source tree)


@contextlib.contextmanager
def engines(args: argparse.Namespace) -> Iterator[tuple[list[Engine], list[str], Path]]:
    """The engines of --engines, each earlier commit's (--hf-before, --vllm-before) first, notes on those
    left out, and a scratch folder; the git worktrees and the scratch folder go when the block ends."""
    wanted = [e.strip() for e in args.engines.split(",") if e.strip()]
    found: list[Engine] = []
    notes: list[str] = []
    scratch = Path(tempfile.mkdtemp(prefix="medcheck-bench-"))
    try:
        for backend, python in (("hf", sys.executable), ("vllm", _vllm_python(args))):
            if backend not in wanted:
                continue
            if python is None:
                notes.append(f"{backend}: not importable here and no --vllm-python (or $MEDCHECK_VLLM_PYTHON) given")
                continue
            before = getattr(args, f"{backend}_before", None)
            if before:
                tree = next((t for label, _, _, t in found if label.endswith(f"@{before}")), None)
                found.append((f"{backend}@{before}", backend, python, tree or _worktree(before, scratch)))
            found.append((backend, backend, python, ROOT))
        yield found, notes, scratch
    finally:
        for tree in {tree for *_, tree in found} - {ROOT}:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(scratch, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    from medcheck.compression import DENSE

    tracks = [t.strip() for t in args.tracks.split(",") if t.strip()]
    texts = prompts(tracks, args.limit if args.limit is not None else 2, args.strategy, args.data_dir, 1234)
    if not texts:
        print(f"medcheck bench: no generative prompts in tracks {tracks}", file=sys.stderr)
        return 2
    names = args.compression or [DENSE]
    rows: list[tuple[str, str, dict[str, Any]]] = []
    with engines(args) as (found, notes, scratch):
        print(f"{len(texts)} prompts from {', '.join(tracks)} ({args.strategy}, {args.limit or 2} per dataset), "
              f"{args.new_tokens} new tokens each (min = max), greedy, dtype {args.dtype}, device {args.device}, "
              f"{args.threads} thread(s), {args.repeats} repeat(s) after a warm-up, one process per engine", flush=True)
        for name in names:
            for label, backend, python, tree in found:
                spec = {"engine": backend, "model": args.model, "compression": name, "cache_dir": str(args.cache_dir),
                        "dtype": args.dtype, "device": args.device, "prompts": texts, "new_tokens": args.new_tokens,
                        "batch_tokens": args.batch_tokens, "repeats": args.repeats,
                        "threads": args.threads}
                print(f"medcheck bench: {label} {name} ...", file=sys.stderr, flush=True)
                result = worker(python, tree, spec, scratch, f"{label}-{name}")
                rows.append((label, name, result))
                _print_row(label, name, result, rows)
        _print_ratios(rows)
    for note in notes:
        print(f"  note: {note}")
    return 0 if all("error" not in r for _, _, r in rows) else 1


def _print_row(label: str, name: str, r: dict[str, Any], rows: list[tuple[str, str, dict[str, Any]]]) -> None:
    if "error" in r or "refused" in r:
        print(f"  {label:<14} {name:<10} " + (f"failed: {r['error']}" if "error" in r else f"not run: {r['refused']}"),
              flush=True)
        return
    print(f"  {label:<14} {name:<10} {r['new_per_s']:7.1f} new tok/s  {r['processed_per_s']:7.1f} processed tok/s  "
          f"peak RSS {_gb(r['peak_rss'])} generating, {_gb(r['max_rss'])} process  "
          f"({r['new_tokens']} new + {r['prompt_tokens']} prompt tokens in {r['seconds']:.1f} s; {r['dtype']} on "
          f"{r['device']}, {r['threads']} threads; {r['version']})", flush=True)


def _print_ratios(rows: list[tuple[str, str, dict[str, Any]]]) -> None:
    ok = [(label, name, r) for label, name, r in rows if "new_per_s" in r]
    for name in dict.fromkeys(n for _, n, _ in ok):
        mine = [(label, r) for label, n, r in ok if n == name]
        best_label, best = max(mine, key=lambda x: x[1]["new_per_s"])
        ratios = ", ".join(f"{label} x{r['new_per_s'] / best['new_per_s']:.2f}" for label, r in mine)
        print(f"  {name}: new tokens/s relative to the fastest ({best_label}): {ratios}")
