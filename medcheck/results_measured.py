"""Results measured per pair or per model rather than item by item: efficiency (CES) and the
cross-combination track (CCS). They answer the interface of medcheck.results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from medcheck import metrics
from medcheck.compression import DENSE
from medcheck.pairs import Pair

if TYPE_CHECKING:
    from medcheck.efficiency import Efficiency


@dataclass(frozen=True)
class EfficiencyResult:
    pair: Pair
    dense: Efficiency
    candidate: Efficiency
    ratios: dict[str, float]     # oriented: > 1 is more efficient
    ces: float
    ratio_failures: tuple[str, ...] = ()
    kind: str = "efficiency"
    metric: str = "CES"
    subject: str = "efficiency"
    track: str = "efficiency"
    dataset_ids: tuple[str, ...] = ()

    @property
    def pair_id(self) -> str:
        return self.pair.id

    @property
    def value(self) -> float:
        return self.ces

    @property
    def n(self) -> int:
        return self.candidate.n_runs

    def reasons(self) -> list[str]:
        return list(self.ratio_failures)

    def paired(self) -> None:
        return None

    def fidelity(self, confidence: float) -> None:
        return None   # measured, not answered: nothing to compare item by item

    def scores(self) -> dict[str, Any]:
        return {}    # timings are never snapshotted

    def properties(self) -> list[tuple[str, Any]]:
        c, d = self.candidate, self.dense
        props: list[tuple[str, Any]] = [("device", c.device), ("memory_kind", c.memory_kind)]
        for dim in self.ratios:
            props += [(dim, getattr(c, dim)), (f"dense_{dim}", getattr(d, dim)),
                      (f"{dim}_ratio", round(self.ratios[dim], 4))]
        for k, row in c.by_shots.items():   # memory and latency against prompt length
            dense = d.by_shots.get(k, {})
            props += [(f"shots{k}_{name}", round(v, 4)) for name, v in row.items()]
            props += [(f"dense_shots{k}_{name}", round(v, 4)) for name, v in dense.items() if name != "prompt_tokens"]
        return props + [("ces", round(self.ces, 4)), ("weight_bytes", c.weight_bytes), ("n_runs", c.n_runs)]

    def as_dict(self) -> dict[str, Any]:
        dims = tuple(self.ratios)
        d, c = self.dense.as_dict(), self.candidate.as_dict()
        return {"pair": self.pair.id, "model": self.pair.model, "compression": self.pair.compression,
                "device": c["device"], "memory_kind": c["memory_kind"],
                "dense": {k: d[k] for k in dims}, "candidate": {k: c[k] for k in dims},
                "spread": {k: {"dense": d["spread"].get(k), "candidate": c["spread"].get(k)} for k in dims},
                "ratios": self.ratios, "ces": self.ces}


@dataclass(frozen=True)
class CrossResult:
    model: str
    datasets: tuple[str, ...]
    accuracies: dict[str, float]   # setting (dense included) -> mean accuracy over the datasets
    n: int
    sources: tuple[str, ...] = ()
    protocol: str = ""
    kind: str = "cross"
    metric: str = "CCS"
    track: str = "cross"

    @property
    def dataset_ids(self) -> tuple[str, ...]:
        return ()   # its verdict counts settings, not datasets

    @property
    def subject(self) -> str:
        return ",".join(self.datasets)

    @property
    def pair_id(self) -> str:
        return self.model

    @property
    def value(self) -> float:
        return self.ccs

    @property
    def ccs(self) -> float:
        dense = self.accuracies[DENSE]
        return metrics.ccs({self.model: dense}, {(self.model, s): a for s, a in self.accuracies.items()})

    def reasons(self) -> list[str]:
        return []

    def paired(self) -> None:
        return None

    def fidelity(self, confidence: float) -> None:
        return None   # measured, not answered: nothing to compare item by item

    def scores(self) -> dict[str, Any]:
        return {"n": self.n, "ccs": round(self.ccs, 4),
                "accuracies": {k: round(v, 4) for k, v in self.accuracies.items()}}

    def properties(self) -> list[tuple[str, Any]]:
        return [("dataset", ",".join(self.datasets)), ("data_source", ",".join(self.sources)), ("n", self.n),
                ("ccs", round(self.ccs, 4)), *[(f"accuracy_{s}", round(a, 4)) for s, a in self.accuracies.items()]]

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "datasets": list(self.datasets),
                "dense_accuracy": round(self.accuracies[DENSE], 4),
                "accuracies": {k: round(v, 4) for k, v in self.accuracies.items()}, "ccs": round(self.ccs, 4)}
