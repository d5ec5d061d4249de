"""Threshold files (YAML numbers only) -> validated floor objects that explain a breach.

    # thresholds/knowledge.yaml
    cps:                       # per-dataset CPS floor
      default: 0.90
      datasets: {medqa: 0.92}
      compressions: {bnb-int8: 0.95}
      cells: {bnb-nf4: {pubmed_qa: 0.85}}
    track_cps:                 # CPS over all datasets of the track, per pair
      default: 0.92
      compressions: {}
    generation:                # generative datasets only: token budget and item cap per dataset
      default: {max_new_tokens: 64, limit: 200}
      datasets: {bc5cdr_chem: {max_new_tokens: 96}}
    decision:                  # how an interval is held against a floor (medcheck.decision)
      mode: catch-damage       # prove-safe | catch-damage | point
      confidence: 0.95
      inconclusive_fails: false
      compressions: {bnb-int8: {mode: prove-safe}}

Floors resolve most specific first: cells (compression + dataset) > compressions > datasets >
default. A section may hold its own `decision:`; rules resolve compression override > section >
file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medcheck import fidelity_floors
from medcheck.errors import ConfigError
from medcheck.fidelity_floors import FidelityFloor
from medcheck.registry import UnknownNameError, suggest
from medcheck.yamlfile import read_yaml as strict_yaml

FLOOR_RANGE = (0.0, 2.0)   # CPS is log2(1 + ratio): 1.0 is parity; a floor past 2 is a typo
SECTIONS = {"cps": {"default", "datasets", "compressions", "cells", "decision"},
            "track_cps": {"default", "compressions", "decision"}}
RULE_KEYS = ("mode", "confidence", "inconclusive_fails", "suspicious_gain")
BUDGET_KEYS = {"max_new_tokens": (1, 8192), "limit": (1, 10**7)}


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


@dataclass(frozen=True)
class Verdict:
    passed: bool                 # False fails the test (and the run)
    message: str
    floor: Floor
    outcome: str = ""            # pass | fail | inconclusive
    decision: Any = None         # medcheck.decision.Decision where per-item statistics exist
    fidelity: Any = None         # FidelityVerdict where fidelity to the dense model is gated

    def __post_init__(self) -> None:
        if not self.outcome:
            object.__setattr__(self, "outcome", "pass" if self.passed else "fail")

    def properties(self) -> list[tuple[str, Any]]:
        props: list[tuple[str, Any]] = [("outcome", self.outcome)]
        if self.decision is not None:
            props += [(k, v) for k, v in self.decision.properties() if k != "outcome"]
        else:
            props.append(("decision_rule", "point"))
        if self.fidelity is not None:   # what accuracy alone said, beside fidelity's own outcome
            accuracy = self.decision.outcome if self.decision is not None else "inconclusive"
            props += [("accuracy_outcome", accuracy), *self.fidelity.properties()]
        return props


def check(floor: Floor, current: float, n: int, reasons: list[str] | None = None) -> Verdict:
    """The point rule: the value against the floor, plus any further reasons to fail."""
    problems = [m for m in [floor.fails(current, n), *(reasons or [])] if m]
    if problems:
        return Verdict(False, "; ".join(problems), floor)
    return Verdict(True, f"{floor.metric} {current:.3f} >= {floor.value:.3f} ({floor.rule}), n={n}", floor)


def judge(floor: Floor, rule: Any, result: Any, seed: int = 0) -> Verdict:
    """A result against its floor: paired statistics under `rule` where the result has per-item
    scores, the point rule otherwise. Other reasons (a collapsed model) fail in every mode."""
    from medcheck.results import UndefinedScoreError

    try:
        value = result.value
    except UndefinedScoreError as exc:   # no reference to compare with: more items decide it, not the CPU
        reasons = result.reasons()   # ... unless the candidate collapsed, which needs no score to show
        if reasons:
            return Verdict(False, "; ".join([str(exc), *reasons]), floor, "fail")
        summary = result.fidelity(rule.confidence) if floor.fidelity is not None and rule is not None else None
        if summary is not None and floor.fidelity is not None:   # the answer distributions still compare
            from medcheck.decision import fails_run

            outcome, fidelity, message = _with_fidelity("inconclusive", summary, floor.fidelity, str(exc))
            return Verdict(not fails_run(outcome, rule), message, floor, outcome, None, fidelity)
        fails = bool(rule is not None and rule.inconclusive_fails)
        return Verdict(not fails, f"{exc}; inconclusive{', fails the run' if fails else ', does not fail the run'}",
                       floor, "inconclusive")
    paired = result.paired()
    reasons = result.reasons()
    interval = getattr(result, "interval", None)   # a score that is no item mean brings its own interval
    if rule is not None and rule.mode != "point" and paired is None and interval is not None:
        return _judge_interval(floor, rule, value, interval(rule.confidence, seed), result.n, reasons,
                               result.fail_unsupported(rule))
    if rule is None or paired is None or rule.mode == "point":
        return check(floor, value, result.n, reasons)
    from medcheck.decision import decide_cps

    decision = decide_cps(paired, floor.value, rule, seed=seed)
    message = f"{floor.metric} {decision.message.removeprefix('CPS ')} ({floor.rule}), n={result.n}"
    outcome, fidelity = decision.outcome, None
    summary = result.fidelity(rule.confidence) if floor.fidelity is not None else None
    if summary is not None and floor.fidelity is not None:
        outcome, fidelity, message = _with_fidelity(outcome, summary, floor.fidelity, message)
    if reasons:
        return Verdict(False, "; ".join([message, *reasons]), floor, "fail", decision, fidelity)
    from medcheck.decision import fails_run

    return Verdict(not fails_run(outcome, rule), message, floor, outcome, decision, fidelity)


def _with_fidelity(outcome: str, summary: Any, floor: FidelityFloor, message: str) -> tuple[str, Any, str]:
    """Accuracy and fidelity together: either failing fails (a candidate that keeps its accuracy but
    moved its answers fails, with that reason); else either passing passes (the answer
    distributions cannot have moved beyond the floors, so the accuracy cannot have moved either);
    else inconclusive."""
    from medcheck.fidelity import judge_fidelity

    said, why = judge_fidelity(summary, floor.kl_max, floor.same_top_min)
    combined = ("fail" if "fail" in (outcome, said) else "pass" if "pass" in (outcome, said) else "inconclusive")
    note = f"{why} ({floor.rule})"
    if combined != outcome:
        note += f"; verdict {combined} on fidelity (accuracy alone: {outcome})"
    return combined, FidelityVerdict(said, summary, floor), f"{message}; {note}"


@dataclass(frozen=True)
class FidelityVerdict:
    """The fidelity side of a verdict: its own outcome, the summary and the floors it was held to."""
    outcome: str
    summary: Any          # medcheck.fidelity.FidelitySummary
    floor: FidelityFloor

    def properties(self) -> list[tuple[str, Any]]:
        return [("fidelity_outcome", self.outcome), *self.summary.properties(),
                ("fidelity_kl_max", self.floor.kl_max), ("fidelity_same_top_min", self.floor.same_top_min),
                ("fidelity_rule", self.floor.rule)]


def _judge_interval(floor: Floor, rule: Any, value: float, interval: tuple[float, float], n: int,
                    reasons: list[str], unsupported: str | None) -> Verdict:
    """A score against its floor on its own bootstrap interval; a fail needs `unsupported` None."""
    from medcheck.decision import decide, fails_run

    outcome = decide(value, interval, floor.value, rule)
    below = outcome == "fail"
    if below and unsupported:
        outcome = "inconclusive"
    message = (f"{floor.metric} {value:.3f} ({rule.confidence:.0%} CI {interval[0]:.3f}-{interval[1]:.3f}) "
               f"{'>=' if outcome == 'pass' else '<' if below else 'straddles'} floor {floor.value:.3f} "
               f"[{rule.label}: {outcome}] ({floor.rule}), n={n}"
               + (f"; not a fail: {unsupported}" if below and unsupported else ""))
    decision = IntervalDecision(rule, round(interval[0], 4), round(interval[1], 4))
    if reasons:
        return Verdict(False, "; ".join([message, *reasons]), floor, "fail", decision)
    return Verdict(not fails_run(outcome, rule), message, floor, outcome, decision)


@dataclass(frozen=True)
class IntervalDecision:
    """The statistics of a decision on a score's own bootstrap interval (TWY)."""
    rule: Any            # medcheck.decision.Rule
    ci_low: float
    ci_high: float

    def properties(self) -> list[tuple[str, object]]:
        return [("decision_rule", self.rule.label), ("ci_low", self.ci_low), ("ci_high", self.ci_high)]


class Thresholds:
    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path, self.data = Path(path), data

    @property
    def name(self) -> str:
        return f"{self.path.parent.name}/{self.path.name}"

    def cps(self, dataset: str, compression: str) -> Floor:
        section = self.data["cps"]
        for key, table, lookup in (("cells", section.get("cells", {}).get(compression, {}), dataset),
                                   ("compressions", section.get("compressions", {}), compression),
                                   ("datasets", section.get("datasets", {}), dataset)):
            if lookup in table:
                suffix = f"{compression}.{dataset}" if key == "cells" else lookup
                return Floor("CPS", table[lookup], f"{self.name}: cps.{key}.{suffix}")
        return Floor("CPS", section["default"], f"{self.name}: cps.default")

    def rule(self, section: str, compression: str) -> Any:
        """The decision rule of a section for a compression: file < section < compression override."""
        from medcheck.decision import rule_from_yaml

        merged: dict[str, Any] = {}
        where = []
        for key, body in (("decision", self.data.get("decision", {})),
                          (f"{section}.decision", self.data[section].get("decision", {}))):
            merged.update({k: v for k, v in body.items() if k != "compressions"})
            override = body.get("compressions", {}).get(compression)
            if override:
                merged.update(override)
                where.append(f"{key}.compressions.{compression}")
            elif body:
                where.append(key)
        return rule_from_yaml(str(self.path), where[-1] if where else "decision", merged)

    def generation(self, dataset_id: str) -> dict[str, int]:
        return generation_budget(self.data, dataset_id)

    def track_cps(self, track: str, compression: str) -> Floor:
        section = self.data["track_cps"]
        if compression in section.get("compressions", {}):
            return Floor(f"{track} CPS", section["compressions"][compression],
                         f"{self.name}: track_cps.compressions.{compression}")
        return Floor(f"{track} CPS", section["default"], f"{self.name}: track_cps.default")

    def fidelity(self, compression: str) -> FidelityFloor | None:
        return fidelity_floors.lookup(self.name, self.data, compression)


def _number(where: str, key: str, value: Any, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(where, key, f"expected a number, got {value!r}", "write a plain number such as 0.95")
    lo, hi = FLOOR_RANGE[0], upper or FLOOR_RANGE[1]
    if not lo < value <= hi:
        hint = ("a CPS floor is log2(1 + compressed/dense): 1.0 means parity, 0.85 allows ~20% loss" if upper is None
                else "a ratio floor: 1.0 means as efficient as dense, 2.0 twice as efficient")
        raise ConfigError(where, key, f"{value} is out of range ({lo}, {hi}]", hint)
    return float(value)


def _names(where: str, key: str, value: Any, kind: str, known: list[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(where, key, f"expected a mapping of {kind} -> number, got {type(value).__name__}",
                          f"e.g. {key.split('.')[-1]}: {{{known[0]}: 0.9}}")
    for name in value:
        if name not in known:
            try:
                raise suggest(kind, str(name), known)
            except UnknownNameError as exc:
                hint = f" (did you mean {' or '.join(exc.suggestions)}?)" if exc.suggestions else ""
                raise ConfigError(where, f"{key}.{name}", f"unknown {kind} {name!r}",
                                  f"known: {', '.join(known)}{hint}") from None
    return value


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


def load(path: Path, dataset_ids: list[str], compressions: list[str]) -> Thresholds:
    """Read and validate a threshold file; any problem names the file, the key and the fix."""
    where = str(path)
    data = read_yaml(path, [*SECTIONS, "decision", "generation", "fidelity"])
    check_generation(where, data.get("generation", {}), dataset_ids)
    compressions = [c for c in compressions if c != "dense"]   # dense is the reference, never floored
    fidelity_floors.check(where, data.get("fidelity"), compressions)
    for section, allowed in SECTIONS.items():
        body = data.get(section)
        if not isinstance(body, dict):
            raise ConfigError(where, section, "missing or not a mapping", f"add {section}: {{default: 0.9}}")
        for key in body:
            if key not in allowed:
                raise ConfigError(where, f"{section}.{key}", "unknown key", f"allowed: {', '.join(sorted(allowed))}")
        if "default" not in body:
            raise ConfigError(where, f"{section}.default", "missing", "every section needs a default floor")
        _number(where, f"{section}.default", body["default"])
        for name, value in _names(where, f"{section}.compressions", body.get("compressions", {}),
                                  "compression", compressions).items():
            _number(where, f"{section}.compressions.{name}", value)
        if section == "cps":
            for name, value in _names(where, "cps.datasets", body.get("datasets", {}), "dataset", dataset_ids).items():
                _number(where, f"cps.datasets.{name}", value)
            for comp, cells in _names(where, "cps.cells", body.get("cells", {}), "compression", compressions).items():
                for name, value in _names(where, f"cps.cells.{comp}", cells, "dataset", dataset_ids).items():
                    _number(where, f"cps.cells.{comp}.{name}", value)
    _decisions(where, data, compressions)
    return Thresholds(Path(path), data)


def _decisions(where: str, data: dict[str, Any], compressions: list[str]) -> None:
    """Validate every `decision:` block now, so a typo stops the run before anything is scored."""
    from medcheck.decision import rule_from_yaml

    for key, body in [("decision", data.get("decision", {})),
                      *((f"{s}.decision", data[s].get("decision", {})) for s in SECTIONS)]:
        if not isinstance(body, dict):
            raise ConfigError(where, key, "expected a mapping", "e.g. decision: {mode: catch-damage, confidence: 0.95}")
        for name in body:
            if name not in (*RULE_KEYS, "compressions"):
                raise ConfigError(where, f"{key}.{name}", "unknown key",
                                  f"allowed: {', '.join(RULE_KEYS)}, compressions")
        rule_from_yaml(where, key, {k: v for k, v in body.items() if k != "compressions"})
        for comp, override in _names(where, f"{key}.compressions", body.get("compressions", {}),
                                     "compression", compressions).items():
            if not isinstance(override, dict) or any(k not in RULE_KEYS for k in override):
                raise ConfigError(where, f"{key}.compressions.{comp}", "expected a mapping of rule keys",
                                  f"allowed: {', '.join(RULE_KEYS)}")
            rule_from_yaml(where, f"{key}.compressions.{comp}", override)


def generation_budget(data: dict[str, Any], dataset_id: str) -> dict[str, int]:
    """Token budget and item cap of a generative dataset: its entry over the file's default."""
    body = data.get("generation", {})
    return {**body.get("default", {}), **body.get("datasets", {}).get(dataset_id, {})}


def check_generation(where: str, body: Any, dataset_ids: list[str]) -> None:
    """`generation: {default: {max_new_tokens, limit}, datasets: {id: {...}}}`: whole numbers in range."""
    if not isinstance(body, dict) or any(k not in ("default", "datasets") for k in body):
        raise ConfigError(where, "generation", "expected a mapping with default and/or datasets",
                          "e.g. generation: {default: {max_new_tokens: 64, limit: 200}}")
    entries = [("generation.default", body.get("default", {}))]
    entries += [(f"generation.datasets.{d}", v) for d, v in
                _names(where, "generation.datasets", body.get("datasets", {}), "dataset", dataset_ids).items()]
    for key, entry in entries:
        if not isinstance(entry, dict):
            raise ConfigError(where, key, "expected a mapping", "e.g. {max_new_tokens: 64, limit: 200}")
        whole_numbers(where, key, entry, BUDGET_KEYS)


def whole_numbers(where: str, key: str, entry: dict[str, Any], allowed: dict[str, tuple[int, int]]) -> None:
    """Every `entry` value a whole number in its key's [low, high]; unknown keys refused."""
    for name, value in entry.items():
        if name not in allowed:
            raise ConfigError(where, f"{key}.{name}", "unknown key", f"allowed: {', '.join(allowed)}")
        lo, hi = allowed[name]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ConfigError(where, f"{key}.{name}", f"expected a whole number in [{lo}, {hi}], got {value!r}",
                              "write a plain whole number such as 64")
