"""medcheck.decision: the three modes on constructed cases, the Decision record, YAML rules."""

from __future__ import annotations

import math

import pytest

from medcheck.decision import ITEMS_SHOWN, MODES, Decision, Rule, decide, decide_cps, rule_from_yaml
from medcheck.errors import ConfigError
from medcheck.stats import Paired, mde

PROVE, CATCH, POINT = Rule("prove-safe"), Rule("catch-damage"), Rule("point")


def paired(n: int, dense_right: int, b: int, c: int, stratum: str = "medqa") -> Paired:
    """n items, the dense model right on the first `dense_right`; the candidate loses the first b
    of those and gains the first c of the dense-wrong ones."""
    dense = [1] * dense_right + [0] * (n - dense_right)
    cand = [0] * b + [1] * (dense_right - b) + [1] * c + [0] * (n - dense_right - c)
    return Paired.single(dense, cand, stratum)


IDENTICAL = paired(100, 60, 0, 0)
DAMAGED = paired(200, 120, 40, 0)          # 60% -> 40%: CPS log2(1 + 2/3) = 0.737
STRADDLE = paired(40, 30, 3, 0)            # 75% -> 67.5%: CPS log2(1.9) = 0.926
GAIN = paired(100, 20, 0, 40)              # 20% -> 60%: CPS 2


# -- the generic decision ------------------------------------------------------------------------

@pytest.mark.parametrize("interval, expected", [
    ((0.91, 0.99), "pass"), ((0.90, 0.99), "pass"),            # low clears (>=) the floor
    ((0.80, 0.89), "fail"),
    ((0.85, 0.95), "inconclusive"), ((0.85, 0.90), "inconclusive"),   # high == floor is not below
])
@pytest.mark.parametrize("rule", [PROVE, CATCH])
def test_interval_modes(rule, interval, expected):
    assert decide(0.92, interval, 0.90, rule) == expected


@pytest.mark.parametrize("value, expected", [(0.95, "pass"), (0.90, "pass"), (0.89, "fail")])
def test_point_mode_ignores_the_interval(value, expected):
    assert decide(value, (0.0, 2.0), 0.90, POINT) == expected


def test_rule_defaults_and_labels():
    assert PROVE.inconclusive_fails is True
    assert CATCH.inconclusive_fails is False and POINT.inconclusive_fails is False
    assert Rule("catch-damage", inconclusive_fails=True).inconclusive_fails is True
    assert Rule("prove-safe", 0.9, False).label == "prove-safe@0.9"
    assert PROVE.label == "prove-safe@0.95"
    assert Rule().mode == "point" and Rule().suspicious_gain is True
    assert PROVE.as_dict() == {"mode": "prove-safe", "confidence": 0.95, "inconclusive_fails": True,
                               "suspicious_gain": True}


@pytest.mark.parametrize("kwargs", [{"mode": "safe"}, {"confidence": 0.5}, {"confidence": 0.999},
                                    {"confidence": True}, {"inconclusive_fails": "yes"},
                                    {"suspicious_gain": 1}])
def test_rule_validation(kwargs):
    with pytest.raises(ValueError):
        Rule(**kwargs)


# -- decide_cps on constructed cases -------------------------------------------------------------

@pytest.mark.parametrize("rule", [PROVE, CATCH, POINT])
def test_no_change_passes_every_mode(rule):
    d = decide_cps(IDENTICAL, 0.90, rule)
    assert (d.outcome, d.fails_run) == ("pass", False)
    assert d.value == 1.0 and 0.90 <= d.ci_low < 1.0 < d.ci_high     # never an interval of zero width
    assert (d.p_value, d.flip_rate, d.discordant, d.n) == (1.0, 0.0, (0, 0), 100)
    assert d.mde == pytest.approx(mde(100, 0.0))          # no flips: z^2 / n, never 0
    assert d.items_to_decide is None and not d.suspicious_gain


@pytest.mark.parametrize("rule", [PROVE, CATCH, POINT])
def test_clear_damage_fails_every_mode(rule):
    d = decide_cps(DAMAGED, 0.90, rule)
    assert (d.outcome, d.fails_run) == ("fail", True)
    assert d.value == pytest.approx(math.log2(1 + 0.4 / 0.6))
    assert d.ci_high < 0.90
    assert d.p_value == 0.5**40 and d.discordant == (40, 0)


def test_a_straddle_is_inconclusive_and_the_rule_says_whether_it_fails_the_run():
    safe, catch = decide_cps(STRADDLE, 0.90, PROVE), decide_cps(STRADDLE, 0.90, CATCH)
    for d in (safe, catch):
        assert d.outcome == "inconclusive"
        assert d.ci_low < 0.90 <= d.ci_high
        assert d.items_to_decide is not None and d.items_to_decide > STRADDLE.n
        assert d.p_value == 0.125 and d.discordant == (3, 0)
    assert safe.fails_run and not catch.fails_run
    assert decide_cps(STRADDLE, 0.90, Rule("catch-damage", inconclusive_fails=True)).fails_run
    assert not decide_cps(STRADDLE, 0.90, Rule("prove-safe", inconclusive_fails=False)).fails_run
    # point mode: the value alone, never inconclusive
    assert decide_cps(STRADDLE, 0.90, POINT).outcome == "pass"
    assert decide_cps(STRADDLE, 0.95, POINT).outcome == "fail"
    assert decide_cps(STRADDLE, 0.90, POINT).items_to_decide is None


def test_straddle_message_reads_well():
    d = decide_cps(STRADDLE, 0.90, PROVE)
    assert d.message.startswith(f"CPS 0.926 [{d.ci_low:.3f}, {d.ci_high:.3f}] straddles floor 0.900 "
                                "(prove-safe, 95%): inconclusive, fails the run; ")
    assert f"~{d.items_to_decide} items at flip rate 0.07 would decide it" in d.message
    assert "McNemar p=0.125 (b=3, c=0)" in d.message
    assert "does not fail the run" in decide_cps(STRADDLE, 0.90, CATCH).message
    assert decide_cps(STRADDLE, 0.95, POINT).message.startswith("CPS 0.926 < floor 0.950 (point; 95% interval [")


def test_an_undecidable_number_of_items_is_not_printed_as_one():
    # CPS a hair below the floor: the straddle would need millions of items at this rate
    d = decide_cps(STRADDLE, round(decide_cps(STRADDLE, 0.9, CATCH).value + 0.0005, 4), CATCH)
    assert d.outcome == "inconclusive" and d.items_to_decide is not None and d.items_to_decide > ITEMS_SHOWN
    assert f"more than {ITEMS_SHOWN:,} items at flip rate 0.07 would decide it" in d.message
    assert f"~{d.items_to_decide} items" not in d.message


def test_suspicious_gain_is_flagged_not_failed():
    d = decide_cps(GAIN, 0.90, PROVE)
    assert d.ci_low > 1.0 and d.suspicious_gain and d.outcome == "pass"
    assert "SUSPICIOUS GAIN" in d.message
    quiet = decide_cps(GAIN, 0.90, Rule("prove-safe", suspicious_gain=False))
    assert not quiet.suspicious_gain and "SUSPICIOUS" not in quiet.message
    assert not decide_cps(IDENTICAL, 0.90, PROVE).suspicious_gain


def test_track_decision_uses_every_stratum():
    track = Paired(STRADDLE.dense + DAMAGED.dense, STRADDLE.candidate + DAMAGED.candidate,
                   ("medqa",) * 40 + ("pubmedqa",) * 200)
    d = decide_cps(track, 0.90, CATCH)
    assert d.value == pytest.approx((math.log2(1.9) + math.log2(1 + 0.4 / 0.6)) / 2)
    assert d.n == 240 and d.discordant == (43, 0)
    assert 0.0 < d.mde_cps < 1.0


def test_decision_is_deterministic_and_seeded():
    a, b = decide_cps(STRADDLE, 0.9, PROVE), decide_cps(STRADDLE, 0.9, PROVE)
    assert a == b
    assert decide_cps(STRADDLE, 0.9, PROVE, seed=7) == a          # 0/1 scores: no randomness at all
    frac = Paired.single([1.0, 0.5, 0.25, 1.0] * 25, [1.0, 0.25, 0.5, 0.75] * 25)   # item means in [0, 1]
    assert decide_cps(frac, 0.9, PROVE, seed=3) == decide_cps(frac, 0.9, PROVE, seed=3)
    assert decide_cps(frac, 0.9, PROVE, seed=3).ci_low != decide_cps(frac, 0.9, PROVE, seed=4).ci_low


@pytest.mark.parametrize("n, dense_right", [(5, 3), (10, 5), (10, 9), (20, 10)])
@pytest.mark.parametrize("rule", [PROVE, CATCH])
def test_zero_discordance_on_few_items_is_not_a_pass(rule, n, dense_right):
    """The issue's case: 10 agreeing items used to pass on [1.000, 1.000]; they exclude no loss."""
    d = decide_cps(paired(n, dense_right, 0, 0), 0.85, rule)
    assert d.outcome == "inconclusive" and d.value == 1.0 and d.ci_low < 0.85 < 1.0 < d.ci_high
    assert f"no discordant item, but {n} items cannot exclude a CPS down to" in d.message


def test_zero_discordance_on_enough_items_passes():
    d = decide_cps(paired(200, 100, 0, 0), 0.85, CATCH)
    assert d.outcome == "pass" and 0.95 < d.ci_low < 1.0


def test_a_look_spends_part_of_the_error_rate():
    from medcheck.decision import decide_cps_at

    wide = decide_cps_at(STRADDLE, 0.9, PROVE, 0.995)
    assert wide.ci_low < decide_cps(STRADDLE, 0.9, PROVE).ci_low and wide.confidence == 0.995
    assert "99.5%" in wide.message and decide_cps(STRADDLE, 0.9, PROVE).confidence is None


def test_properties_for_junit():
    d = decide_cps(STRADDLE, 0.90, PROVE)
    props = d.properties()
    assert [k for k, _ in props] == ["ci_low", "ci_high", "p_value", "flip_rate", "discordant", "mde", "mde_cps",
                                     "decision_rule", "outcome", "items_to_decide", "suspicious_gain",
                                     "interval_method"]
    values = dict(props)
    assert values["discordant"] == "3/0" and values["decision_rule"] == "prove-safe@0.95"
    assert values["outcome"] == "inconclusive" and values["items_to_decide"] == d.items_to_decide
    assert values["p_value"] == 0.125 and values["suspicious_gain"] is False
    assert dict(decide_cps(IDENTICAL, 0.9, PROVE).properties())["items_to_decide"] == ""
    assert isinstance(d, Decision)


def test_zero_dense_accuracy_raises():
    with pytest.raises(ValueError):
        decide_cps(Paired.single([0, 0], [1, 0]), 0.9, PROVE)


# -- rules from YAML -----------------------------------------------------------------------------

def test_rule_from_yaml():
    rule = rule_from_yaml("knowledge.yaml", "cps.decision",
                          {"mode": "prove-safe", "confidence": 0.9, "inconclusive_fails": False})
    assert rule == Rule("prove-safe", 0.9, False, True)
    assert rule_from_yaml("f.yaml", "decision", {}) == Rule("point")
    assert rule_from_yaml("f.yaml", "decision", None) == Rule("point")
    assert rule_from_yaml("f.yaml", "decision", {"mode": "catch-damage", "confidence": 0.99}).label == \
        "catch-damage@0.99"
    assert set(MODES) == {"prove-safe", "catch-damage", "point"}


@pytest.mark.parametrize("body, key, words", [
    ({"mode": "prove_safe"}, "cps.decision.mode", ["unknown mode 'prove_safe'", "did you mean prove-safe"]),
    ({"mode": "strict"}, "cps.decision.mode", ["unknown mode", "prove-safe, catch-damage, point"]),
    ({"confidence": 0.5}, "cps.decision.confidence", ["(0.5, 0.999)"]),
    ({"confidence": 0.999}, "cps.decision.confidence", ["(0.5, 0.999)"]),
    ({"confidence": 95}, "cps.decision.confidence", ["0.95"]),
    ({"confidence": "0.95"}, "cps.decision.confidence", ["not a number"]),
    ({"confidence": True}, "cps.decision.confidence", ["not a number"]),
    ({"inconclusive_fails": "no"}, "cps.decision.inconclusive_fails", ["true or false"]),
    ({"suspicious_gain": 0}, "cps.decision.suspicious_gain", ["true or false"]),
    ({"confidense": 0.9}, "cps.decision.confidense", ["unknown key", "did you mean confidence"]),
])
def test_rule_from_yaml_errors(body, key, words):
    with pytest.raises(ConfigError) as info:
        rule_from_yaml("thresholds/knowledge.yaml", "cps.decision", body)
    assert info.value.where == "thresholds/knowledge.yaml" and info.value.key == key
    for word in words:
        assert word in str(info.value)


def test_rule_from_yaml_needs_a_mapping():
    with pytest.raises(ConfigError, match="expected a mapping"):
        rule_from_yaml("f.yaml", "decision", "prove-safe")


def test_a_single_flip_never_fails_an_interval_mode():
    """One dense-correct item missed (b=1, c=0): CPS 0, but one flip proves nothing; the exact
    interval reaches far above the floor (the percentile bootstrap gave [0, 0] here)."""
    from medcheck.decision import Rule, decide_cps
    from medcheck.stats import Paired

    paired = Paired(dense=(1.0,) + (0.0,) * 9, candidate=(0.0,) * 10, strata=("s",) * 10)
    for mode in ("catch-damage", "prove-safe"):
        decision = decide_cps(paired, 0.9, Rule(mode=mode), seed=0)
        assert decision.ci_high > 0.9 and decision.outcome == "inconclusive", decision.message
    assert decide_cps(paired, 0.9, Rule(mode="point")).outcome == "fail"
