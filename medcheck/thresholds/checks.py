"""Checks of a threshold file, run when it is read so that a typo stops the run before anything is
scored. Every problem is a ConfigError naming the file, the key and the fix."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from medcheck.errors import ConfigError, did_you_mean
from medcheck.yamlfile import read_yaml as strict_yaml

FLOOR_RANGE = (0.0, 2.0)   # CPS is log2(1 + ratio): 1.0 is parity; a floor past 2 is a typo
RULE_KEYS = ("mode", "confidence", "inconclusive_fails", "suspicious_gain")
BUDGET_KEYS = {"max_new_tokens": (1, 8192), "limit": (1, 10**7)}


def read_yaml(path: Path, allowed: Iterable[str]) -> dict[str, Any]:
    """A threshold file's top-level mapping, with only the allowed keys, or a ConfigError."""
    where, allowed = str(path), list(allowed)
    data = strict_yaml(Path(path), "threshold file", "restore it from git")
    if not isinstance(data, dict):
        raise ConfigError(where, "", "expected a mapping", f"top-level keys: {', '.join(allowed)}")
    for key in data:
        if key not in allowed:
            raise ConfigError(where, str(key), "unknown key", f"allowed: {', '.join(allowed)}")
    return data


def number(where: str, key: str, value: Any, upper: float | None = None) -> float:
    """A floor: a plain number in (0, 2] (a CPS-like score), or in (0, upper] for a ratio."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(where, key, f"expected a number, got {value!r}", "write a plain number such as 0.95")
    lo, hi = FLOOR_RANGE[0], upper or FLOOR_RANGE[1]
    if not lo < value <= hi:
        hint = ("a CPS floor is log2(1 + compressed/dense): 1.0 means parity, 0.85 allows ~20% loss" if upper is None
                else "a ratio floor: 1.0 means as efficient as dense, 2.0 twice as efficient")
        raise ConfigError(where, key, f"{value} is out of range ({lo}, {hi}]", hint)
    return float(value)


def names(where: str, key: str, value: Any, kind: str, known: Sequence[str]) -> dict[str, Any]:
    """A mapping whose keys are all known names of `kind` (datasets, compressions, ...)."""
    if not isinstance(value, dict):
        raise ConfigError(where, key, f"expected a mapping of {kind} -> number, got {type(value).__name__}",
                          f"e.g. {key.split('.')[-1]}: {{{known[0]}: 0.9}}")
    for name in value:
        if name not in known:
            raise ConfigError(where, f"{key}.{name}", f"unknown {kind} {name!r}",
                              f"known: {', '.join(known)}{did_you_mean(str(name), known)}")
    return value


def floors(where: str, section: str, body: Any, tables: Mapping[str, tuple[str, Sequence[str]]],
           upper: float | None = None, also: Iterable[str] = ()) -> None:
    """A floor section: a `default`, and per-name floors under each key of `tables` (key -> (kind,
    known names)), e.g. {"compressions": ("compression", [...])}. Keys in `also` are the caller's."""
    if not isinstance(body, dict):
        raise ConfigError(where, section, "missing or not a mapping", f"add {section}: {{default: 0.9}}")
    allowed = sorted(["default", *tables, *also])
    for key in body:
        if key not in allowed:
            raise ConfigError(where, f"{section}.{key}", "unknown key", f"allowed: {', '.join(allowed)}")
    if "default" not in body:
        raise ConfigError(where, f"{section}.default", "missing", "every section needs a default floor")
    number(where, f"{section}.default", body["default"], upper)
    for key, (kind, known) in tables.items():
        for name, value in names(where, f"{section}.{key}", body.get(key, {}), kind, known).items():
            number(where, f"{section}.{key}.{name}", value, upper)


def decisions(where: str, data: Mapping[str, Any], compressions: Sequence[str], sections: Iterable[str] = ()) -> None:
    """Every `decision:` block, the file's and each section's, and their per-compression overrides."""
    from medcheck.decision import rule_from_yaml

    for key, body in [("decision", data.get("decision", {})),
                      *((f"{s}.decision", data[s].get("decision", {})) for s in sections)]:
        if not isinstance(body, dict):
            raise ConfigError(where, key, "expected a mapping", "e.g. decision: {mode: catch-damage, confidence: 0.95}")
        for name in body:
            if name not in (*RULE_KEYS, "compressions"):
                raise ConfigError(where, f"{key}.{name}", "unknown key",
                                  f"allowed: {', '.join(RULE_KEYS)}, compressions")
        rule_from_yaml(where, key, {k: v for k, v in body.items() if k != "compressions"})
        for comp, override in names(where, f"{key}.compressions", body.get("compressions", {}),
                                    "compression", compressions).items():
            if not isinstance(override, dict) or any(k not in RULE_KEYS for k in override):
                raise ConfigError(where, f"{key}.compressions.{comp}", "expected a mapping of rule keys",
                                  f"allowed: {', '.join(RULE_KEYS)}")
            rule_from_yaml(where, f"{key}.compressions.{comp}", override)


def generation(where: str, body: Any, dataset_ids: Sequence[str]) -> None:
    """`generation: {default: {max_new_tokens, limit}, datasets: {id: {...}}}`: whole numbers in range."""
    if not isinstance(body, dict) or any(k not in ("default", "datasets") for k in body):
        raise ConfigError(where, "generation", "expected a mapping with default and/or datasets",
                          "e.g. generation: {default: {max_new_tokens: 64, limit: 200}}")
    entries = [("generation.default", body.get("default", {}))]
    entries += [(f"generation.datasets.{d}", v) for d, v in
                names(where, "generation.datasets", body.get("datasets", {}), "dataset", dataset_ids).items()]
    for key, entry in entries:
        if not isinstance(entry, dict):
            raise ConfigError(where, key, "expected a mapping", "e.g. {max_new_tokens: 64, limit: 200}")
        whole_numbers(where, key, entry, BUDGET_KEYS)


def whole_numbers(where: str, key: str, entry: Mapping[str, Any], allowed: Mapping[str, tuple[int, int]]) -> None:
    """Every `entry` value a whole number in its key's [low, high]; unknown keys refused."""
    for name, value in entry.items():
        if name not in allowed:
            raise ConfigError(where, f"{key}.{name}", "unknown key", f"allowed: {', '.join(allowed)}")
        lo, hi = allowed[name]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ConfigError(where, f"{key}.{name}", f"expected a whole number in [{lo}, {hi}], got {value!r}",
                              "write a plain whole number such as 64")
