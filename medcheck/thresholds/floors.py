"""How a threshold file's numbers resolve: a floor (most specific override, else the section's
default), a decision rule or a fidelity floor (layers merged over each other), a generation budget.
Each answer names where it came from as "dir/file.yaml: section.key", the way a breach is reported."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medcheck.decision import Rule


@dataclass(frozen=True)
class FidelityFloor:
    """Floors of the fidelity to the dense model (medcheck.thresholds.fidelity)."""
    kl_max: float
    same_top_min: float
    rule: str            # where the numbers came from, e.g. "knowledge.yaml: fidelity.compressions.rtn-w8"


@dataclass(frozen=True)
class Floor:
    metric: str
    value: float
    rule: str            # where the number came from, e.g. "knowledge.yaml: cps.datasets.medqa"
    fidelity: FidelityFloor | None = None   # floors of the fidelity to the dense model, where gated

    def fails(self, current: float, n: int) -> str | None:
        """A readable message when `current` is below the floor, else None."""
        if current >= self.value:
            return None
        return f"{self.metric} {current:.3f} < {self.value:.3f} ({self.rule}), n={n}"


def file_name(path: Path) -> str:
    """A threshold file as its floors name it: its folder and name, e.g. "thresholds/knowledge.yaml"."""
    return f"{path.parent.name}/{path.name}"


def floor(name: str, section: str, body: Mapping[str, Any], metric: str, *overrides: tuple[str, ...]) -> Floor:
    """The floor of `section`: the first override whose key path (e.g. ("compressions", "bnb-nf4"))
    the section holds, else its default."""
    for path in overrides:
        value: Any = body
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if value is not None:
            return Floor(metric, value, f"{name}: {section}.{'.'.join(path)}")
    return Floor(metric, body["default"], f"{name}: {section}.default")


def merged(layers: Iterable[tuple[str, Mapping[str, Any]]], default: str = "") -> tuple[dict[str, Any], str]:
    """Layers (key, values), later over earlier -> the merged values and the key of the last layer
    that set any (`default` where none did)."""
    values: dict[str, Any] = {}
    where = default
    for key, body in layers:
        if body:
            values.update(body)
            where = key
    return values, where


def decision_layers(data: Mapping[str, Any], compression: str, *sections: str) -> list[tuple[str, dict[str, Any]]]:
    """The `decision:` layers that apply to a compression, least specific first: the file's block,
    its override for the compression, then each section's block and override."""
    layers = []
    for key, body in [("decision", data.get("decision") or {}),
                      *((f"{s}.decision", data[s].get("decision") or {}) for s in sections)]:
        layers += [(key, {k: v for k, v in body.items() if k != "compressions"}),
                   (f"{key}.compressions.{compression}", (body.get("compressions") or {}).get(compression) or {})]
    return layers


def rule(path: Path, data: Mapping[str, Any], compression: str, *sections: str) -> Rule:
    """The decision rule for a compression: file < its override < section < the section's override."""
    from medcheck.decision import rule_from_yaml

    values, where = merged(decision_layers(data, compression, *sections), "decision")
    return rule_from_yaml(str(path), where, values)


def generation_budget(data: Mapping[str, Any], dataset_id: str) -> dict[str, int]:
    """Token budget and item cap of a generative dataset: its entry over the file's default."""
    body = data.get("generation", {})
    return {**body.get("default", {}), **body.get("datasets", {}).get(dataset_id, {})}
