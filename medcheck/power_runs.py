"""What ``medcheck power`` reads of a run dir, and its run-level simulation.

samples.jsonl holds two kinds of rows: choice rows carry ``correct``; generated rows (GenRecord:
``texts``, ``parsed``, ...) carry no score, so they are rescored with the dataset's own scorer on
the items as run, read again from the run's data dir (or the bundled samples) and checked against
the recorded sha256 (medcheck.verify.items_of). A task whose metric is an item mean (accuracy,
refusal rate) gives its item scores (oriented so higher is better); a corpus metric (F1) has none,
and the exact match of each item's parsed answer stands in for it (said in the output). Item
scores between 0 and 1 are coupled to 0/1 outcomes as the decision does (medcheck.paired_exact).

Run level. The candidates of one pair are simulated once per run over all its datasets, and every
verdict of that pair is decided on the same simulated items, so "any test of the run fails" is
counted as the run would count it (tests that share datasets are dependent, as in the gate).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medcheck.decision import Rule
    from medcheck.record import RunRecord
    from medcheck.record_rows import VerdictRow

GEN_KEYS = ("texts", "parsed")


def generative_scores(record: RunRecord, dataset: str, rows: list[dict[str, Any]]) -> tuple[dict[str, float], str]:
    """{item_id: score} of a pair's generated rows on ``dataset``, and how they were scored."""
    from medcheck.prompting import spec_of
    from medcheck.verify import items_of

    ids = [str(r["item_id"]) for r in rows]
    items = items_of(record, dataset, ids, record.settings.get("seed", 0))   # KeyError: the items are not here
    parsed = [r.get("parsed") for r in rows]
    score = spec_of(dataset).score(list(items), parsed)
    if score.item_scores is not None:
        values = score.item_scores if score.higher_is_better else tuple(1.0 - x for x in score.item_scores)
        return dict(zip(ids, map(float, values))), f"item {score.primary}"
    return {i: float(p is not None and _norm(p) == _norm(getattr(it, "gold", None)))
            for i, p, it in zip(ids, parsed, items)}, f"exact match (stands in for corpus {score.primary})"


def _norm(x: Any) -> str:
    import json

    return json.dumps(sorted(map(str, x)) if isinstance(x, (list, tuple)) else x, sort_keys=True)


def binary(paired: Any, seed: int = 0) -> Any:
    """``paired`` with scores in [0, 1] coupled to 0/1 outcomes (medcheck.paired_exact.binarize)."""
    from medcheck.paired_exact import binarize
    from medcheck.stats import Paired

    if paired.is_binary:
        return paired
    d, c = binarize(paired, seed)
    return Paired(tuple(d.astype(float)), tuple(c.astype(float)), paired.strata)


def per_run(verdicts: list[tuple[VerdictRow, Rule, Any]], loss: float, runs: int, seed: int) -> tuple[float, float]:
    """(share of simulated runs where some test fails, where some test fails the run) for
    candidates with ``loss`` (0: noise only); ``verdicts`` are (verdict row, its rule, its Paired)."""
    import numpy as np

    from medcheck import power
    from medcheck.stats import Paired

    by_pair: dict[str, list[tuple[VerdictRow, Rule, Any]]] = {}
    for v, rule, p in verdicts:
        by_pair.setdefault(v.pair, []).append((v, rule, p))
    any_fail = np.zeros(runs, dtype=bool)
    any_block = np.zeros(runs, dtype=bool)
    for k, (_, mine) in enumerate(sorted(by_pair.items())):
        columns: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {}
        for _v, _rule, p in mine:
            for name in p.names:
                idx = [i for i, s in enumerate(p.strata) if s == name]
                columns[name] = (tuple(p.dense[i] for i in idx), tuple(p.candidate[i] for i in idx))
        names = sorted(columns)
        whole = Paired(tuple(x for s in names for x in columns[s][0]), tuple(x for s in names for x in columns[s][1]),
                       tuple(s for s in names for _ in columns[s][0]))
        cands = power.candidates(whole, loss, runs, seed + k)
        labels = np.asarray(whole.strata)
        for v, rule, p in mine:
            cols = np.flatnonzero(np.isin(labels, p.names))
            sub = Paired(tuple(whole.dense[i] for i in cols), tuple(whole.candidate[i] for i in cols),
                         tuple(whole.strata[i] for i in cols))
            codes = power.outcomes(sub, cands[:, cols], float(v.floor), rule)
            any_fail |= codes == 1
            any_block |= (codes == 1) | ((codes == 2) & bool(rule.inconclusive_fails))
    return float(any_fail.mean()), float(any_block.mean())
