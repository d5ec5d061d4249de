"""Threshold files of the efficiency and cross-combination tracks (YAML numbers only).

    # thresholds/efficiency.yaml
    measurement: {max_new_tokens: 16, repeats: 2, prompts: 2}        # profiles smoke / ci / standard
    full_measurement: {max_new_tokens: 32, repeats: 3, prompts: 4}   # profile full
    ces: {default: 0.5, compressions: {bnb-nf4: 1.0}}
    ratios: {compressions: {bnb-nf4: {memory_bytes: 1.5}}}   # oriented ratio floors per dimension
    decision: {mode: catch-damage, confidence: 0.95}          # CES and ratios on their intervals

A dimension's direction is part of its definition (medcheck.efficiency.DIMENSIONS), not a
number to configure: a file written before that may keep its `higher_is_better:` block only
where it says what the definitions say.

    # thresholds/cross.yaml
    ccs: {default: 0.85, models: {smollm2-135m: 0.85}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medcheck.compression import DENSE
from medcheck.efficiency import DIMENSIONS
from medcheck.errors import ConfigError
from medcheck.thresholds import checks
from medcheck.thresholds.floors import Floor, file_name, floor
from medcheck.thresholds.floors import rule as layered_rule

MEASUREMENT = {"max_new_tokens": (1, 4096), "repeats": (1, 100), "prompts": (1, 64)}
RATIO_MAX = 100.0   # an oriented ratio (or CES) floor past this is a typo


class EfficiencyThresholds:
    def __init__(self, path: Path, compressions: list[str]) -> None:
        where, self.path = str(path), Path(path)
        data = checks.read_yaml(path, sorted({"higher_is_better", "measurement", "full_measurement", "ces", "ratios",
                                              "decision"}))
        _directions(where, data.get("higher_is_better"))
        sizes = {}
        for section in ("measurement", "full_measurement"):
            measurement = data.get(section, {})
            if not isinstance(measurement, dict):
                raise ConfigError(where, section, "expected a mapping",
                                  "e.g. {max_new_tokens: 16, repeats: 2, prompts: 2}")
            shots = measurement.get("shots", [])   # prompt lengths of the memory / latency sweep
            if not isinstance(shots, list) or not all(type(v) is int and 0 <= v <= 16 for v in shots):
                raise ConfigError(where, f"{section}.shots",
                                  f"expected a list of shot counts in [0, 16], got {shots!r}",
                                  "e.g. shots: [0, 1, 3, 5], or [] for no sweep")
            checks.whole_numbers(where, section, {k: v for k, v in measurement.items() if k != "shots"}, MEASUREMENT)
            sizes[section] = {"max_new_tokens": 32, "repeats": 3, "prompts": 4, "shots": [], **measurement}
        known = [c for c in compressions if c != DENSE]   # the reference, never floored
        checks.floors(where, "ces", data.get("ces"), {"compressions": ("compression", known)}, RATIO_MAX)
        ratios = data.get("ratios", {"compressions": {}})
        if not isinstance(ratios, dict) or any(k != "compressions" for k in ratios):
            raise ConfigError(where, "ratios", "expected a mapping with only compressions",
                              "e.g. ratios: {compressions: {bnb-nf4: {memory_bytes: 1.5}}}")
        for comp, dims in checks.names(where, "ratios.compressions", ratios.get("compressions") or {},
                                       "compression", known).items():
            for dim, value in checks.names(where, f"ratios.compressions.{comp}", dims, "dimension",
                                           [d.name for d in DIMENSIONS]).items():
                checks.number(where, f"ratios.compressions.{comp}.{dim}", value, RATIO_MAX)
        checks.decisions(where, data, known)
        self.data = data
        self.measurement = sizes["measurement"]            # quick: the default profiles
        self.full_measurement = sizes["full_measurement"]  # profile full

    @property
    def name(self) -> str:
        return file_name(self.path)

    def ces(self, compression: str) -> Floor:
        return floor(self.name, "ces", self.data["ces"], "CES", ("compressions", compression))

    def rule(self, compression: str) -> Any:
        """The decision rule of CES and the ratio floors (`decision:`; without one, the point rule)."""
        return layered_rule(self.path, self.data, compression)

    def ratio_floors(self, compression: str) -> list[tuple[str, Floor]]:
        """(dimension, floor) for each per-dimension ratio floor of `compression`."""
        dims = self.data.get("ratios", {}).get("compressions", {}).get(compression, {})
        return [(dim, Floor(f"{dim} ratio", value, f"{self.name}: ratios.compressions.{compression}.{dim}"))
                for dim, value in dims.items()]


def _directions(where: str, given: Any) -> None:
    """An old file's `higher_is_better:` is accepted where it means what the definitions say."""
    if given is None:
        return
    declared = {d.name: d.higher_is_better for d in DIMENSIONS}
    if given != declared:
        raise ConfigError(where, "higher_is_better",
                          "a dimension's direction is part of its definition (medcheck.efficiency.DIMENSIONS), "
                          f"and this block differs from it: {given!r}",
                          "delete the higher_is_better block: memory, bits, TTFT and ACT are better lower, "
                          "TPS higher")


class CrossThresholds:
    def __init__(self, path: Path, models: list[str]) -> None:
        self.path = Path(path)
        data = checks.read_yaml(path, ["ccs", "decision"])
        checks.floors(str(path), "ccs", data.get("ccs"), {"models": ("model", models or ["<model>"])})
        self.data = data

    @property
    def name(self) -> str:
        return file_name(self.path)

    def ccs(self, model: str) -> Floor:
        return floor(self.name, "ccs", self.data["ccs"], "CCS", ("models", model))

    def rule(self, model: str) -> Any:
        """How CCS is held against its floor (`decision:`; without one, the point rule)."""
        return layered_rule(self.path, self.data, model)
