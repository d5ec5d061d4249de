"""A result held against its floor: the point rule (`check`) or paired statistics under a decision
rule (`judge`), with fidelity to the dense model where the file gates it -> a Verdict that explains
itself in its message and its JUnit properties."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from medcheck.thresholds.floors import FidelityFloor, Floor

if TYPE_CHECKING:
    from medcheck.results import OwnInterval

NOT_MEASURED = "not measured"   # a fidelity outcome: the result has no fidelity to give (recorded, never a pass)


@dataclass(frozen=True, repr=False)
class Verdict:
    passed: bool                 # False fails the test (and the run)
    message: str
    floor: Floor
    outcome: str = ""            # pass | fail | inconclusive
    decision: Any = None         # medcheck.decision.Decision where per-item statistics exist
    fidelity: Any = None         # FidelityVerdict where fidelity to the dense model is gated
    family: int = 1              # tests in its family (medcheck.family): a fail holds at that level too
    rule: Any = None             # the decision rule it was judged under where no decision says it (None: point)

    def __post_init__(self) -> None:
        if not self.outcome:
            object.__setattr__(self, "outcome", "pass" if self.passed else "fail")

    def __repr__(self) -> str:   # short: pytest prints it under every failed `assert verdict.passed`
        return f"Verdict(outcome={self.outcome!r}, passed={self.passed})"

    def properties(self) -> list[tuple[str, Any]]:
        props: list[tuple[str, Any]] = [("outcome", self.outcome)]
        if self.decision is not None:
            props += [(k, v) for k, v in self.decision.properties() if k != "outcome"]
        else:   # an undefined score judged under an interval rule still names that rule
            props.append(("decision_rule", self.rule.label if self.rule is not None else "point"))
        if self.fidelity is not None:   # what accuracy alone said, beside fidelity's own outcome
            accuracy = self.decision.outcome if self.decision is not None else "inconclusive"
            props += [("accuracy_outcome", accuracy), *self.fidelity.properties()]
        if self.family > 1:
            props.append(("family_size", self.family))
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
            return Verdict(False, "; ".join([str(exc), *reasons]), floor, "fail", rule=rule)
        outcome, fidelity, message = _fidelity("inconclusive", result, floor, rule, str(exc))
        if fidelity is not None and fidelity.summary is not None:   # the answer distributions still compare
            from medcheck.decision import fails_run

            return Verdict(not fails_run(outcome, rule), message, floor, outcome, None, fidelity, rule=rule)
        fails = bool(rule is not None and rule.inconclusive_fails)
        return Verdict(not fails, f"{message}; inconclusive{', fails the run' if fails else ', does not fail the run'}",
                       floor, "inconclusive", None, fidelity, rule=rule)
    paired = result.paired()
    reasons = result.reasons()
    interval = getattr(result, "interval", None)   # a score that is no item mean brings its own interval
    if rule is not None and rule.mode != "point" and paired is None and interval is not None:
        return _judge_interval(floor, rule, value, interval(rule.confidence, seed), result, reasons)
    if rule is None or paired is None or rule.mode == "point":
        return check(floor, value, result.n, reasons)
    from medcheck.decision import decide_cps

    decision = decide_cps(paired, floor.value, rule, seed=seed)

    def said(text: str) -> str:
        return f"{floor.metric} {text.removeprefix('CPS ')} ({floor.rule}), n={result.n}"

    outcome, fidelity, message = _fidelity(decision.outcome, result, floor, rule, said(decision.message),
                                           said(decision.reason))
    if reasons:
        return Verdict(False, "; ".join([message, *reasons]), floor, "fail", decision, fidelity)
    from medcheck.decision import fails_run

    return Verdict(not fails_run(outcome, rule), message, floor, outcome, decision, fidelity)


def _fidelity(outcome: str, result: Any, floor: Floor, rule: Any, message: str,
              reason: str | None = None) -> tuple[str, Any, str]:
    """The score's outcome joined with fidelity's where the file gates fidelity. Where the result
    has none to give (a backend that cannot teacher-force generated answers) that is recorded, with
    the result's reason (`fidelity_gap`), and the score decides alone: never a silent pass.
    `reason`: the score's message without what its outcome means for the run, where it says that."""
    if floor.fidelity is None or rule is None:
        return outcome, None, message
    summary = result.fidelity(rule.confidence)
    if summary is None:
        gap = getattr(result, "fidelity_gap", lambda: None)() or "fidelity to the dense model not measured"
        return outcome, FidelityVerdict(NOT_MEASURED, None, floor.fidelity, gap), f"{message}; {gap}"
    return _with_fidelity(outcome, summary, floor.fidelity, message, message if reason is None else reason)


def _with_fidelity(outcome: str, summary: Any, floor: FidelityFloor, message: str,
                   reason: str) -> tuple[str, Any, str]:
    """Accuracy and fidelity together: either failing fails (a candidate that keeps its accuracy but
    moved its answers fails, with that reason); else either passing passes (the answer
    distributions cannot have moved beyond the floors, so the accuracy cannot have moved either);
    else inconclusive. Where fidelity decides, the message says so first, then what accuracy alone
    said (not what an undecided accuracy would have meant for the run: the verdict decides that)."""
    from medcheck.fidelity import judge_fidelity

    said, why = judge_fidelity(summary, floor.kl_max, floor.same_top_min)
    combined = ("fail" if "fail" in (outcome, said) else "pass" if "pass" in (outcome, said) else "inconclusive")
    note = f"{why} ({floor.rule})"
    if combined != outcome:
        text = f"verdict {combined} on fidelity (accuracy alone: {outcome}): {note}; accuracy alone: {reason}"
        return combined, FidelityVerdict(said, summary, floor), text
    return combined, FidelityVerdict(said, summary, floor), f"{message}; {note}"


@dataclass(frozen=True)
class FidelityVerdict:
    """The fidelity side of a verdict: its own outcome, the summary and the floors it was held to."""
    outcome: str          # pass | fail | inconclusive | not measured
    summary: Any          # medcheck.fidelity.FidelitySummary; None where not measured
    floor: FidelityFloor
    unmeasured: str = ""  # why not, where not measured

    def properties(self) -> list[tuple[str, Any]]:
        measured = self.summary.properties() if self.summary is not None else [("fidelity_unmeasured", self.unmeasured)]
        return [("fidelity_outcome", self.outcome), *measured,
                ("fidelity_kl_max", self.floor.kl_max), ("fidelity_same_top_min", self.floor.same_top_min),
                ("fidelity_rule", self.floor.rule)]


def _judge_interval(floor: Floor, rule: Any, value: float, interval: tuple[float, float], result: OwnInterval,
                    reasons: list[str]) -> Verdict:
    """A score against its floor on its own interval, a side decided only where the result backs
    it (`fail_unsupported`, `pass_unsupported`: too few items for a bootstrap alone, an efficiency
    ratio floor still straddled), joined with fidelity where the file gates it."""
    from medcheck.decision import decide, fails_run

    n = result.n

    outcome = decide(value, interval, floor.value, rule)
    below, above = outcome == "fail", outcome == "pass"
    unsupported = result.fail_unsupported(rule) if below else None
    if unsupported:
        outcome = "inconclusive"
    undecided = result.pass_unsupported(rule) if above else None
    if undecided:
        outcome = "inconclusive"
    message = (f"{floor.metric} {value:.3f} ({rule.confidence:.0%} CI {interval[0]:.3f}-{interval[1]:.3f}) "
               f"{'>=' if above else '<' if below else 'straddles'} floor {floor.value:.3f} "
               f"[{rule.label}: {outcome}] ({floor.rule}), n={n}"
               + (f"; not a fail: {unsupported}" if below and unsupported else "")
               + (f"; not a pass: {undecided}" if undecided else ""))
    decision = IntervalDecision(rule, round(interval[0], 4), round(interval[1], 4), outcome)
    outcome, fidelity, message = _fidelity(outcome, result, floor, rule, message)
    if reasons:
        return Verdict(False, "; ".join([message, *reasons]), floor, "fail", decision, fidelity)
    return Verdict(not fails_run(outcome, rule), message, floor, outcome, decision, fidelity)


@dataclass(frozen=True)
class IntervalDecision:
    """The statistics of a decision on a score's own bootstrap interval (TWY)."""
    rule: Any            # medcheck.decision.Rule
    ci_low: float
    ci_high: float
    outcome: str = "inconclusive"   # what the interval alone said (fidelity may decide the verdict)

    def properties(self) -> list[tuple[str, object]]:
        return [("decision_rule", self.rule.label), ("ci_low", self.ci_low), ("ci_high", self.ci_high),
                ("outcome", self.outcome)]   # the record's: what the interval alone said (JUnit leaves it out)
