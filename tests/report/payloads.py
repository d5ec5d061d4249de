"""Hand-built report.json payloads shaped like a real run (medcheck/record.py), and samples.jsonl rows.

base() and full() are the current schema (tracks described with their table layout and holding their
own rows, verdict rows naming their track); schema3() and legacy() (schema 2) are older records,
which the readers upgrade. `rec` reads a payload as every reader does (RunRecord.from_json)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from medcheck.record import RunRecord
from medcheck.record_rows import SCHEMA_VERSION, SampleRow

MODEL = "smollm2-135m"
NF4, INT8 = f"{MODEL}/bnb-nf4", f"{MODEL}/bnb-int8"
DATASETS = {"mmlu_anatomy": (0.40, 0.30, 0.40), "medqa": (0.30, 0.20, 0.30), "pubmed_qa": (0.50, 0.35, 0.45)}


def _run(pair: str, dataset: str, accuracy: float, load: dict[str, Any], degenerate: bool = False) -> dict[str, Any]:
    return {"pair": pair, "dataset": dataset, "fingerprint": "f" * 64, "cache_key": "c" * 64, "cached_items": 0,
            "seconds": 12.5, "load": load, "backend": {}, "n": 40, "accuracy": accuracy, "acc_norm": accuracy,
            "ci95": [max(0.0, accuracy - 0.15), min(1.0, accuracy + 0.15)], "top_answer": "no",
            "top_share": 0.95 if degenerate else 0.4, "gold_share": 0.5, "degenerate": degenerate}


def _load(strategy: str, bits: float, weight_bytes: int, fallback: bool = False) -> dict[str, Any]:
    attempts = [{"strategy": strategy, "ok": True, "seconds": 3.2, "rss_mb": 900.0, "peak_mb": 950.0,
                 "error": None, "traceback": None}]
    if fallback:
        attempts.insert(0, {"strategy": "pre-quantized", "ok": False, "seconds": 0.4, "rss_mb": 600.0,
                            "peak_mb": 610.0, "error": "RuntimeError: no CUDA", "traceback": "Traceback ..."})
    return {"strategy": strategy, "fallback": fallback, "attempts": attempts, "bits_per_weight": bits,
            "weight_bytes": weight_bytes, "linear_bits_per_weight": bits, "warmup": {"seconds": 0.5},
            "seconds": 3.6 if fallback else 3.2}


SCORES = {"knowledge": "CPS", "trust": "TWY", "efficiency": "CES", "cross": "CCS"}


def _verdict(test: str, kind: str, pair: str, subject: str, value: float, floor: float, track: str = "knowledge",
             ci: tuple[float, float] | None = None) -> dict[str, Any]:
    passed = value >= floor
    row = {"test": test, "kind": kind, "track": track, "pair": pair, "subject": subject,
           "datasets": list(DATASETS) if subject == "knowledge" else [subject], "metric": SCORES.get(track, "CPS"),
           "value": value, "n": 40, "passed": passed, "outcome": "pass" if passed else "fail",
           "message": f"{kind} {value:.3f} {'>=' if passed else '<'} {floor:.3f} (thresholds)", "floor": floor,
           "rule": f"thresholds/{track}.yaml: cps.default", "decision_rule": {"mode": "point"}}
    if ci:
        row["decision_rule"] = {"mode": "catch-damage", "confidence": 0.95, "inconclusive_fails": False}
        row["stats"] = {"ci_low": ci[0], "ci_high": ci[1], "decision_rule": "catch-damage 95%"}
        if ci[0] < floor <= ci[1] and passed:
            row["outcome"] = "inconclusive"
    return row


TRACKS = {"knowledge": {"title": "Knowledge track (CMedBench Track 1)", "score": "CPS", "kind": "choice",
                        "table": "choice", "dimensions": {}, "datasets": list(DATASETS)},
          "efficiency": {"title": "Efficiency track (CMedBench Track 5)", "score": "CES", "kind": "efficiency",
                         "table": "efficiency", "dimensions": {}, "datasets": []},
          "cross": {"title": "Cross-combination track (CMedBench Track 4)", "score": "CCS", "kind": "cross",
                    "table": "cross", "dimensions": {}, "datasets": []}}


def base() -> dict[str, Any]:
    """Knowledge track only: no efficiency or cross keys (as report.json was before they were added)."""
    import math

    runs, scores, verdicts = [], [], []
    loads = {f"{MODEL}/dense": _load("dense", 32.0, 538_000_000), NF4: _load("bnb-nf4", 4.5, 110_000_000),
             INT8: _load("bnb-int8", 8.5, 180_000_000, fallback=True)}
    for d, (dense, nf4, int8) in DATASETS.items():
        runs.append(_run(f"{MODEL}/dense", d, dense, loads[f"{MODEL}/dense"]))
        for pair, acc in ((NF4, nf4), (INT8, int8)):
            runs.append(_run(pair, d, acc, loads[pair], degenerate=(pair == NF4 and d == "pubmed_qa")))
            cps = round(math.log2(1 + acc / dense), 4)
            scores.append({"pair": pair, "dataset": d, "track": "knowledge", "n": 40, "dense_accuracy": dense,
                           "accuracy": acc, "cps": cps, "dense_score": dense, "score": acc, "acc_norm": acc,
                           "dense_acc_norm": dense})
            verdicts.append(_verdict(f"suites/knowledge/test_{d}.py::test_cps[{pair}-{d}]", "dataset", pair, d, cps,
                                     0.9 if pair == INT8 else 0.85, ci=(round(cps - 0.09, 4), round(cps + 0.06, 4))))
    for pair, value in ((NF4, 0.78), (INT8, 0.97)):
        verdicts.append(_verdict(f"suites/knowledge/test_track.py::test_track_cps[{pair}]", "track", pair,
                                 "knowledge", value, 0.9, ci=(value - 0.05, value + 0.04)))
    return {
        "medcheck": "0.1.0", "finished": "2026-11-22T01:13:01+0000", "wall_seconds": 95.2,
        "settings": {"profile": "ci", "data_dir": None, "limit": 40, "protocol": None, "dtype": "auto"},
        "runtime": {"protocol": "option-text", "dtype": "bfloat16", "device": "cpu"},
        "environment": {"medcheck_version": "0.1.0", "python": "3.11.7", "torch_version": "2.13.0+cpu"},
        "pairs_file": "suites/pairs/default.yaml", "pairs": [NF4, INT8], "tracks": copy.deepcopy(TRACKS),
        "models": {MODEL: {"spec": f"embedded:{MODEL}", "kind": "embedded", "path": "/cache/m",
                           "fingerprint": "b" * 64}},
        "datasets": {d: {"source": "sample", "path": f"/samples/{d}", "sha256": "a" * 64, "n": 40, "total": 48,
                         "loader_version": 1, "track": "knowledge", "kind": "choice"} for d in DATASETS},
        "runs": runs, "scores": scores, "verdicts": verdicts,
        "errors": {f"suites/knowledge/test_medqa.py::test_snapshot[{INT8}-medqa]": "ValueError: boom\n  at line 3"},
        "notes": ["SAMPLE DATA: bundled sample sets written by the project (not the benchmarks) were used.",
                  f"DEGENERATE: {NF4} answers 'no' to 95% of pubmed_qa items (gold 50%): its accuracy says little."],
        "throughput": [{"pair": NF4, "dataset": "medqa", "items": 40, "seconds": 12.5, "items_per_s": 3.2}],
        "schema_version": SCHEMA_VERSION,
    }


def _side(memory: float, bits: float, ttft: float, act: float, tps: float) -> dict[str, float]:
    return {"memory_bytes": memory, "bits_per_weight": bits, "ttft_s": ttft, "act_s": act, "tps": tps}


def _efficiency(pair: str, dense: dict[str, float], cand: dict[str, float]) -> dict[str, Any]:
    ratios = {k: (cand[k] / dense[k] if k == "tps" else dense[k] / cand[k]) for k in dense}
    return {"pair": pair, "model": MODEL, "compression": pair.split("/")[1], "device": "cpu",
            "memory_kind": "cpu: weight bytes + peak RSS increase during generation", "dense": dense,
            "candidate": cand, "spread": {k: {"dense": [dense[k] * 0.9, dense[k] * 1.1],
                                              "candidate": [cand[k] * 0.8, cand[k] * 1.2]}
                                          for k in ("ttft_s", "act_s", "tps")},
            "ratios": ratios, "ces": sum(ratios.values()) / len(ratios)}


def full() -> dict[str, Any]:
    """base() plus the efficiency and cross tracks' own rows and their verdicts."""
    p = base()
    dense = _side(600e6, 32.0, 0.080, 0.040, 25.0)
    efficiency = [_efficiency(NF4, dense, _side(170e6, 4.5, 0.160, 0.090, 11.0)),
                  _efficiency(INT8, dense, _side(250e6, 8.5, 0.300, 0.150, 6.5))]
    p["tracks"]["efficiency"]["rows"] = efficiency
    accs = {"dense": 0.40, "bnb-nf4": 0.30, "bnb-int8": 0.40}
    import math

    ccs = sum(math.log2(1 + a / accs["dense"]) for a in accs.values()) / len(accs)
    p["tracks"]["cross"]["rows"] = [{"model": MODEL, "datasets": ["mmlu_anatomy"], "dense_accuracy": 0.40,
                                     "accuracies": accs, "ccs": round(ccs, 4)}]
    for e in efficiency:
        p["verdicts"].append(_verdict(f"suites/efficiency/test_efficiency.py::test_ces[{e['pair']}]", "efficiency",
                                      e["pair"], "efficiency", round(e["ces"], 4), 1.0 if "nf4" in e["pair"] else 0.5,
                                      track="efficiency"))
    p["verdicts"].append(_verdict(f"suites/cross/test_ccs.py::test_ccs[{MODEL}]", "cross", MODEL, "mmlu_anatomy",
                                  round(ccs, 4), 0.85, track="cross"))
    return p


def schema3(payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """A schema-3 record: a track's own rows were a top-level list named after the track."""
    p = copy.deepcopy(payload or full())
    for name, track in p["tracks"].items():
        if "rows" in track:
            p[name] = track.pop("rows")
    return {**p, "schema_version": 3}


def legacy(payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """A schema-2 record: track descriptions without their table layout, verdict rows without their track."""
    p = schema3(payload)
    for track in p["tracks"].values():
        track.pop("table")
    for v in p["verdicts"]:
        v.pop("track")
    return {**p, "schema_version": 2}


def rec(payload: dict[str, Any]) -> RunRecord:
    """A payload as the readers read it."""
    return RunRecord.from_json(copy.deepcopy(payload), "payload")


QUESTIONS = {  # dataset -> (question, options, gold index) per item
    d: [(f"{d} question {i}: which finding points to {word}?", (f"{word} sign", "fever", "rash", "cough"), i % 4)
        for i, word in enumerate(("hepatitis", "anaemia", "sepsis", "asthma", "gout", "angina"))]
    for d in DATASETS}
# (pair, dataset) -> items the model answers wrongly; the dense model misses item 5 everywhere
WRONG = {(NF4, "medqa"): {0, 1, 5}, (NF4, "mmlu_anatomy"): {2, 5}, (INT8, "medqa"): {3, 5}}


def sample_rows() -> list[SampleRow]:
    return [SampleRow.from_json(row, "samples") for row in samples()]


def samples() -> list[dict[str, Any]]:
    """samples.jsonl rows of base(): the question text beside each model's option log-likelihoods."""
    rows = []
    for pair in (f"{MODEL}/dense", NF4, INT8):
        for d, items in QUESTIONS.items():
            for i, (question, options, gold) in enumerate(items):
                wrong = i in WRONG.get((pair, d), {5})
                pick = (gold + 1) % 4 if wrong else gold
                scores = [-4.0 - k for k in range(4)]
                scores[pick], scores[0] = scores[0], scores[pick]
                labels = ["A", "B", "C", "D"]
                rows.append({"pair": pair, "dataset": d, "item_id": f"{d}-{i}", "prediction": labels[pick],
                             "prediction_norm": labels[pick], "gold": labels[gold], "correct": not wrong,
                             "correct_norm": not wrong, "scores": scores, "prompt_tokens": 40, "question": question,
                             "options": list(options), "labels": labels})
    return rows


def copy_of(payload: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(payload)


def save(payload: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(payload, indent=1))
    return folder
