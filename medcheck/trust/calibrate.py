"""Calibrating and measuring the refusal pattern model on labelled text.

Labelled refusals are MedSafetyBench's written `safe_response`s; labelled non-refusals are the
explanations benchmarks give for their answers (MedMCQA's `exp`, MedExQA's two explanation
columns), drawn to as many as there are refusals, half from each source. A seeded split keeps
half of them out: the threshold is tuned (best F1) on the tuning half only, and precision and
recall are reported on the held-out half. Without the release data, the bundled
`refusal_labelled.jsonl` (40 texts written for this purpose: harder, more varied refusals and
answers that mention "cannot" or "consult") is measured; the threshold is never tuned on it, but
patterns were widened after seeing its misses, so its figure is a regression floor, not a
held-out estimate.

    python -m medcheck.trust.calibrate [--data-dir ../shared/data] [--seed 1234]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections.abc import Sequence
from pathlib import Path

from medcheck.trust.refusal import Measured, PatternJudge, load_patterns, measure

BUNDLED = Path(__file__).with_name("refusal_labelled.jsonl")
Labelled = list[tuple[str, bool]]


def bundled(path: Path = BUNDLED) -> Labelled:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["text"], bool(r["refusal"])) for r in rows]


def from_data(data_dir: Path, seed: int = 1234) -> Labelled:
    """Refusals from MedSafetyBench, as many non-refusals from MedMCQA and MedExQA explanations."""
    positives = []
    for path in sorted((data_dir / "trust/medsafetybench/test").glob("*/med_safety_demonstrations_category_*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            positives += [row["safe_response"].strip() for row in csv.DictReader(handle)
                          if row["safe_response"].strip()]
    mcqa = []
    medmcqa = data_dir / "medmcqa/dev.json"
    if medmcqa.is_file():
        for line in medmcqa.read_text(encoding="utf-8").splitlines():
            exp = json.loads(line).get("exp") if line.strip() else None
            if isinstance(exp, str) and len(exp.strip()) >= 40:
                mcqa.append(exp.strip())
    exqa = []
    for path in sorted((data_dir / "medexqa/test").glob("*_test.tsv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle, delimiter="\t"):
                exqa += [c.strip() for c in row[5:7] if len(row) >= 8 and len(c.strip()) >= 40]
    if not positives or not (mcqa or exqa):
        return []
    rng = random.Random(seed)
    half = len(positives) // 2
    negatives = rng.sample(mcqa, min(half, len(mcqa))) + rng.sample(exqa, min(len(positives) - half, len(exqa)))
    return [(t, True) for t in positives] + [(t, False) for t in negatives]


def split(rows: Labelled, seed: int = 1234) -> tuple[Labelled, Labelled]:
    """(tuning half, held-out half) of a seeded shuffle."""
    shuffled = list(rows)
    random.Random(f"refusal-split:{seed}").shuffle(shuffled)
    return shuffled[:len(shuffled) // 2], shuffled[len(shuffled) // 2:]


def tune(judge: PatternJudge, rows: Labelled) -> float:
    """The threshold with the best F1 on `rows` (ties: the highest, the most cautious to call a refusal)."""
    scores = [judge.score(t) for t, _ in rows]
    best, best_f1 = judge.threshold, -1.0
    for threshold in sorted({round(s, 6) for s in scores if s > 0}):
        calls = [s >= threshold - 1e-9 for s in scores]
        tp = sum(c and y for c, (_, y) in zip(calls, rows))
        f1 = 2 * tp / (sum(calls) + sum(y for _, y in rows)) if rows else 0.0
        if f1 >= best_f1:
            best, best_f1 = threshold, f1
    return best


def held_out(data_dir: Path | None, seed: int = 1234) -> tuple[str, Measured]:
    """The figure the committed YAML records: held-out half of the release data, else the bundled set."""
    judge = load_patterns()
    rows = from_data(data_dir, seed) if data_dir else []
    if rows:
        _, held = split(rows, seed)
        return "data", _measure(judge, held)
    return "bundled", _measure(judge, bundled())


def _measure(judge: PatternJudge, rows: Sequence[tuple[str, bool]]) -> Measured:
    return measure(judge, [t for t, _ in rows], [y for _, y in rows])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m medcheck.trust.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="release data root (holds trust/medsafetybench)")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args(argv)
    judge = load_patterns()
    rows = from_data(args.data_dir, args.seed) if args.data_dir else []
    if rows:
        tuning, held = split(rows, args.seed)
        best = tune(judge, tuning)
        print(f"# {len(rows)} labelled texts; tuning half {len(tuning)}, held-out half {len(held)}")
        print(f"# threshold in refusal_patterns.yaml: {judge.threshold:g}; best F1 on the tuning half at {best:g}")
        print(f"data: {json.dumps(_measure(judge, held).as_dict())}")
        print(f"data_at_tuned: {json.dumps(_measure(judge.with_threshold(best), held).as_dict())}")
    print(f"bundled: {json.dumps(_measure(judge, bundled()).as_dict())}")


if __name__ == "__main__":
    main()
