"""Fidelity to the dense model: how far a candidate's answer distribution moved, on every item.

Accuracy sees damage only where it flips an item between right and wrong; a near-chance model
hides a broken candidate behind matching accuracy. Fidelity compares the two models' answer
distributions item by item (as llama.cpp's `perplexity --kl-divergence` judges quantizations):

* Choice items, per token: where both records keep each option token's top-k from the scoring
  pass (`SampleRecord.dists`), per option token the KL over the ids both top-k lists share plus
  buckets for the rest (`token_kl`, with the candidate's lowest top-k probability capping what it
  did not list; each model's own top-k, no id asked of the other, so the two records stay
  independent), and whether the top token is the same. Per item: the mean over every token of
  every option. This is what gates: the measure generated items use and quantization tools
  report, and averaged over dozens of tokens an item's value varies far less from item to item
  than the option-level KL below, so a few items bound it (real MedQA, rtn-w8, first 20 items:
  per token 0.0086 [0.0057, 0.015]; per option 0.0127 [0.0053, 0.061]).
* Choice items, per option: each model's option distribution is the softmax of its *summed*
  option log-likelihoods (`SampleRecord.scores`), i.e. P(option | prompt, one of the options): a
  real probability, the one whose argmax is the model's prediction (acc). Length-normalised scores
  (acc_norm, per character) are not log-probabilities of anything; a softmax over them has a
  temperature set by option length (dividing by ~50 characters flattens long options to near
  uniform, hiding any change), and the records do not keep the lengths. With letter options
  (" A".." D") both agree anyway. Per item: KL(dense || candidate) in nats (`option_kl`: reported
  beside; it gates only where records keep no top-k), the change of the gold option's
  probability (candidate - dense), and whether the top option is the same (`same_top`: gated).
* Generated items: the candidate reads the dense model's own answer, teacher-forced
  (`medcheck.backends.TokenDists`); per position, KL over the top-k ids both records carry plus
  one lumped "other" bucket (see `token_kl`), and whether the top token is the same. Per item:
  the mean per-token KL, the share of positions with the same top token, and `same_top` = every
  position's top token is the same -- the candidate would greedily write the dense answer.

Summaries (`summarize`, `stratified`) carry the mean KL with a gamma interval and the same-top
rate with an exact Clopper-Pearson interval (medcheck.fidelity_bounds says why and how);
`judge_fidelity` turns one into pass / fail / inconclusive against floors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from medcheck.fidelity_bounds import clopper_pearson, gamma_mean_interval, gamma_shape

if TYPE_CHECKING:
    from medcheck.backends.teacher import TokenDists
    from medcheck.datasets.types import ChoiceItem
    from medcheck.scoring.choice import SampleRecord

KL_RESOLUTION = 1e-6   # nats: below what the stored scores (rounded to 1e-6) measure; floors each item
TOKEN_SHAPE_MAX = 1.0  # per-item gamma shape cap for a mean per-token KL: CV >= 1 (the exponential)
OTHER_FLOOR = 1e-6     # least "other" mass: float32 softmax sums are exact to ~1e-7 only
METHOD = "gamma(shape<=cap) mean KL; Clopper-Pearson same-top"
PER_TOKEN, PER_OPTION = "token", "option"   # what one KL value is of: `ItemFidelity.per`

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


@dataclass(frozen=True)
class ItemFidelity:
    item_id: str
    kl: float                          # KL(dense || candidate), nats: mean per token, or of the options
    same_top: bool                     # same top option; generated: the same top token everywhere
    gold_delta: float | None = None    # P_cand(gold) - P_dense(gold), choice items with a gold option
    token_same_top: float | None = None   # generated: share of positions with the same top token
    positions: int = 1                 # options (choice) or answer tokens (generated) compared
    shape_cap: float = 1.0             # gamma shape this item's KL can have at most (module doc)
    per: str = PER_OPTION              # PER_TOKEN: `kl` is a mean over tokens
    option_kl: float | None = None     # choice items: KL of the option distributions

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- choice items ---------------------------------------------------------------------------

def log_softmax(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    log_z = top + math.log(sum(math.exp(s - top) for s in scores))
    return [s - log_z for s in scores]


def kl_logprobs(p_log: Sequence[float], q_log: Sequence[float]) -> float:
    """KL(p || q) of two full distributions given as log-probabilities over the same outcomes."""
    return max(0.0, sum(math.exp(lp) * (lp - lq) for lp, lq in zip(p_log, q_log) if lp > -745.0))


def choice_item(item_id: str, dense_scores: Sequence[float], candidate_scores: Sequence[float],
                gold: int | None = None, dense_dists: Sequence[TokenDists] | None = None,
                candidate_dists: Sequence[TokenDists] | None = None) -> ItemFidelity:
    """One choice item from each model's summed option log-likelihoods (same option order); per
    token where both models' option token distributions are given (the same tokens in each)."""
    if len(dense_scores) != len(candidate_scores) or len(dense_scores) < 2:
        raise ValueError(f"{item_id}: need the same >= 2 options in both records, got "
                         f"{len(dense_scores)} and {len(candidate_scores)}")
    p, q = log_softmax(dense_scores), log_softmax(candidate_scores)
    top_p = max(range(len(p)), key=p.__getitem__)   # first maximum, as score_item picks it
    top_q = max(range(len(q)), key=q.__getitem__)
    delta = None if gold is None else math.exp(q[gold]) - math.exp(p[gold])
    option_kl = kl_logprobs(p, q)
    if dense_dists is None or candidate_dists is None:
        return ItemFidelity(item_id, option_kl, top_p == top_q, delta, None, len(p), (len(p) - 1) / 2,
                            PER_OPTION, option_kl)
    kls, same = _positions(item_id, dense_dists, candidate_dists)
    if not kls:
        raise ValueError(f"{item_id}: no option token to compare")
    return ItemFidelity(item_id, sum(kls) / len(kls), top_p == top_q, delta, sum(same) / len(same), len(kls),
                        TOKEN_SHAPE_MAX, PER_TOKEN, option_kl)


def _positions(item_id: str, dense: Sequence[TokenDists], candidate: Sequence[TokenDists],
               own_ranks: int | None = None) -> tuple[list[float], list[bool]]:
    """Per position of every continuation: KL(dense || candidate) and whether the top token agrees."""
    kls, same = [], []
    for d, c in zip(dense, candidate, strict=True):
        if d.tokens != c.tokens:
            raise ValueError(f"{item_id}: the two records read different tokens; both must read the same text")
        for t in range(len(d.tokens)):
            # the candidate's own ranks lead its list (then any ids it was asked for): none of the
            # ids it did not report is more likely than the last of them
            own = c.top_logprobs[t][:len(c.top_logprobs[t]) if own_ranks is None else own_ranks]
            kls.append(token_kl(*_known(d, t), *_known(c, t), min(own) if own else None))
            same.append(d.top_ids[t][0] == c.top_ids[t][0])
    return kls, same


def gold_indices(items: Sequence[ChoiceItem]) -> dict[str, int]:
    """item id -> index of its gold option (records keep the gold label, not its position)."""
    return {item.id: item.gold for item in items}


def choice_items(dense: Sequence[SampleRecord], candidate: Sequence[SampleRecord],
                 gold: Mapping[str, int] | None = None) -> list[ItemFidelity]:
    """Per-item fidelity of a candidate's records against the dense records, matched by item id:
    per token where every record of both keeps its option tokens' top-k over the same tokens, else
    (an engine that keeps none, a tokenizer that differs) per option for all: one measure a dataset."""
    by_id = {r.item_id: r for r in dense}
    missing = [r.item_id for r in candidate if r.item_id not in by_id]
    if missing:
        raise ValueError(f"no dense record for {len(missing)} candidate item(s), e.g. {missing[0]!r}")
    pairs = [(by_id[r.item_id], r) for r in candidate]
    dists = [(d.option_dists(), c.option_dists()) for d, c in pairs]
    per_token = all(a is not None and b is not None and len(a) == len(b)
                    and all(x.tokens == y.tokens for x, y in zip(a, b)) for a, b in dists)
    return [choice_item(c.item_id, d.scores, c.scores, (gold or {}).get(c.item_id),
                        *(ds if per_token else (None, None)))
            for (d, c), ds in zip(pairs, dists)]


# -- generated items -------------------------------------------------------------------------

def token_kl(dense_ids: Sequence[int], dense_lps: Sequence[float],
             cand_ids: Sequence[int], cand_lps: Sequence[float], cand_floor: float | None = None) -> float:
    """KL(dense || candidate) at one position from the ids each record carries.

    The vocabulary is coarsened to the ids *both* records give a log-probability for (each
    model's top-k, the forced token, and any ids the candidate was asked to report), plus buckets
    for all other tokens. That KL is exact for the coarsened distributions and, by the
    data-processing inequality, never above the full-vocabulary KL: an approximation from below,
    tight when the shared ids hold most of the dense mass.

    `cand_floor`: a log-probability no id the candidate did not report can exceed (the lowest of
    its own top ranks). Then the dense ids the candidate did not report form a bucket of their
    own, whose candidate mass is at most (their number) x exp(cand_floor); the KL is taken at the
    candidate mass within that bound that makes it least, so it stays a lower bound. Without it,
    where two models' top-k share no id but the forced token (a broken candidate), one bucket
    would hold both top-k masses and the KL would say nearly nothing."""
    p = dict(zip(dense_ids, dense_lps))
    q = dict(zip(cand_ids, cand_lps))
    shared = [t for t in p if t in q]
    kl = sum(math.exp(p[t]) * (p[t] - q[t]) for t in shared)
    p_shared = sum(math.exp(p[t]) for t in shared)
    rest_q = max(OTHER_FLOOR, 1.0 - sum(math.exp(q[t]) for t in shared))   # candidate mass off the shared ids
    unseen = [t for t in p if t not in q]
    p_unseen = sum(math.exp(p[t]) for t in unseen)
    if cand_floor is None or p_unseen <= OTHER_FLOOR:
        p_other = max(0.0, 1.0 - p_shared)
        if p_other > OTHER_FLOOR:
            kl += p_other * math.log(p_other / rest_q)
        return max(0.0, kl)
    p_else = max(0.0, 1.0 - p_shared - p_unseen)
    reported = sum(math.exp(q[t]) for t in q if t not in p)
    bound = min(len(unseen) * math.exp(cand_floor), rest_q - reported)
    x = max(OTHER_FLOOR, min(rest_q * p_unseen / (p_unseen + p_else), bound))   # the least KL within it
    kl += p_unseen * math.log(p_unseen / x)
    if p_else > OTHER_FLOOR:
        kl += p_else * math.log(p_else / max(OTHER_FLOOR, rest_q - x))
    return max(0.0, kl)


def _known(d: TokenDists, t: int) -> tuple[list[int], list[float]]:
    return [*d.top_ids[t], d.tokens[t]], [*d.top_logprobs[t], d.logprobs[t]]


def generated_item(item_id: str, dense: TokenDists, candidate: TokenDists) -> ItemFidelity | None:
    """One generated item: both models teacher-forced on the dense answer. None: no answer tokens."""
    if dense.tokens != candidate.tokens:
        raise ValueError(f"{item_id}: the two records forced different tokens; both must read the dense answer")
    if not dense.tokens:
        return None
    kls, same = _positions(item_id, [dense], [candidate], own_ranks=1)   # medcheck.scoring.forced: top 1 + dense ids
    n = len(kls)
    return ItemFidelity(item_id, sum(kls) / n, all(same), None, sum(same) / n, n, TOKEN_SHAPE_MAX, PER_TOKEN)


def generated_items(dense: Mapping[str, TokenDists], candidate: Mapping[str, TokenDists]) -> list[ItemFidelity]:
    """Per-item fidelity of generated items present in both mappings (item id -> TokenDists)."""
    out = [generated_item(i, dense[i], candidate[i]) for i in candidate if i in dense]
    return [f for f in out if f is not None]


# -- summaries -------------------------------------------------------------------------------

@dataclass(frozen=True)
class FidelitySummary:
    n: float                    # items measured (Kish effective count for a stratified summary)
    kl: float                   # mean KL(dense || candidate), nats
    kl_low: float
    kl_high: float              # a pass needs this below the KL floor
    kl_shape: float             # total gamma shape behind the interval (n x per-item shape)
    same_top: float             # share of items with the same top answer
    same_top_low: float         # a pass needs this above the same-top floor
    same_top_high: float
    gold_delta: float | None = None       # mean change of the gold option's probability
    token_same_top: float | None = None   # generated: mean per-item share of same top tokens
    confidence: float = 0.95
    strata: int = 1
    method: str = METHOD
    per: str = PER_OPTION                 # PER_TOKEN: `kl` is a mean per token ("mixed" across strata)
    option_kl: float | None = None        # choice items: mean KL of the option distributions (reported)

    @property
    def kl_name(self) -> str:
        return "KL/token" if self.per == PER_TOKEN else "KL"

    def properties(self) -> list[tuple[str, str]]:
        """JUnit property pairs (prefixed: a testcase also carries accuracy's n and interval)."""
        out = [("fidelity_n", str(self.n)), ("fidelity_kl", f"{self.kl:.6g}"),
               ("fidelity_kl_low", f"{self.kl_low:.6g}"), ("fidelity_kl_high", f"{self.kl_high:.6g}"),
               ("fidelity_same_top", f"{self.same_top:.4f}"), ("fidelity_same_top_low", f"{self.same_top_low:.4f}"),
               ("fidelity_same_top_high", f"{self.same_top_high:.4f}")]
        if self.gold_delta is not None:
            out.append(("fidelity_gold_delta", f"{self.gold_delta:+.4f}"))
        if self.token_same_top is not None:
            out.append(("fidelity_token_same_top", f"{self.token_same_top:.4f}"))
        if self.option_kl is not None:
            out.append(("fidelity_option_kl", f"{self.option_kl:.6g}"))
        return out + [("fidelity_per", self.per), ("fidelity_method", self.method)]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        return (f"{self.kl_name} {self.kl:.4g} [{self.kl_low:.4g}, {self.kl_high:.4g}], same top "
                f"{self.same_top:.1%} [{self.same_top_low:.1%}, {self.same_top_high:.1%}] (n={self.n:g})")


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(items: Sequence[ItemFidelity], confidence: float = 0.95) -> FidelitySummary | None:
    """One dataset's fidelity; None where no item was measured (report "fidelity not measured")."""
    n = len(items)
    if n == 0:
        return None
    kls = [max(i.kl, KL_RESOLUTION) for i in items]
    shape = gamma_shape(kls, min(i.shape_cap for i in items), confidence)
    mean = sum(kls) / n
    kl_low, kl_high = gamma_mean_interval(mean, n * shape, confidence)
    same = sum(i.same_top for i in items)
    low, high = clopper_pearson(same, n, confidence)
    raw = sum(i.kl for i in items) / n   # the interval is of the floored values: widened to hold it
    per = {i.per for i in items}
    if len(per) > 1:
        raise ValueError(f"one dataset's items measured per token and per option: {sorted(per)}")
    return FidelitySummary(n, raw, min(kl_low, raw), kl_high, n * shape, same / n, low, high,
                           _mean([i.gold_delta for i in items if i.gold_delta is not None]),
                           _mean([i.token_same_top for i in items if i.token_same_top is not None]), confidence,
                           per=per.pop(), option_kl=_mean([i.option_kl for i in items if i.option_kl is not None]))


def stratified(parts: Sequence[FidelitySummary], weights: Sequence[float] | None = None) -> FidelitySummary | None:
    """A dimension's or track's fidelity from its datasets' summaries; equal weights by default
    (each dataset counts once, as in the track scores); weights proportional to n pool the items.

    Mean KL: the weighted mean, its gamma shape moment-matched (Satterthwaite) from the parts'
    shapes, so one part gives back its own interval. Same-top: Clopper-Pearson at the Kish
    effective sample size (Korn and Graubard 1998); exact when the weights pool the items."""
    if not parts:
        return None
    conf = parts[0].confidence
    w = [1.0] * len(parts) if weights is None else [float(x) for x in weights]
    if len(w) != len(parts) or min(w) < 0 or sum(w) <= 0:
        raise ValueError(f"need one non-negative weight per part, not all zero; got {weights!r}")
    w = [x / sum(w) for x in w]
    kl = sum(x * p.kl for x, p in zip(w, parts))
    floored = [max(p.kl, KL_RESOLUTION) for p in parts]
    mean = sum(x * m for x, m in zip(w, floored))
    var = sum((x * m) ** 2 / p.kl_shape for x, m, p in zip(w, floored, parts))
    shape = mean * mean / var
    kl_low, kl_high = gamma_mean_interval(mean, shape, conf)
    same = min(1.0, max(0.0, sum(x * p.same_top for x, p in zip(w, parts))))   # weights summing to 1 +- rounding
    var_p = sum(x * x * p.same_top * (1 - p.same_top) / p.n for x, p in zip(w, parts))
    kish = 1.0 / sum(x * x / p.n for x, p in zip(w, parts))
    n_eff = min(sum(p.n for p in parts), same * (1 - same) / var_p if var_p > 0 else kish)
    low, high = clopper_pearson(min(same * n_eff, n_eff), n_eff, conf)
    low, high = min(low, same), max(high, same)

    def mean_of(field: str) -> float | None:
        vals = [(x, getattr(p, field)) for x, p in zip(w, parts) if getattr(p, field) is not None]
        total = sum(x for x, _ in vals)
        return sum(x * v for x, v in vals) / total if vals and total > 0 else None

    pers = {p.per for p in parts}
    return FidelitySummary(round(n_eff, 3), kl, min(kl_low, kl), max(kl_high, kl), shape, same, low, high,
                           mean_of("gold_delta"), mean_of("token_same_top"), conf, len(parts),
                           per=pers.pop() if len(pers) == 1 else "mixed", option_kl=mean_of("option_kl"))


# -- the verdict -----------------------------------------------------------------------------

def judge_fidelity(summary: FidelitySummary, kl_max: float, same_top_min: float) -> tuple[str, str]:
    """pass: both intervals wholly on the right side of their floors (KL upper bound below
    `kl_max`, same-top lower bound above `same_top_min`); fail: either wholly on the wrong side
    (KL lower bound above `kl_max`, or same-top upper bound below `same_top_min`); else
    inconclusive, with the items the observed rates would need to decide (`items_needed`).
    A same-top floor of 0 gates nothing: every interval clears it (KL alone decides)."""
    if kl_max <= 0 or not 0.0 <= same_top_min < 1.0:
        raise ValueError(f"need kl_max > 0 and 0 <= same_top_min < 1, got {kl_max!r}, {same_top_min!r}")
    s = summary
    pct = round(s.confidence * 100)
    facts = s.describe()
    wrong = []
    if s.kl_low > kl_max:
        wrong.append(f"mean {s.kl_name} {s.kl:.4g} > {kl_max:g} (its {pct}% interval lies above: "
                     f"[{s.kl_low:.4g}, {s.kl_high:.4g}])")
    if s.same_top_high < same_top_min:
        wrong.append(f"same top answer {s.same_top:.1%} < {same_top_min:.0%} (interval below: "
                     f"[{s.same_top_low:.1%}, {s.same_top_high:.1%}])")
    if wrong:
        return FAIL, "fidelity to the dense model fails: " + "; ".join(wrong) + f"; n={s.n:g}"
    if s.kl_high < kl_max and _clears(s.same_top_low, same_top_min):
        return PASS, f"fidelity within floors ({s.kl_name} < {kl_max:g}, same top > {same_top_min:.0%}): {facts}"
    open_ = []
    if s.kl_high >= kl_max:
        open_.append(f"{s.kl_name} interval reaches {s.kl_high:.4g} >= {kl_max:g}")
    if not _clears(s.same_top_low, same_top_min):
        open_.append(f"same-top interval reaches {s.same_top_low:.1%} <= {same_top_min:.0%}")
    need = items_needed(s, kl_max, same_top_min)
    more = f"; at these rates about {need} items would decide" if need else ""
    return INCONCLUSIVE, f"fidelity undecided: {'; '.join(open_)}: {facts}{more}"


def _clears(same_top_low: float, same_top_min: float) -> bool:
    """The same-top interval's lower end above its floor; a floor of 0 is no floor."""
    return same_top_min == 0.0 or same_top_low > same_top_min


def items_needed(summary: FidelitySummary, kl_max: float, same_top_min: float, cap: int = 100_000) -> int | None:
    """Items at which the judge would decide if the observed mean KL, per-item shape and same-top
    rate held; None where the observed values sit on a floor or `cap` items would not do."""
    s = summary
    shape = s.kl_shape / s.n
    kl = max(s.kl, KL_RESOLUTION)

    def decided(n: int) -> bool:
        kl_low, kl_high = gamma_mean_interval(kl, n * shape, s.confidence)
        low, high = clopper_pearson(s.same_top * n, n, s.confidence)
        if kl_low > kl_max or high < same_top_min:
            return True
        return kl_high < kl_max and _clears(low, same_top_min)

    if not decided(cap):
        return None
    lo, hi = 1, cap
    while lo < hi:   # decided() is monotone in n at fixed rates
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if decided(mid) else (mid + 1, hi)
    return lo
