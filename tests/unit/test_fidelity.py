"""Fidelity to the dense model: worked per-item cases, interval properties, the judge."""

from __future__ import annotations

import math
import random

import pytest

from medcheck.backends.teacher import TokenDists
from medcheck.fidelity import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    FidelitySummary,
    ItemFidelity,
    choice_item,
    choice_items,
    generated_item,
    items_needed,
    judge_fidelity,
    stratified,
    summarize,
    token_kl,
)
from medcheck.fidelity_bounds import beta_quantile, clopper_pearson, gamma_mean_interval, gamma_quantile
from medcheck.scoring.choice import SampleRecord

# -- choice items ------------------------------------------------------------------------------


def test_identical_scores_give_zero_kl_and_same_top():
    f = choice_item("q1", (-3.0, -1.0, -7.5), (-3.0, -1.0, -7.5), gold=1)
    assert f.kl == 0.0 and f.same_top and f.gold_delta == 0.0
    assert f.positions == 3 and f.shape_cap == 1.0


def test_two_options_by_hand():
    # dense log-likelihoods ln(0.8), ln(0.2) -> p = (0.8, 0.2); the candidate's sum to 0.5 with
    # ratio 1:1 -> q = (0.5, 0.5). KL = 0.8 ln(0.8/0.5) + 0.2 ln(0.2/0.5).
    f = choice_item("q", (math.log(0.8), math.log(0.2)), (math.log(0.25), math.log(0.25)), gold=1)
    assert f.kl == pytest.approx(0.8 * math.log(1.6) + 0.2 * math.log(0.4), abs=1e-12)   # 0.19274
    assert f.gold_delta == pytest.approx(0.5 - 0.2)
    assert f.same_top   # ties go to the first option, as score_item's argmax does
    flipped = choice_item("q", (0.0, -1.0), (-1.0, 0.0))
    assert not flipped.same_top and flipped.gold_delta is None
    # the softmax ignores a shift common to all options (only relative scores matter)
    assert choice_item("q", (0.0, -1.0), (-5.0, -6.0)).kl == pytest.approx(0.0, abs=1e-15)


def test_choice_items_match_records_by_id():
    def rec(item_id: str, scores: tuple[float, ...]) -> SampleRecord:
        return SampleRecord(item_id, "A", "A", "A", True, True, scores, 10)

    dense = [rec("a", (-1.0, -2.0)), rec("b", (-2.0, -1.0))]
    cand = [rec("b", (-1.0, -2.0)), rec("a", (-1.0, -2.0))]
    out = choice_items(dense, cand, {"a": 0, "b": 1})
    assert [(f.item_id, f.same_top) for f in out] == [("b", False), ("a", True)]
    with pytest.raises(ValueError, match="no dense record"):
        choice_items(dense[:1], cand)
    with pytest.raises(ValueError, match="same >= 2 options"):
        choice_item("x", (-1.0, -2.0), (-1.0, -2.0, -3.0))


# -- generated items ---------------------------------------------------------------------------

def _dists(tokens, top_ids, top_lps, logprobs=None) -> TokenDists:
    logprobs = logprobs or [dict(zip(i, lp))[t] for t, i, lp in zip(tokens, top_ids, top_lps)]
    return TokenDists(tuple(tokens), tuple(logprobs), tuple(map(tuple, top_ids)), tuple(map(tuple, top_lps)), 5)


def test_token_kl_lumps_the_rest_into_one_bucket():
    # dense (0.6, 0.3, rest 0.1) on ids (7, 8); candidate (0.5, 0.2, rest 0.3): buckets {7, 8, other}
    kl = token_kl([7, 8], [math.log(0.6), math.log(0.3)], [7, 8], [math.log(0.5), math.log(0.2)])
    assert kl == pytest.approx(0.6 * math.log(0.6 / 0.5) + 0.3 * math.log(0.3 / 0.2) + 0.1 * math.log(0.1 / 0.3))
    # ids only one side knows go to "other": a coarsening, never above the KL with them known
    coarse = token_kl([7, 8], [math.log(0.6), math.log(0.3)], [7, 9], [math.log(0.5), math.log(0.4)])
    assert coarse == pytest.approx(0.6 * math.log(0.6 / 0.5) + 0.4 * math.log(0.4 / 0.5))
    assert token_kl([7], [0.0], [7], [0.0]) == 0.0


def test_token_kl_from_each_models_own_top_k_stays_a_lower_bound_and_sees_disjoint_tops():
    """Each record keeps its own top-k only (choice items): random 30-way distributions, top 5 each.
    With the candidate's lowest top-k log-probability as the cap on what it did not report, the KL
    never exceeds the full one, never falls below the one-bucket coarsening, and where the two top-k
    lists share only the forced token it still sees the dense mass the candidate moved away."""
    rng = random.Random(3)
    for trial in range(400):
        z = [rng.gauss(0, 2) for _ in range(30)]
        shift = 0.05 if trial % 2 else 3.0
        w = [v + rng.gauss(0, shift) for v in z]
        p, q = (_log_softmax(v) for v in (z, w))
        full = sum(math.exp(a) * (a - b) for a, b in zip(p, q))
        forced = rng.randrange(30)
        dense_top = sorted(range(30), key=lambda i: -p[i])[:5]
        cand_top = sorted(range(30), key=lambda i: -q[i])[:5]
        args = ([*dense_top, forced], [p[i] for i in [*dense_top, forced]],
                [*cand_top, forced], [q[i] for i in [*cand_top, forced]])
        coarse = token_kl(*args)
        bounded = token_kl(*args, min(q[i] for i in cand_top))
        assert coarse - 1e-12 <= bounded <= full + 1e-9
    # disjoint tops: dense holds 0.9 on ids 1-2, the candidate 0.9 on ids 3-4; both give the forced id 9
    # 0.01. One bucket holds 0.99 on both sides: KL 0. The candidate's reported mass leaves at most
    # 0.09 for ids 1-2: KL >= 0.9 ln(0.9 / 0.09) + 0.09 ln(0.09 / 0.9) = 1.865
    lp = [math.log(0.45), math.log(0.45), math.log(0.01)]
    assert token_kl([1, 2, 9], lp, [3, 4, 9], lp) == pytest.approx(0.0, abs=1e-12)
    assert token_kl([1, 2, 9], lp, [3, 4, 9], lp, math.log(0.45)) == pytest.approx(0.81 * math.log(10))
    # a flat candidate (0.02 on its top ids 3-4): no id it left out has more, so ids 1-2 hold <= 0.04
    flat = [math.log(0.02), math.log(0.02), math.log(0.01)]
    assert token_kl([1, 2, 9], lp, [3, 4, 9], flat) < 0.1
    assert token_kl([1, 2, 9], lp, [3, 4, 9], flat, math.log(0.02)) > 2.5


def _log_softmax(v: list[float]) -> list[float]:
    top = max(v)
    z = top + math.log(sum(math.exp(x - top) for x in v))
    return [x - z for x in v]


def test_generated_item_from_two_teacher_forced_records():
    lp = [math.log(0.7), math.log(0.2)]
    dense = _dists([5, 6], [[5, 9], [6, 9]], [lp, lp])
    same = generated_item("g", dense, dense)
    assert same is not None and same.kl == 0.0 and same.same_top and same.token_same_top == 1.0
    cand = _dists([5, 6], [[5, 9], [9, 6]], [lp, lp])   # second position: the top token changed
    f = generated_item("g", dense, cand)
    assert f is not None and not f.same_top and f.token_same_top == 0.5 and f.positions == 2
    assert f.kl == pytest.approx((0.0 + 0.7 * math.log(0.7 / 0.2) + 0.2 * math.log(0.2 / 0.7)) / 2)
    assert generated_item("e", _dists([], [], []), _dists([], [], [])) is None
    with pytest.raises(ValueError, match="different tokens"):
        generated_item("g", dense, _dists([5, 9], [[5, 9], [9, 6]], [lp, lp]))


def _option_record(item_id: str, scores: tuple[float, ...], dists: list[TokenDists] | None) -> SampleRecord:
    return SampleRecord(item_id, "A", "A", "A", True, True, scores, 10,
                        None if dists is None else tuple(d.rounded(5) for d in dists))


def test_choice_items_read_every_option_token_where_both_records_keep_them():
    lp = [math.log(0.7), math.log(0.2)]
    a = _dists([5, 6], [[5, 9], [6, 9]], [lp, lp])          # option A: two tokens
    b = _dists([7], [[7, 9]], [lp])                         # option B: one token
    moved = _dists([7], [[9, 7]], [lp])                     # B's token now second: top token changed
    dense = [_option_record("q", (-1.0, -2.0), [a, b])]
    same = choice_items(dense, dense)[0]
    assert same.per == "token" and same.kl == 0.0 and same.option_kl == 0.0
    assert same.positions == 3 and same.token_same_top == 1.0 and same.shape_cap == 1.0
    cand = [_option_record("q", (-1.0, -1.5), [a, moved])]
    f = choice_items(dense, cand)[0]
    flip = 0.7 * math.log(0.7 / 0.2) + 0.2 * math.log(0.2 / 0.7)
    assert f.kl == pytest.approx(flip / 3, abs=1e-4)        # the mean over the three option tokens (stored to 1e-5)
    assert f.token_same_top == pytest.approx(2 / 3) and f.same_top   # the top option is still A
    assert f.option_kl == pytest.approx(choice_item("q", (-1.0, -2.0), (-1.0, -1.5)).kl)
    s = summarize([f])
    assert s is not None and s.per == "token" and s.option_kl == pytest.approx(f.option_kl)
    props = dict(s.properties())
    assert props["fidelity_per"] == "token" and "fidelity_option_kl" in props and "KL/token" in s.describe()


def test_choice_items_read_options_for_all_where_any_record_keeps_no_tokens():
    lp = [math.log(0.7), math.log(0.2)]
    a, b = _dists([5], [[5, 9]], [lp]), _dists([7], [[7, 9]], [lp])
    dense = [_option_record("q", (-1.0, -2.0), [a, b]), _option_record("r", (-2.0, -1.0), [a, b])]
    # one candidate record without tokens (an engine that keeps none): per option, for every item
    cand = [_option_record("q", (-1.0, -1.5), [a, b]), _option_record("r", (-2.0, -1.0), None)]
    out = choice_items(dense, cand)
    assert [f.per for f in out] == ["option", "option"]
    assert out[0].kl == out[0].option_kl == pytest.approx(choice_item("q", (-1.0, -2.0), (-1.0, -1.5)).kl)
    # other tokens (another tokenizer) cannot be compared position by position: per option too
    other = [_option_record("q", (-1.0, -1.5), [_dists([4], [[4, 9]], [lp]), b]),
             _option_record("r", (-2.0, -1.0), [a, b])]
    assert {f.per for f in choice_items(dense, other)} == {"option"}
    s = summarize(out)
    assert s is not None and s.per == "option" and "KL/token" not in s.describe()
    with pytest.raises(ValueError, match="per token and per option"):
        summarize([out[0], choice_items(dense, dense)[0]])


def test_a_sample_record_round_trips_with_and_without_tokens():
    d = _dists([5, 6], [[5, 9], [6, 9]], [[-0.1, -2.0], [-0.2, -3.0]])
    kept = _option_record("q", (-1.0, -2.0), [d, d])
    assert SampleRecord.from_dict(kept.as_dict()) == kept and kept.option_dists() == [d, d]
    bare = _option_record("q", (-1.0, -2.0), None)
    assert "dists" not in bare.as_dict() and SampleRecord.from_dict(bare.as_dict()) == bare


def test_token_dists_round_trip():
    d = _dists([5, 6], [[5, 9], [6, 9]], [[-0.1, -2.0], [-0.2, -3.0]])
    assert TokenDists.from_dict(d.as_dict()) == d


# -- intervals ---------------------------------------------------------------------------------

def _items(kls, same=None):
    same = same if same is not None else [True] * len(kls)
    return [ItemFidelity(str(i), k, s, 0.0, None, 4, 1.5) for i, (k, s) in enumerate(zip(kls, same))]


@pytest.mark.parametrize("n", [1, 2, 5, 10, 40, 200])
@pytest.mark.parametrize("value", [0.0, 1e-9, 1e-4])
def test_the_kl_interval_never_has_zero_width(n, value):
    s = summarize(_items([value] * n))
    assert s is not None and s.kl_high > max(s.kl, 0.0) and s.kl_low <= s.kl <= s.kl_high
    if value:   # all alike: the width comes from the shape cap (1.5 here) and n alone, ~1.96 / sqrt(n k)
        assert s.kl_high / s.kl > 1 + 1.9 / math.sqrt(1.5 * n)


def test_the_kl_interval_is_wide_at_small_n_and_narrows():
    rng = random.Random(1)
    ratios = []
    for n in (5, 10, 40, 200):
        s = summarize(_items([rng.expovariate(1000) for _ in range(n)]))
        assert s is not None
        ratios.append(s.kl_high / s.kl)
    assert ratios == sorted(ratios, reverse=True) and ratios[0] > 5 and ratios[-1] < 1.6


def test_the_kl_upper_bound_covers_at_small_n():
    """Per-item KL of 3-way option distributions under a small logit perturbation whose scale
    varies by item: the 97.5% upper bound should miss the true mean rarely (a small version of
    the simulation in medcheck.fidelity_bounds)."""
    rng = random.Random(7)

    def one() -> float:
        z = [rng.gauss(0, 2) for _ in range(3)]
        scale = 0.05 * math.exp(0.5 * rng.gauss(0, 1))
        return choice_item("x", z, [v + rng.gauss(0, scale) for v in z]).kl

    true = sum(one() for _ in range(40_000)) / 40_000
    misses = 0
    for _ in range(300):
        s = summarize([ItemFidelity(str(i), one(), True, None, None, 3, 1.0) for i in range(10)])
        misses += s is not None and s.kl_high < true
    assert misses / 300 < 0.06


def _token_item(rng: random.Random, spread: float) -> float:
    """One choice item's mean per-token KL: 3-40 option tokens, each a 12-way next-token
    distribution under a small logit perturbation whose scale varies by item (log-normal, sd
    `spread`) and by token."""
    item_scale = 0.05 * math.exp(spread * rng.gauss(0, 1))
    kls = []
    for _ in range(rng.randint(3, 40)):
        z = [rng.gauss(0, 2) for _ in range(12)]
        scale = item_scale * math.exp(0.5 * rng.gauss(0, 1))
        kls.append(choice_item("t", z, [v + rng.gauss(0, scale) for v in z]).kl)
    return sum(kls) / len(kls)


@pytest.mark.parametrize("n", [5, 10, 40])
def test_the_per_token_kl_upper_bound_covers_at_small_n(n):
    """Choice items per token (shape cap 1): the 97.5% upper bound misses the true mean rarely
    where items' mean KL varies with a CV of ~1.5 (real items: 0.14-1.6, medcheck.fidelity_bounds)."""
    spread = 0.5
    rng = random.Random(11 + n)
    true = sum(_token_item(rng, spread) for _ in range(4_000)) / 4_000
    misses, reps = 0, 150
    for _ in range(reps):
        s = summarize([ItemFidelity(str(i), _token_item(rng, spread), True, None, None, 1, 1.0, "token")
                       for i in range(n)])
        misses += s is not None and s.kl_high < true
    assert misses / reps < 0.06


def test_a_gamma_interval_matches_its_formula():
    # n = 4 items of shape 1.5 (total 6): mean * 6 / Gamma(6) quantiles
    low, high = gamma_mean_interval(0.01, 6.0)
    assert high == pytest.approx(0.01 * 6 / gamma_quantile(0.025, 6.0))
    assert low == pytest.approx(0.01 * 6 / gamma_quantile(0.975, 6.0))
    assert gamma_quantile(0.5, 1.0) == pytest.approx(math.log(2), rel=1e-12)   # exponential median


def test_clopper_pearson_known_values():
    assert clopper_pearson(10, 10) == pytest.approx((0.025 ** 0.1, 1.0))       # 0.6915
    assert clopper_pearson(0, 10)[1] == pytest.approx(1 - 0.025 ** 0.1)       # 0.3085
    assert beta_quantile(0.5, 1.0, 1.0) == pytest.approx(0.5)


def test_quantiles_agree_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    for a in (0.05, 0.5, 1.5, 7.5, 300.0):
        for p in (0.025, 0.5, 0.975):
            assert gamma_quantile(p, a) == pytest.approx(stats.gamma.ppf(p, a), rel=1e-9)
    for a, b in ((0.5, 3.0), (9.0, 2.0), (40.0, 400.0)):
        assert beta_quantile(0.025, a, b) == pytest.approx(stats.beta.ppf(0.025, a, b), abs=1e-10)


def test_same_top_interval_is_clopper_pearson():
    s = summarize(_items([0.001] * 20, [True] * 19 + [False]))
    assert s is not None and s.same_top == 0.95
    assert (s.same_top_low, s.same_top_high) == pytest.approx(clopper_pearson(19, 20))
    assert dict(s.properties())["fidelity_same_top_low"] == f"{s.same_top_low:.4f}"
    assert summarize([]) is None


def test_stratified_one_part_is_the_part_and_pooled_weights_are_exact():
    a = summarize(_items([0.002, 0.001, 0.004, 0.003] * 5, [True] * 18 + [False] * 2))
    b = summarize(_items([0.01] * 10, [True] * 10))
    assert a is not None and b is not None
    one = stratified([a])
    assert one is not None and one.kl_high == pytest.approx(a.kl_high)
    assert one.same_top_low == pytest.approx(a.same_top_low)
    pooled = stratified([a, b], weights=[a.n, b.n])
    assert pooled is not None and pooled.same_top == pytest.approx(28 / 30)
    assert (pooled.same_top_low, pooled.same_top_high) == pytest.approx(clopper_pearson(28, 30))
    equal = stratified([a, b])
    assert equal is not None and equal.kl == pytest.approx((a.kl + b.kl) / 2) and equal.strata == 2


# -- the judge ---------------------------------------------------------------------------------

def _summary(kl_low, kl_high, st_low, st_high, n=40) -> FidelitySummary:
    return FidelitySummary(n, (kl_low + kl_high) / 2, kl_low, kl_high, 60.0, (st_low + st_high) / 2, st_low, st_high)


def test_judge_three_outcomes():
    assert judge_fidelity(_summary(0.001, 0.01, 0.9, 0.99), 0.05, 0.8)[0] == PASS
    outcome, message = judge_fidelity(_summary(0.2, 0.6, 0.9, 0.99), 0.05, 0.8)
    assert outcome == FAIL and "KL" in message
    outcome, message = judge_fidelity(_summary(0.001, 0.01, 0.3, 0.7), 0.05, 0.8)
    assert outcome == FAIL and "same top" in message
    outcome, message = judge_fidelity(_summary(0.01, 0.09, 0.9, 0.99), 0.05, 0.8)
    assert outcome == INCONCLUSIVE and "KL interval reaches" in message
    outcome, message = judge_fidelity(_summary(0.001, 0.01, 0.7, 0.95), 0.05, 0.8)
    assert outcome == INCONCLUSIVE and "same-top interval" in message
    with pytest.raises(ValueError):
        judge_fidelity(_summary(0.001, 0.01, 0.9, 0.99), 0.0, 0.8)


def test_a_same_top_floor_of_zero_gates_nothing():
    """Generated answers' floors set same_top_min 0: a same-top interval reaching 0% still passes
    on KL, and KL alone fails or leaves it open."""
    assert judge_fidelity(_summary(0.008, 0.049, 0.0, 0.17, n=20), 0.05, 0.0)[0] == PASS
    assert judge_fidelity(_summary(0.13, 0.34, 0.0, 0.17, n=20), 0.05, 0.0)[0] == FAIL
    outcome, message = judge_fidelity(_summary(0.01, 0.09, 0.0, 0.17, n=20), 0.05, 0.0)
    assert outcome == INCONCLUSIVE and "same-top" not in message


def test_harmless_passes_only_with_enough_items():
    """Ten identical answers with tiny KL cannot pass a 0.8 same-top floor (CP lower 0.69);
    forty can; `items_needed` says how many."""
    few = summarize(_items([1e-3] * 10))
    many = summarize(_items([1e-3] * 40))
    assert few is not None and many is not None
    assert judge_fidelity(few, 0.05, 0.8)[0] == INCONCLUSIVE
    assert judge_fidelity(many, 0.05, 0.8)[0] == PASS
    need = items_needed(few, 0.05, 0.8)
    assert need is not None and 10 < need <= 40
    enough = summarize(_items([1e-3] * need))
    assert enough is not None and judge_fidelity(enough, 0.05, 0.8)[0] == PASS


def test_a_stratified_summary_of_parts_that_all_agree_has_an_interval():
    # weights like 1/13 sum to 1 only up to rounding: a same-top rate of 100% must not exceed its effective n
    parts = [summarize(_items([1e-6] * n)) for n in (6, 7, 5, 9, 6, 8, 7, 6, 5, 7, 6, 6, 8)]
    summary = stratified(parts, [1 / 13] * 13)
    assert summary.same_top == 1.0 and 0.0 < summary.same_top_low < 1.0
