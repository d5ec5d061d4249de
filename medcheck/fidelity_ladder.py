"""Measure fidelity floors: a dense model against a ladder of compressions, on choice and generated sets.

    python -m medcheck.fidelity_ladder --model embedded:smollm2-135m \\
        --compressions rtn-w8,bnb-int8,rtn-w4,rtn-w2,wanda-50 --datasets pubmed_qa,medqa,medqa_gen

Loads each (compressed) model once through the hf backend, scores the bundled samples (or
`--data-dir`), and prints per compression and dataset: mean KL with its interval, the same-top
rate with its exact interval, and accuracy beside them; `--out` keeps it all as JSON (per item
too). Harmless compressions' upper bounds are what the thresholds' default floors are set from.
Standalone on purpose: it does not go through the evaluator or the results store.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medcheck import datasets, task_kinds
from medcheck.backends.teacher import DEFAULT_TOP_K, TokenDists
from medcheck.fidelity import FidelitySummary, ItemFidelity, choice_items, generated_items, gold_indices, summarize


@dataclass
class _Scored:
    choice: dict[str, list[Any]] = field(default_factory=dict)          # dataset -> SampleRecords
    texts: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)   # dataset -> (id, prompt, text)
    dists: dict[str, dict[str, TokenDists]] = field(default_factory=dict)


def _score(backend: Any, loaded: dict[str, Any], protocol: str, dense: _Scored | None, top_k: int) -> _Scored:
    from medcheck.prompts import requests_for
    from medcheck.scoring.choice import TOP_K as CHOICE_TOP_K
    from medcheck.scoring.choice import score_item
    from medcheck.strategies import Strategy, generate_records, user_prompt

    out = _Scored()
    for dataset_id, ds in loaded.items():
        if not task_kinds.of(datasets.info(dataset_id).kind).generates:   # as the gate scores them
            reqs = [requests_for(item, protocol, ds.prompt_style) for item in ds.items]
            scored = backend.loglikelihood_dists([r for rs in reqs for r in rs], CHOICE_TOP_K)
            records, at = [], 0
            for item, rs in zip(ds.items, reqs):
                part = scored[at:at + len(rs)]
                records.append(score_item(item, [ll for ll, _ in part], [len(r.continuation) for r in rs],
                                          [d for _, d in part]))
                at += len(rs)
            out.choice[dataset_id] = records
            continue
        spec = datasets.info(dataset_id)
        if dense is None:   # the dense model writes the answers both models are forced along
            instruction = spec.instruction(datasets.data_root(None))  # type: ignore[attr-defined]
            prompts = [user_prompt(spec, item, Strategy(), instruction) for item in ds.items]  # type: ignore[arg-type]
            gens = generate_records(backend, spec, ds.items, Strategy(), prompts,  # type: ignore[arg-type]
                                    spec.max_new_tokens, seed=1234)  # type: ignore[attr-defined]
            out.texts[dataset_id] = [(g.item_id, g.prompt, g.texts[0]) for g in gens]
        texts = (dense or out).texts[dataset_id]
        extra = None if dense is None else [[list(d.top_ids[t][:top_k]) for t in range(len(d.tokens))]
                                            for d in (dense.dists[dataset_id][i] for i, _, _ in texts)]
        dists = backend.token_distributions([(p, t) for _, p, t in texts], top_k=top_k, extra_ids=extra)
        out.dists[dataset_id] = {i: d for (i, _, _), d in zip(texts, dists)}
    return out


def measure(model_spec: str, compressions: list[str], dataset_ids: list[str], *, protocol: str = "option-text",
            limit: int | None = None, data_dir: Path | None = None, cache_dir: Path | None = None,
            dtype: str = "auto", top_k: int = DEFAULT_TOP_K) -> dict[str, Any]:
    """{compression: {dataset: {"summary", "accuracy", "dense_accuracy", "items"}}}, plus "_meta"."""
    from medcheck.backends.hf import HFBackend
    from medcheck.compression import DENSE, LoadOptions
    from medcheck.models import resolve
    from medcheck.settings import default_cache_dir

    cache = cache_dir or default_cache_dir()
    model = resolve(model_spec, cache)
    runtime = HFBackend.runtime(dtype, "cpu")
    options = LoadOptions(dtype=runtime[0], device=runtime[1], cache_dir=cache, base_fingerprint=model.fingerprint)
    loaded = {d: datasets.load(d, data_dir, limit) for d in dataset_ids}
    result: dict[str, Any] = {"_meta": {"model": model_spec, "protocol": protocol, "dtype": runtime[0],
                                        "top_k": top_k, "source": "real" if data_dir else "sample",
                                        "items": {d: len(ds.items) for d, ds in loaded.items()}}}
    dense: _Scored | None = None
    for comp in [DENSE, *compressions]:
        t0 = time.perf_counter()
        backend = HFBackend.load(comp, model, comp, options).backend
        scored = _score(backend, loaded, protocol, dense, top_k)
        backend.close()
        print(f"{comp}: scored in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        if dense is None:
            dense = scored
            continue
        per: dict[str, Any] = {}
        for d, ds in loaded.items():
            if d in scored.choice:
                items = choice_items(dense.choice[d], scored.choice[d], gold_indices(ds.items))  # type: ignore[arg-type]
                acc = [sum(r.correct for r in recs) / len(recs) for recs in (dense.choice[d], scored.choice[d])]
            else:
                items = generated_items(dense.dists[d], scored.dists[d])
                acc = [float("nan"), float("nan")]
            summary = summarize(items)
            per[d] = {"summary": summary.as_dict() if summary else None, "dense_accuracy": acc[0],
                      "accuracy": acc[1], "items": [i.as_dict() for i in items]}
        result[comp] = per
        print(table({comp: per}), file=sys.stderr, flush=True)   # a long ladder shows each rung as it lands
    return result


def table(result: dict[str, Any]) -> str:
    lines = [f"{'compression':12} {'dataset':14} {'n':>3} {'mean KL [95% CI]':>30} {'same top [95% CI]':>26}"
             f" {'tok same':>8} {'option KL':>9} {'acc d->c':>12}  (KL per token where both keep top-k)"]
    for comp, per in result.items():
        if comp.startswith("_"):
            continue
        for d, row in per.items():
            s = row["summary"]
            if s is None:
                lines.append(f"{comp:12} {d:14}   - fidelity not measured")
                continue
            f = FidelitySummary(**s)
            tok = f"{f.token_same_top:.3f}" if f.token_same_top is not None else ""
            acc = "" if row["accuracy"] != row["accuracy"] else f"{row['dense_accuracy']:.2f}->{row['accuracy']:.2f}"
            opt = "" if f.option_kl is None else f"{f.option_kl:.4g}"
            same = f"{f.same_top:6.1%} [{f.same_top_low:6.1%}, {f.same_top_high:6.1%}]"
            lines.append(f"{comp:12} {d:14} {f.n:3g} {f.kl:9.4g} [{f.kl_low:8.3g}, {f.kl_high:8.3g}] "
                         f"{same} {tok:>8} {opt:>9} {acc:>12}")
    return "\n".join(lines)


def first_n(result: dict[str, Any], n: int) -> dict[str, Any]:
    """The same result recomputed on each dataset's first n items (the seeded order): small-n behaviour."""
    out: dict[str, Any] = {"_meta": {**result["_meta"], "first_n": n}}
    for comp, per in result.items():
        if comp.startswith("_"):
            continue
        out[comp] = {}
        for d, row in per.items():
            items = [ItemFidelity(**i) for i in row["items"][:n]]
            s = summarize(items)
            out[comp][d] = {**row, "summary": s.as_dict() if s else None, "accuracy": float("nan"), "items": []}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m medcheck.fidelity_ladder", description=__doc__.split("\n")[0])
    p.add_argument("--model", default="embedded:smollm2-135m")
    p.add_argument("--compressions", default="rtn-w8,bnb-int8,rtn-w4,rtn-w2,wanda-50")
    p.add_argument("--datasets", default="pubmed_qa,medqa,medqa_gen,pubmed_qa_gen")
    p.add_argument("--protocol", default="option-text")
    p.add_argument("--limit", type=int)
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--dtype", default="auto")
    p.add_argument("--top-k", type=int, default=DEFAULT_TOP_K)
    p.add_argument("--first", default="10,20", help="also summarise the first N items (comma-separated)")
    p.add_argument("--out", type=Path, help="write the full result (per item too) as JSON")
    a = p.parse_args(argv)
    result = measure(a.model, [c for c in a.compressions.split(",") if c], a.datasets.split(","),
                     protocol=a.protocol, limit=a.limit, data_dir=a.data_dir, dtype=a.dtype, top_k=a.top_k)
    print(json.dumps(result["_meta"]))
    print(table(result))
    for n in [int(x) for x in a.first.split(",") if x]:
        print(f"\nfirst {n} items of each dataset:")
        print(table(first_n(result, n)))
    if a.out:
        a.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
