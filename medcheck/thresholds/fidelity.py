"""Fidelity floors of a threshold file (YAML numbers only), per compression:

    fidelity:                  # optional: without it fidelity is measured and reported, not gated
      default: {kl_max: 0.05, same_top_min: 0.80}
      compressions: {rtn-w8: {kl_max: 0.01, same_top_min: 0.90}}

`kl_max` bounds the mean KL(dense || candidate) of the items' answer distributions (nats);
`same_top_min` the share of items whose top answer is the dense model's. A verdict passes on
fidelity when both intervals clear their floors and fails when either lies wholly beyond its
floor (medcheck.fidelity.judge_fidelity). The override of a compression is merged over the default
(medcheck.thresholds.floors.merged).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medcheck.errors import ConfigError
from medcheck.thresholds.checks import names
from medcheck.thresholds.floors import FidelityFloor, merged

KEYS = ("kl_max", "same_top_min")


def check(where: str, body: Any, compressions: list[str]) -> None:
    """Validate a `fidelity:` section now, so a typo stops the run before anything is scored."""
    if body is None:
        return
    if not isinstance(body, dict) or "default" not in body:
        raise ConfigError(where, "fidelity", "not a mapping with a default",
                          "write fidelity: {default: {kl_max: 0.05, same_top_min: 0.8}}")
    for key in body:
        if key not in ("default", "compressions"):
            raise ConfigError(where, f"fidelity.{key}", "unknown key", "allowed: default, compressions")
    _pair(where, "fidelity.default", body["default"])
    table = body.get("compressions") or {}
    if not isinstance(table, dict):
        raise ConfigError(where, "fidelity.compressions", "not a mapping", "write compressions: {rtn-w8: {...}}")
    for name, value in names(where, "fidelity.compressions", table, "compression", compressions).items():
        _pair(where, f"fidelity.compressions.{name}", value, partial=True)


def _pair(where: str, key: str, value: Any, partial: bool = False) -> None:
    if not isinstance(value, dict) or (not partial and set(KEYS) - set(value)):
        raise ConfigError(where, key, f"expected a mapping with {' and '.join(KEYS)}",
                          "e.g. {kl_max: 0.05, same_top_min: 0.8}")
    for k, v in value.items():
        if k not in KEYS:
            raise ConfigError(where, f"{key}.{k}", "unknown key", f"allowed: {', '.join(KEYS)}")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ConfigError(where, f"{key}.{k}", f"expected a number, got {v!r}", "write a plain number")
        if k == "kl_max" and not v > 0:
            raise ConfigError(where, f"{key}.{k}", f"{v} is not > 0", "a mean KL in nats, e.g. 0.05")
        if k == "same_top_min" and not 0 <= v < 1:
            raise ConfigError(where, f"{key}.{k}", f"{v} is not in [0, 1)", "a share of items, e.g. 0.8")


def lookup(name: str, data: Mapping[str, Any], compression: str) -> FidelityFloor | None:
    """The fidelity floor of a compression: its override over the default; None where the file has none."""
    body = data.get("fidelity")
    if not body:
        return None
    values, where = merged([("fidelity.default", body["default"]),
                            (f"fidelity.compressions.{compression}",
                             (body.get("compressions") or {}).get(compression) or {})])
    return FidelityFloor(float(values["kl_max"]), float(values["same_top_min"]), f"{name}: {where}")
