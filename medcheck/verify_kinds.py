"""`verify`'s recompute functions beyond datasets and choice tracks: the cross-combination and
efficiency verdicts, the generate dataset kind and the trust track's TWY verdicts.

Generated records are rescored from samples.jsonl with the task's own scorer, which needs the
items' gold answers: the dataset is read again from the run's data dir (or the bundled samples)
and must hash to the recorded sha256, else the run cannot be recomputed here.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from medcheck import datasets, verify
from medcheck.datasets.types import content_hash
from medcheck.gate import GateSession
from medcheck.scoring.generative import GenRecord
from medcheck.verify import Recomputed, SavedRun


def items_of(saved: Any, dataset_id: str, ids: list[str]) -> tuple[Any, ...]:
    data_dir = saved.report["settings"].get("data_dir")
    full = datasets.load(dataset_id, Path(data_dir) if data_dir else None, None, saved.seed)
    by_id = {item.id: item for item in full.items}
    recorded = saved.report["datasets"][dataset_id]["sha256"]
    items = tuple(by_id[i] for i in ids if i in by_id)
    if len(items) != len(ids) or content_hash(items) != recorded:
        raise KeyError(f"{dataset_id} items as run (sha256 {recorded[:12]}) in {data_dir or 'the bundled samples'}")
    return items


def _generated_records(dataset_id: str, rows: list[dict[str, Any]], saved: Any) -> tuple[tuple[Any, ...], Any]:
    records = tuple(GenRecord.from_dict(r) for r in rows)
    items = items_of(saved, dataset_id, [r.item_id for r in records])
    return records, datasets.info(dataset_id).score(items, [r.parsed for r in records])


def trust_thresholds(path: Path) -> Any:
    from medcheck import tracks
    from medcheck.compression import RECIPES
    from medcheck.track_thresholds import TrustThresholds

    trust = tracks.get("trust")
    return TrustThresholds(path, list(trust.dimensions()), list(trust.datasets()), sorted(RECIPES))


def _trust(saved: Any, row: dict[str, Any]) -> verify.Recomputed:
    from medcheck.results_trust import TrustResult

    pair, subject = saved.pair(row["pair"]), row["subject"]
    dims = {k: tuple(v) for k, v in saved.report["tracks"]["trust"]["dimensions"].items()}
    if subject != "trust":
        dims = {subject: dims[subject]}
    t = saved.thresholds("trust")
    results = tuple(saved.evaluate(pair, d) for ids in dims.values() for d in ids)
    result = TrustResult(pair, subject, results, dims, {k: t.exponents[k] for k in dims})
    return verify.Recomputed(result, t.twy(subject, pair.compression), t.rule(pair.compression))


def _cross(saved: SavedRun, row: dict[str, Any]) -> Recomputed:
    model = row["pair"]
    # the gate's own method on a stand-in session whose evaluator is the saved run
    shim = SimpleNamespace(pairs_file=SimpleNamespace(cross_datasets=row["subject"].split(",")),
                           pairs=saved.pairs_of(model), evaluator=saved, cross_results=[])
    return Recomputed(GateSession.cross(shim, model), saved.thresholds("cross").ccs(model), None)  # type: ignore[arg-type]


def _efficiency(saved: SavedRun, row: dict[str, Any]) -> Recomputed:
    from medcheck.efficiency import Efficiency

    pair = saved.pair(row["pair"])
    saved_row = next(e for e in saved.report["efficiency"] if e["pair"] == row["pair"])
    measured = {}
    for side, compression in (("dense", "dense"), ("candidate", pair.compression)):
        spread = {k: tuple(v[side]) for k, v in saved_row["spread"].items() if v.get(side) is not None}
        measured[compression] = Efficiency(device=saved_row["device"], memory_kind=saved_row["memory_kind"],
                                           weight_bytes=0, spread=spread, n_runs=row["n"], **saved_row[side])
    thresholds = saved.thresholds("efficiency")
    shim = SimpleNamespace(_measure=lambda model, compression: measured[compression], efficiency_results=[],
                           efficiency_thresholds=thresholds)
    result = GateSession.efficiency(shim, pair)  # type: ignore[arg-type]
    return Recomputed(result, thresholds.ces(pair.compression), None, frozenset({"weight_bytes"}))


verify.register("cross", _cross)
verify.register("efficiency", _efficiency)
verify.register("generate", records=_generated_records)
verify.register("trust", _trust)
