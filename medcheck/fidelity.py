"""Fidelity to the dense model: how far a candidate's answer distribution moved, on every item.

Accuracy sees damage only where it flips an item between right and wrong; a near-chance model
hides a broken candidate behind matching accuracy. Fidelity compares the two models' answer
distributions item by item (as llama.cpp's `perplexity --kl-divergence` judges quantizations):

* Choice items: each model's option distribution is the softmax of its *summed* option
  log-likelihoods (`SampleRecord.scores`), i.e. P(option | prompt, one of the options): a real
  probability, the one whose argmax is the model's prediction (acc). Length-normalised scores
  (acc_norm, per character) are not log-probabilities of anything; a softmax over them has a
  temperature set by option length (dividing by ~50 characters flattens long options to near
  uniform, hiding any change), and the records do not keep the lengths. With letter options
  (" A".." D") both agree anyway. Per item: KL(dense || candidate) in nats, the change of the
  gold option's probability (candidate - dense), and whether the top option is the same.
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
GENERATED_SHAPE_MAX = 1.0   # per-item gamma shape cap for generated items: CV >= 1 (the exponential)
OTHER_FLOOR = 1e-6     # least "other" mass: float32 softmax sums are exact to ~1e-7 only
METHOD = "gamma(shape<=cap) mean KL; Clopper-Pearson same-top"

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


@dataclass(frozen=True)
class ItemFidelity:
    item_id: str
    kl: float                          # KL(dense || candidate), nats (generated: mean per token)
    same_top: bool                     # same top option; generated: the same top token everywhere
    gold_delta: float | None = None    # P_cand(gold) - P_dense(gold), choice items with a gold option
    token_same_top: float | None = None   # generated: share of positions with the same top token
    positions: int = 1                 # options (choice) or answer tokens (generated) compared
    shape_cap: float = 1.0             # gamma shape this item's KL can have at most (module doc)

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
                gold: int | None = None) -> ItemFidelity:
    """One choice item from each model's summed option log-likelihoods (same option order)."""
    if len(dense_scores) != len(candidate_scores) or len(dense_scores) < 2:
        raise ValueError(f"{item_id}: need the same >= 2 options in both records, got "
                         f"{len(dense_scores)} and {len(candidate_scores)}")
    p, q = log_softmax(dense_scores), log_softmax(candidate_scores)
    top_p = max(range(len(p)), key=p.__getitem__)   # first maximum, as score_item picks it
    top_q = max(range(len(q)), key=q.__getitem__)
    delta = None if gold is None else math.exp(q[gold]) - math.exp(p[gold])
    return ItemFidelity(item_id, kl_logprobs(p, q), top_p == top_q, delta, None, len(p), (len(p) - 1) / 2)


def gold_indices(items: Sequence[ChoiceItem]) -> dict[str, int]:
    """item id -> index of its gold option (records keep the gold label, not its position)."""
    return {item.id: item.gold for item in items}


def choice_items(dense: Sequence[SampleRecord], candidate: Sequence[SampleRecord],
                 gold: Mapping[str, int] | None = None) -> list[ItemFidelity]:
    """Per-item fidelity of a candidate's records against the dense records, matched by item id."""
    by_id = {r.item_id: r for r in dense}
    missing = [r.item_id for r in candidate if r.item_id not in by_id]
    if missing:
        raise ValueError(f"no dense record for {len(missing)} candidate item(s), e.g. {missing[0]!r}")
    return [choice_item(r.item_id, by_id[r.item_id].scores, r.scores, (gold or {}).get(r.item_id))
            for r in candidate]


# -- generated items -------------------------------------------------------------------------

def token_kl(dense_ids: Sequence[int], dense_lps: Sequence[float],
             cand_ids: Sequence[int], cand_lps: Sequence[float]) -> float:
    """KL(dense || candidate) at one position from the ids each record carries.

    The vocabulary is coarsened to the ids *both* records give a log-probability for (each
    model's top-k, the forced token, and any ids the candidate was asked to report), plus one
    bucket holding all other tokens, whose mass is 1 - the known mass of each model. That KL is
    exact for the coarsened distributions and, by the data-processing inequality, never above
    the full-vocabulary KL: an approximation from below, tight when the shared ids hold most of
    the dense mass (the hf backend reports the candidate at the dense model's top-k ids)."""
    p = dict(zip(dense_ids, dense_lps))
    q = dict(zip(cand_ids, cand_lps))
    shared = [t for t in p if t in q]
    kl = sum(math.exp(p[t]) * (p[t] - q[t]) for t in shared)
    p_other = max(0.0, 1.0 - sum(math.exp(p[t]) for t in shared))
    q_other = max(OTHER_FLOOR, 1.0 - sum(math.exp(q[t]) for t in shared))
    if p_other > OTHER_FLOOR:
        kl += p_other * math.log(p_other / q_other)
    return max(0.0, kl)


def _known(d: TokenDists, t: int) -> tuple[list[int], list[float]]:
    return [*d.top_ids[t], d.tokens[t]], [*d.top_logprobs[t], d.logprobs[t]]


def generated_item(item_id: str, dense: TokenDists, candidate: TokenDists) -> ItemFidelity | None:
    """One generated item: both models teacher-forced on the dense answer. None: no answer tokens."""
    if dense.tokens != candidate.tokens:
        raise ValueError(f"{item_id}: the two records forced different tokens; both must read the dense answer")
    if not dense.tokens:
        return None
    kls, same = [], []
    for t in range(len(dense.tokens)):
        kls.append(token_kl(*_known(dense, t), *_known(candidate, t)))
        same.append(dense.top_ids[t][0] == candidate.top_ids[t][0])
    n = len(kls)
    return ItemFidelity(item_id, sum(kls) / n, all(same), None, sum(same) / n, n, GENERATED_SHAPE_MAX)


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
        return out + [("fidelity_method", self.method)]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        return (f"KL {self.kl:.4g} [{self.kl_low:.4g}, {self.kl_high:.4g}], same top "
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
    return FidelitySummary(n, raw, min(kl_low, raw), kl_high, n * shape, same / n, low, high,
                           _mean([i.gold_delta for i in items if i.gold_delta is not None]),
                           _mean([i.token_same_top for i in items if i.token_same_top is not None]), confidence)


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

    return FidelitySummary(round(n_eff, 3), kl, min(kl_low, kl), max(kl_high, kl), shape, same, low, high,
                           mean_of("gold_delta"), mean_of("token_same_top"), conf, len(parts))


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
        wrong.append(f"mean KL {s.kl:.4g} > {kl_max:g} (its {pct}% interval lies above: "
                     f"[{s.kl_low:.4g}, {s.kl_high:.4g}])")
    if s.same_top_high < same_top_min:
        wrong.append(f"same top answer {s.same_top:.1%} < {same_top_min:.0%} (interval below: "
                     f"[{s.same_top_low:.1%}, {s.same_top_high:.1%}])")
    if wrong:
        return FAIL, "fidelity to the dense model fails: " + "; ".join(wrong) + f"; n={s.n:g}"
    if s.kl_high < kl_max and _clears(s.same_top_low, same_top_min):
        return PASS, f"fidelity within floors (KL < {kl_max:g}, same top > {same_top_min:.0%}): {facts}"
    open_ = []
    if s.kl_high >= kl_max:
        open_.append(f"KL interval reaches {s.kl_high:.4g} >= {kl_max:g}")
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
