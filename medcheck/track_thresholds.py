"""Threshold files of the efficiency and cross-combination tracks (YAML numbers only).

    # thresholds/efficiency.yaml
    higher_is_better: {memory_bytes: false, bits_per_weight: false, ttft_s: false, act_s: false, tps: true}
    measurement: {max_new_tokens: 16, repeats: 2, prompts: 2}        # profiles smoke / ci / standard
    full_measurement: {max_new_tokens: 32, repeats: 3, prompts: 4}   # profile full
    ces: {default: 0.5, compressions: {bnb-nf4: 1.0}}
    ratios: {compressions: {bnb-nf4: {memory_bytes: 1.5}}}   # oriented ratio floors per dimension

    # thresholds/cross.yaml
    ccs: {default: 0.85, models: {smollm2-135m: 0.85}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medcheck.errors import ConfigError
from medcheck.thresholds import Floor, _names, _number, generation_budget, read_yaml, whole_numbers

DIMENSIONS = ("memory_bytes", "bits_per_weight", "ttft_s", "act_s", "tps")
MEASUREMENT = {"max_new_tokens": (1, 4096), "repeats": (1, 100), "prompts": (1, 64)}


def _read(path: Path, allowed: set[str]) -> dict[str, Any]:
    return read_yaml(path, sorted(allowed))


def _floors(where: str, section: str, body: Any, kind: str, known: list[str], hi: float | None = None) -> None:
    if not isinstance(body, dict) or "default" not in body:
        raise ConfigError(where, section, "missing, not a mapping, or no default", f"add {section}: {{default: 1.0}}")
    for key in body:
        if key not in ("default", kind):
            raise ConfigError(where, f"{section}.{key}", "unknown key", f"allowed: default, {kind}")
    _number(where, f"{section}.default", body["default"], hi)
    for name, value in _names(where, f"{section}.{kind}", body.get(kind, {}), kind[:-1], known).items():
        _number(where, f"{section}.{kind}.{name}", value, hi)


class EfficiencyThresholds:
    def __init__(self, path: Path, compressions: list[str]) -> None:
        where, self.path = str(path), Path(path)
        data = _read(path, {"higher_is_better", "measurement", "full_measurement", "ces", "ratios"})
        directions = data.get("higher_is_better")
        if not isinstance(directions, dict) or set(directions) != set(DIMENSIONS) or \
                not all(isinstance(v, bool) for v in directions.values()):
            raise ConfigError(where, "higher_is_better", f"needs true/false for each of {', '.join(DIMENSIONS)}",
                              "e.g. higher_is_better: {memory_bytes: false, ..., tps: true}")
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
            whole_numbers(where, section, {k: v for k, v in measurement.items() if k != "shots"}, MEASUREMENT)
            sizes[section] = {"max_new_tokens": 32, "repeats": 3, "prompts": 4, "shots": [], **measurement}
        known = [c for c in compressions if c != "dense"]
        _floors(where, "ces", data.get("ces"), "compressions", known, hi=100.0)
        ratios = data.get("ratios", {"compressions": {}})
        if not isinstance(ratios, dict) or any(k != "compressions" for k in ratios):
            raise ConfigError(where, "ratios", "expected a mapping with only compressions",
                              "e.g. ratios: {compressions: {bnb-nf4: {memory_bytes: 1.5}}}")
        for comp, dims in _names(where, "ratios.compressions", ratios.get("compressions") or {},
                                 "compression", known).items():
            for dim, value in _names(where, f"ratios.compressions.{comp}", dims, "dimension", list(DIMENSIONS)).items():
                _number(where, f"ratios.compressions.{comp}.{dim}", value, 100.0)
        self.data, self.directions = data, dict(directions)
        self.measurement = sizes["measurement"]            # quick: the default profiles
        self.full_measurement = sizes["full_measurement"]  # profile full

    @property
    def name(self) -> str:
        return f"{self.path.parent.name}/{self.path.name}"

    def ces(self, compression: str) -> Floor:
        table = self.data["ces"].get("compressions", {})
        if compression in table:
            return Floor("CES", table[compression], f"{self.name}: ces.compressions.{compression}")
        return Floor("CES", self.data["ces"]["default"], f"{self.name}: ces.default")

    def ratio_floors(self, compression: str) -> list[tuple[str, Floor]]:
        """(dimension, floor) for each per-dimension ratio floor of `compression`."""
        dims = self.data.get("ratios", {}).get("compressions", {}).get(compression, {})
        return [(dim, Floor(f"{dim} ratio", value, f"{self.name}: ratios.compressions.{compression}.{dim}"))
                for dim, value in dims.items()]


class CrossThresholds:
    def __init__(self, path: Path, models: list[str]) -> None:
        self.path = Path(path)
        data = _read(path, {"ccs"})
        _floors(str(path), "ccs", data.get("ccs"), "models", models or ["<model>"])
        self.data = data

    def ccs(self, model: str) -> Floor:
        name = f"{self.path.parent.name}/{self.path.name}"
        table = self.data["ccs"].get("models", {})
        if model in table:
            return Floor("CCS", table[model], f"{name}: ccs.models.{model}")
        return Floor("CCS", self.data["ccs"]["default"], f"{name}: ccs.default")


class TrustThresholds:
    """thresholds/trust.yaml: TWY exponents per dimension, floors per dimension and for the track,
    generation budgets, and the decision rule (held against TWY's paired bootstrap interval)."""

    def __init__(self, path: Path, dimensions: list[str], dataset_ids: list[str], compressions: list[str],
                 track: str = "trust") -> None:
        from medcheck.thresholds import _decisions, check_generation

        self.track = track   # a floor asked for this subject is the track's own (track_twy)
        where, self.path = str(path), Path(path)
        data = _read(path, {"exponents", "twy", "track_twy", "generation", "decision"})
        exponents = data.get("exponents")
        if not isinstance(exponents, dict) or set(exponents) != set(dimensions):
            raise ConfigError(where, "exponents", f"needs an exponent for each of {', '.join(dimensions)}",
                              "e.g. exponents: {truthfulness: 2.0, safety: 3.0, ...}")
        for dim, value in exponents.items():
            _number(where, f"exponents.{dim}", value, 20.0)
        known = [c for c in compressions if c != "dense"]
        body = data.get("twy")
        _floors(where, "twy", {k: v for k, v in (body or {}).items() if k != "dimensions"} if isinstance(body, dict)
                else body, "compressions", known)
        dims = body.get("dimensions", {}) if isinstance(body, dict) else {}   # _floors refused any other body
        for dim, value in _names(where, "twy.dimensions", dims, "dimension", dimensions).items():
            _number(where, f"twy.dimensions.{dim}", value)
        _floors(where, "track_twy", data.get("track_twy"), "compressions", known)
        check_generation(where, data.get("generation", {}), dataset_ids)
        _decisions(where, {**data, "cps": {}, "track_cps": {}}, known)
        self.data, self.exponents = data, {k: float(v) for k, v in exponents.items()}

    @property
    def name(self) -> str:
        return f"{self.path.parent.name}/{self.path.name}"

    def twy(self, subject: str, compression: str) -> Floor:
        """A dimension's floor (compression > dimension > default), or the track's."""
        section = "track_twy" if subject == self.track else "twy"
        body = self.data[section]
        if compression in body.get("compressions", {}):
            return Floor(f"{subject} TWY", body["compressions"][compression],
                         f"{self.name}: {section}.compressions.{compression}")
        if subject in body.get("dimensions", {}):
            return Floor(f"{subject} TWY", body["dimensions"][subject], f"{self.name}: twy.dimensions.{subject}")
        return Floor(f"{subject} TWY", body["default"], f"{self.name}: {section}.default")

    def rule(self, compression: str) -> Any:
        from medcheck.decision import rule_from_yaml

        body = self.data.get("decision", {})
        override = body.get("compressions", {}).get(compression, {})
        merged = {**{k: v for k, v in body.items() if k != "compressions"}, **override}
        key = f"decision.compressions.{compression}" if override else "decision"
        return rule_from_yaml(str(self.path), key, merged)

    def generation(self, dataset_id: str) -> dict[str, int]:
        return generation_budget(self.data, dataset_id)
