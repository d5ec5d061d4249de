"""Decisions of a paired release gate: a score, its interval and a floor -> pass / fail / inconclusive.

A ``Rule`` says how an interval is held against a floor. ``confidence`` is the coverage of the
two-sided interval, so each one-sided call below is a test at level (1 - confidence) / 2. The CPS
interval is exact (``medcheck.paired_exact``: Clopper-Pearson bounds of the paired loss and gain
rates combined by the union bound, Bonferroni over datasets), so its coverage holds at any n and at
zero discordance: ten agreeing items give CPS 1.000 with a lower bound far below any floor, and the
result is inconclusive, not a pass. ``python -m medcheck.stats_coverage`` prints its coverage.

* ``prove-safe`` -- the candidate must show it is safe. pass when the interval's lower bound
  clears the floor (low >= floor), fail when its upper bound is below it (high < floor), else
  the interval straddles the floor: outcome ``inconclusive``, which fails the run by default
  (``inconclusive_fails: true``): too few items to show safety is not a pass.
* ``catch-damage`` -- the gate must show damage before blocking. The same three outcomes, but
  an inconclusive straddle does not fail the run by default (``inconclusive_fails: false``);
  it is still reported as inconclusive, with the items that would decide it.
* ``point`` -- the point estimate against the floor (value >= floor passes), never
  inconclusive; kept for comparability with threshold gates that ignore noise. The interval,
  McNemar p and MDE are still computed and reported.

Both interval modes also require the exact one-sided McNemar test to show a loss before they
fail: an interval wholly below the floor whose McNemar p exceeds (1 - confidence) / 2 is
``inconclusive``. The exact interval rarely needs it (it was written for the percentile bootstrap,
which gave [0, 0] on one lost item out of one); it stays as a second, independent condition.

The two interval modes share their outcomes and differ in the default of ``inconclusive_fails``;
either default can be overridden in YAML, and the mode name records the intent in every report.
``fails_run`` is ``outcome == "fail"`` or (``inconclusive`` and ``inconclusive_fails``).

Suspicious gain: with ``suspicious_gain: true`` (the default) a candidate whose CPS interval lies
wholly above parity (lower bound > 1.0: it beats the dense model beyond noise) is
flagged in the decision and its message. It does not change the outcome: compression rarely
helps, so a real gain more often means a broken dense run or a mismatched item set -- a thing
for a person to look at, not a reason to block.

YAML (per threshold section; the threshold loader merges per-compression overrides)::

    decision: {mode: prove-safe, confidence: 0.95, inconclusive_fails: false, suspicious_gain: true}

Every key is optional: ``mode`` defaults to ``point`` (the behaviour of a gate without a
``decision:`` block), ``confidence`` to 0.95, ``inconclusive_fails`` to the mode's default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from medcheck import stats
from medcheck.errors import ConfigError, did_you_mean

MODES = ("prove-safe", "catch-damage", "point")
DEFAULT_MODE = "point"
CONFIDENCE_RANGE = (0.5, 0.999)       # open interval
KEYS = ("mode", "confidence", "inconclusive_fails", "suspicious_gain")
POWER = 0.9                           # the power at which the MDE is stated


@dataclass(frozen=True)
class Rule:
    """How a gate holds an interval against a floor. ``inconclusive_fails=None`` takes the mode's
    default (True for prove-safe, False otherwise)."""

    mode: str = DEFAULT_MODE
    confidence: float = 0.95
    inconclusive_fails: bool | None = None
    suspicious_gain: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown decision mode {self.mode!r}; known: {', '.join(MODES)}")
        lo, hi = CONFIDENCE_RANGE
        if isinstance(self.confidence, bool) or not lo < self.confidence < hi:
            raise ValueError(f"confidence must be in ({lo}, {hi}), got {self.confidence!r}")
        if self.inconclusive_fails is None:
            object.__setattr__(self, "inconclusive_fails", self.mode == "prove-safe")
        for name in ("inconclusive_fails", "suspicious_gain"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        object.__setattr__(self, "confidence", float(self.confidence))

    @property
    def label(self) -> str:
        """``prove-safe@0.95``: the JUnit ``decision_rule`` property."""
        return f"{self.mode}@{self.confidence:g}"

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "confidence": self.confidence,
                "inconclusive_fails": self.inconclusive_fails, "suspicious_gain": self.suspicious_gain}


def decide(value: float, interval: tuple[float, float], floor: float, rule: Rule) -> str:
    """``"pass"``, ``"fail"`` or ``"inconclusive"`` for a value and its interval under ``rule``."""
    if rule.mode == "point":
        return "pass" if value >= floor else "fail"
    low, high = interval
    if low >= floor:
        return "pass"
    if high < floor:
        return "fail"
    return "inconclusive"


def mcnemar_level(rule: Rule) -> float:
    """The one-sided level an interval mode's fail must also reach on the exact McNemar test."""
    return (1.0 - rule.confidence) / 2.0


ITEMS_SHOWN = 100_000   # an estimate of items to decide beyond this is shown as "more than": no benchmark has them


def fails_run(outcome: str, rule: Rule) -> bool:
    return outcome == "fail" or (outcome == "inconclusive" and bool(rule.inconclusive_fails))


@dataclass(frozen=True)
class Decision:
    outcome: str                     # pass | fail | inconclusive
    fails_run: bool
    value: float
    ci_low: float
    ci_high: float
    floor: float
    p_value: float                   # exact one-sided McNemar: small = evidence of damage
    flip_rate: float
    discordant: tuple[int, int]      # (b, c): dense > candidate, candidate > dense
    n: int
    mde: float                       # accuracy drop detected with 90% power (fraction; inf: none)
    mde_cps: float                   # the CPS of a candidate that loses `mde` in every dataset
    items_to_decide: int | None      # only when inconclusive
    suspicious_gain: bool
    rule: Rule
    message: str
    interval_method: str = "exact-cp"   # medcheck.paired_exact
    confidence: float | None = None     # the interval's coverage where it is not rule.confidence (a look)
    reason: str = ""                    # `message` without what it means for the run (fidelity may change that)

    def properties(self) -> list[tuple[str, object]]:
        """JUnit property pairs."""
        b, c = self.discordant
        return [("ci_low", _r(self.ci_low)), ("ci_high", _r(self.ci_high)), ("p_value", _r(self.p_value)),
                ("flip_rate", _r(self.flip_rate)), ("discordant", f"{b}/{c}"), ("mde", _r(self.mde)),
                ("mde_cps", _r(self.mde_cps)), ("decision_rule", self.rule.label), ("outcome", self.outcome),
                ("items_to_decide", "" if self.items_to_decide is None else self.items_to_decide),
                ("suspicious_gain", self.suspicious_gain), ("interval_method", self.interval_method)]


def _r(x: float) -> float | str:
    return round(x, 6) if math.isfinite(x) else str(x)


def decide_cps(paired: stats.Paired, floor: float, rule: Rule, seed: int = 0,
               resamples: int = 2000) -> Decision:
    """The CPS of ``paired`` (mean over strata) against ``floor`` under ``rule``.

    Value from the per-stratum means; interval from ``paired_exact.cps_interval`` (exact; ``seed``
    only couples non-0/1 scores to 0/1 outcomes, ``resamples`` is kept for callers and unused);
    McNemar on the pooled discordant counts; MDE at the pooled n and discordance, with its CPS
    equivalent a uniform drop of ``mde`` in every stratum.
    """
    return decide_cps_at(paired, floor, rule, rule.confidence, seed)


def decide_cps_at(paired: stats.Paired, floor: float, rule: Rule, confidence: float, seed: int = 0) -> Decision:
    """``decide_cps`` with the interval at ``confidence`` instead of the rule's: a sequential look
    spends part of the rule's error rate (medcheck.sequential), so its interval is wider."""
    from medcheck.paired_exact import cps_interval

    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    iv = cps_interval(paired, confidence, seed)
    level = (1.0 - confidence) / 2.0
    outcome = decide(iv.value, (iv.low, iv.high), floor, rule)
    b, c = paired.discordant
    p = stats.mcnemar_one_sided(b, c)
    guarded = outcome == "fail" and rule.mode != "point" and p > level
    if guarded:
        outcome = "inconclusive"
    dense_means, _ = paired.stratum_means()
    drop = stats.mde(paired.n, min(paired.discordance, 1.0), confidence, POWER, paired.dense_mean)
    drop_cps = (math.fsum(stats.mde_cps(drop, a) for a in dense_means.values()) / len(dense_means)
                if math.isfinite(drop) else 0.0)
    todo = stats.items_to_decide(paired.n, iv.value, iv.low, iv.high, floor) if outcome == "inconclusive" else None
    gain = rule.suspicious_gain and iv.low > 1.0
    parts = [_headline(iv.value, iv.low, iv.high, floor, rule, outcome, confidence)]
    if guarded:
        parts.append(f"the interval is below the floor but the exact McNemar test shows no loss at this level "
                     f"(p={p:.3g} > {level:.3g}): too few discordant items")
    if outcome == "inconclusive":
        parts.append("the value sits on the floor: no sample size decides it" if todo is None else
                     f"~{todo} items at flip rate {paired.flip_rate:.2f} would decide it" if todo <= ITEMS_SHOWN
                     else f"more than {ITEMS_SHOWN:,} items at flip rate {paired.flip_rate:.2f} would decide it "
                          f"(CPS {iv.value:.3f} is {abs(iv.value - floor):.3f} from the floor)")
    if b + c == 0 and iv.low < floor and rule.mode != "point":
        parts.append(f"no discordant item, but {paired.n} items cannot exclude a CPS down to {iv.low:.3f}")
    parts.append(f"McNemar p={p:.3g} (b={b}, c={c})")
    parts.append(f"MDE {drop * 100:.1f} pts (CPS {drop_cps:.3f}) at n={paired.n}" if math.isfinite(drop)
                 else f"MDE: at n={paired.n} not even a total loss is detected with {POWER:.0%} power")
    if gain:
        parts.append(f"SUSPICIOUS GAIN: the candidate beats dense beyond the interval (low {iv.low:.3f} > 1); "
                     "check the dense run and the item alignment")
    reason = "; ".join(parts)
    if outcome == "inconclusive":   # what it means for the run, after the headline's outcome
        parts[0] += ", fails the run" if rule.inconclusive_fails else ", does not fail the run"
    return Decision(outcome, fails_run(outcome, rule), iv.value, iv.low, iv.high, floor, p, paired.flip_rate,
                    (b, c), paired.n, drop, drop_cps, todo, gain, rule,
                    "; ".join(parts), iv.method, None if confidence == rule.confidence else confidence, reason)


def _headline(value: float, low: float, high: float, floor: float, rule: Rule, outcome: str,
              confidence: float) -> str:
    conf = f"{confidence * 100:.4g}%"
    if rule.mode == "point":
        op = ">=" if outcome == "pass" else "<"
        return f"CPS {value:.3f} {op} floor {floor:.3f} (point; {conf} interval [{low:.3f}, {high:.3f}]): {outcome}"
    where = ({"pass": "clears", "fail": "is below", "inconclusive": "straddles"}[outcome] if not
             (outcome == "inconclusive" and high < floor) else "is below")
    return f"CPS {value:.3f} [{low:.3f}, {high:.3f}] {where} floor {floor:.3f} ({rule.mode}, {conf}): {outcome}"


def rule_from_yaml(where: str, key: str, body: Any) -> Rule:
    """A ``decision:`` mapping -> Rule; ConfigError(where, key.<field>, problem, fix) on bad input."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ConfigError(where, key, f"expected a mapping, got {body!r}",
                          "write e.g. decision: {mode: prove-safe, confidence: 0.95}")
    for k in body:
        if k not in KEYS:
            raise ConfigError(where, f"{key}.{k}", "unknown key",
                              f"known keys: {', '.join(KEYS)}{did_you_mean(str(k), KEYS)}")
    mode = body.get("mode", DEFAULT_MODE)
    if mode not in MODES:
        raise ConfigError(where, f"{key}.mode", f"unknown mode {mode!r}",
                          f"use one of {', '.join(MODES)}{did_you_mean(str(mode), MODES)}")
    confidence = body.get("confidence", 0.95)
    lo, hi = CONFIDENCE_RANGE
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not lo < confidence < hi:
        raise ConfigError(where, f"{key}.confidence", f"{confidence!r} is not a number in ({lo}, {hi})",
                          "write the interval's coverage as a fraction, e.g. 0.95")
    for flag in ("inconclusive_fails", "suspicious_gain"):
        if flag in body and not isinstance(body[flag], bool):
            raise ConfigError(where, f"{key}.{flag}", f"expected true or false, got {body[flag]!r}",
                              f"write {flag}: true or {flag}: false (unquoted)")
    return Rule(mode=mode, confidence=float(confidence), inconclusive_fails=body.get("inconclusive_fails"),
                suspicious_gain=body.get("suspicious_gain", True))


# -- run-level error rate ------------------------------------------------------------------------


def holm(p_values: dict[str, float], alpha: float) -> set[str]:
    """Holm's step-down rule: the tests rejected (failed) at family-wise error ``alpha``.

    Sort the p-values; reject the i-th smallest (i = 0, 1, ...) while p <= alpha / (m - i); stop at
    the first that is not. Family-wise error <= alpha under any dependence between the tests."""
    order = sorted(p_values.items(), key=lambda kv: (kv[1], kv[0]))
    rejected: set[str] = set()
    m = len(order)
    for i, (name, p) in enumerate(order):
        if p > alpha / (m - i):
            break
        rejected.add(name)
    return rejected
