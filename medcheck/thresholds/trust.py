"""Threshold file of the trust track (YAML numbers only).

    # thresholds/trust.yaml
    exponents: {truthfulness: 2.0, safety: 3.0, ...}      # TWY's d_t per dimension
    twy: {default: 0.95, dimensions: {safety: 0.97}, compressions: {}}
    track_twy: {default: 0.95, compressions: {}}
    generation: {default: {max_new_tokens: 64, limit: 200}}
    decision: {mode: catch-damage, confidence: 0.95}      # held against TWY's bootstrap interval
    fidelity: {default: {kl_max: 0.05, same_top_min: 0.6}}   # optional (medcheck.thresholds.fidelity)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from medcheck.compression import DENSE
from medcheck.errors import ConfigError
from medcheck.thresholds import checks, fidelity
from medcheck.thresholds.floors import FidelityFloor, Floor, file_name, floor, generation_budget, rule

if TYPE_CHECKING:
    from medcheck.decision import Rule


class TrustThresholds:
    """thresholds/trust.yaml: TWY exponents per dimension, floors per dimension and for the track,
    generation budgets, and the decision rule (held against TWY's paired bootstrap interval)."""

    def __init__(self, path: Path, dimensions: list[str], dataset_ids: list[str], compressions: list[str],
                 track: str = "trust") -> None:
        self.track = track   # a floor asked for this subject is the track's own (track_twy)
        where, self.path = str(path), Path(path)
        data = checks.read_yaml(path, ["exponents", "twy", "track_twy", "generation", "decision", "fidelity"])
        exponents = data.get("exponents")
        if not isinstance(exponents, dict) or set(exponents) != set(dimensions):
            raise ConfigError(where, "exponents", f"needs an exponent for each of {', '.join(dimensions)}",
                              "e.g. exponents: {truthfulness: 2.0, safety: 3.0, ...}")
        for dim, value in exponents.items():
            checks.number(where, f"exponents.{dim}", value, 20.0)
        known = [c for c in compressions if c != DENSE]   # the reference, never floored
        per_compression = {"compressions": ("compression", known)}
        checks.floors(where, "twy", data.get("twy"), {**per_compression, "dimensions": ("dimension", dimensions)})
        checks.floors(where, "track_twy", data.get("track_twy"), per_compression)
        checks.generation(where, data.get("generation", {}), dataset_ids)
        checks.decisions(where, data, known)
        fidelity.check(where, data.get("fidelity"), known)
        self.data, self.exponents = data, {k: float(v) for k, v in exponents.items()}

    @property
    def name(self) -> str:
        return file_name(self.path)

    def twy(self, subject: str, compression: str) -> Floor:
        """A dimension's floor (compression > dimension > default), or the track's."""
        section = "track_twy" if subject == self.track else "twy"
        return floor(self.name, section, self.data[section], f"{subject} TWY", ("compressions", compression),
                     ("dimensions", subject))

    def rule(self, compression: str) -> Rule:
        return rule(self.path, self.data, compression)

    def generation(self, dataset_id: str) -> dict[str, int]:
        return generation_budget(self.data, dataset_id)

    def fidelity(self, compression: str) -> FidelityFloor | None:
        return fidelity.lookup(self.name, self.data, compression)
