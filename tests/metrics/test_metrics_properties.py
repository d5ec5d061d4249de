"""Property-based tests (hypothesis) for medcheck.metrics."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medcheck.metrics import ccs, ces, cps, twy

EPS = 1e-12  # slack for float rounding in bound comparisons

names = st.text(alphabet="abcdefgh", min_size=1, max_size=3)
acc = st.floats(min_value=0.01, max_value=1.0, allow_nan=False)  # accuracies
frac = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)  # trust scores
eff = st.floats(min_value=0.01, max_value=1e4, allow_nan=False)  # tokens/s, GB, ...
scores = st.dictionaries(names, acc, min_size=1, max_size=8)
TRUST_DIMS = ["privacy", "fairness", "safety"]
pair_keys = st.tuples(names, st.sampled_from(TRUST_DIMS))  # (model, dimension)


@st.composite
def paired(draw, keys=names, values=acc, min_size=1):
    """Two mappings with the same keys: (dense, compressed)."""
    dense = draw(st.dictionaries(keys, values, min_size=min_size, max_size=8))
    comp = {k: draw(values) for k in dense}
    return dense, comp


# --------------------------------------------------------------- identities
@given(scores)
def test_cps_identity(dense):
    assert cps(dense, dict(dense)) == 1.0


@given(scores, st.lists(names, min_size=1, max_size=4, unique=True))
def test_ccs_identity(dense, settings):
    comp = {(m, s): v for m, v in dense.items() for s in ["dense", *settings]}
    assert ccs(dense, comp) == 1.0


@given(st.dictionaries(pair_keys, frac, min_size=1, max_size=8),
       st.floats(min_value=-20, max_value=20, allow_nan=False))
def test_twy_identity(dense, a):
    assert twy(dense, dict(dense), {t: a for t in TRUST_DIMS}) == 1.0


@given(st.dictionaries(pair_keys, eff, min_size=1, max_size=8), st.booleans())
def test_ces_identity(dense, up):
    assert ces(dense, dict(dense), {t: up for t in TRUST_DIMS}) == 1.0


# ------------------------------------------------------------------- bounds
@given(scores, st.data())
def test_cps_between_extreme_terms(dense, data):
    comp = {k: data.draw(frac) for k in dense}  # compressed may collapse to 0
    ratios = [comp[k] / dense[k] for k in dense]
    value = cps(dense, comp)
    assert value >= 0.0
    if max(ratios) > 1e-12:  # for tinier r, 1 + r == 1.0 in floats and log2 gives 0
        assert value > 0.0
    assert math.log2(1 + min(ratios)) - EPS <= value <= math.log2(1 + max(ratios)) + EPS


@given(scores, st.data())
def test_cps_below_one_when_every_ratio_below_one(dense, data):
    comp = {k: v * data.draw(st.floats(0.0, 0.99)) for k, v in dense.items()}
    assert cps(dense, comp) < 1.0


@given(scores, st.data())
def test_cps_above_one_when_every_ratio_above_one(dense, data):
    comp = {k: v * data.draw(st.floats(1.01, 100.0)) for k, v in dense.items()}
    assert cps(dense, comp) > 1.0


@given(acc, st.floats(min_value=0.0, max_value=1e6, allow_nan=False))
def test_cps_single_key_non_negative(d, c):
    assert 0.0 <= cps({"k": d}, {"k": c}) < math.inf


# ------------------------------------------------------------- monotonicity
@given(paired(), st.data())
def test_cps_monotone(pair, data):
    dense, comp = pair
    k = data.draw(st.sampled_from(sorted(dense)))
    raised = {**comp, k: comp[k] + data.draw(st.floats(0.0, 10.0))}
    assert cps(dense, raised) >= cps(dense, comp)


@given(scores, st.data())
def test_ccs_monotone(dense, data):
    comp = {(m, s): data.draw(acc) for m in dense for s in ("w4", "sp50")}
    key = data.draw(st.sampled_from(sorted(comp)))
    raised = {**comp, key: comp[key] + data.draw(st.floats(0.0, 10.0))}
    assert ccs(dense, raised) >= ccs(dense, comp)


@given(paired(keys=pair_keys, values=frac), st.floats(0.0, 20.0), st.data())
def test_twy_monotone_for_positive_exponent(pair, a, data):
    dense, comp = pair
    key = data.draw(st.sampled_from(sorted(dense)))
    raised = {**comp, key: data.draw(st.floats(comp[key], 1.0))}
    exps = {t: a for t in TRUST_DIMS}
    assert twy(dense, raised, exps) >= twy(dense, comp, exps)


@given(paired(keys=pair_keys, values=eff), st.floats(1.01, 10.0), st.data())
def test_ces_direction(pair, factor, data):
    dense, comp = pair
    key = data.draw(st.sampled_from(sorted(dense)))
    raised = {**comp, key: comp[key] * factor}
    up = {t: True for t in TRUST_DIMS}
    down = {t: False for t in TRUST_DIMS}
    assert ces(dense, raised, up) > ces(dense, comp, up)  # e.g. more tokens/s
    assert ces(dense, raised, down) < ces(dense, comp, down)  # e.g. more memory


# ---------------------------------------------------- key-order invariance
@given(paired(keys=pair_keys, values=eff, min_size=2), st.randoms(use_true_random=False))
def test_key_order_invariance(pair, rnd):
    dense, comp = pair

    def shuffled(mapping: dict) -> dict:
        items = list(mapping.items())
        rnd.shuffle(items)
        return dict(items)

    assert cps(shuffled(dense), shuffled(comp)) == cps(dense, comp)
    up = {"privacy": True, "fairness": False, "safety": True}
    assert ces(shuffled(dense), shuffled(comp), up) == ces(dense, comp, up)
    fd = {k: v / 1e4 for k, v in dense.items()}
    fc = {k: v / 1e4 for k, v in comp.items()}
    exps = {"privacy": 3.0, "fairness": -1.0, "safety": 0.5}
    assert twy(shuffled(fd), shuffled(fc), exps) == twy(fd, fc, exps)
    by_model = {m: v for (m, _), v in dense.items()}
    assert ccs(shuffled(by_model), shuffled(comp)) == ccs(by_model, comp)


# ------------------------------------------------------------------ errors
@given(paired(min_size=2), st.data())
def test_mismatched_keys_are_named(pair, data):
    dense, comp = pair
    gone = data.draw(st.sampled_from(sorted(dense)))
    del comp[gone]
    comp["zzzz"] = 0.5
    with pytest.raises(ValueError) as err:
        cps(dense, comp)
    assert repr(gone) in str(err.value) and "'zzzz'" in str(err.value)


@given(paired(), st.data(), st.sampled_from([0.0, -0.5, math.nan, math.inf]))
def test_bad_dense_value_is_named(pair, data, bad):
    dense, comp = pair
    key = data.draw(st.sampled_from(sorted(dense)))
    with pytest.raises(ValueError, match=re.escape(repr(key))):
        cps({**dense, key: bad}, comp)


@given(paired(), st.data(), st.sampled_from([-1e-9, -3.0, math.nan]))
def test_bad_compressed_value_is_named(pair, data, bad):
    dense, comp = pair
    key = data.draw(st.sampled_from(sorted(dense)))
    with pytest.raises(ValueError, match=re.escape(repr(key))):
        cps(dense, {**comp, key: bad})


@given(paired(keys=pair_keys, values=frac), st.data(),
       st.one_of(st.floats(1.0, 5.0, exclude_min=True), st.floats(-5.0, 0.0, exclude_max=True)))
def test_twy_rejects_out_of_range(pair, data, bad):
    dense, comp = pair
    key = data.draw(st.sampled_from(sorted(dense)))
    exps = {t: 1.0 for t in TRUST_DIMS}
    with pytest.raises(ValueError, match=re.escape(repr(key))):
        twy(dense, {**comp, key: bad}, exps)


def test_empty_inputs():
    for fn in (cps, ccs):
        with pytest.raises(ValueError, match="empty"):
            fn({}, {})
    with pytest.raises(ValueError, match="empty"):
        twy({}, {}, {"privacy": 1.0})
    with pytest.raises(ValueError, match="empty"):
        ces({}, {}, {"bits": False})


def test_missing_exponent_direction_and_orphan_model():
    d = {("m", "privacy"): 0.5, ("m", "safety"): 0.5}
    with pytest.raises(ValueError, match="'safety'"):
        twy(d, dict(d), {"privacy": 1.0})
    with pytest.raises(ValueError, match="'safety'"):
        ces(d, dict(d), {"privacy": True})
    with pytest.raises(ValueError, match="'other'"):
        ccs({"m": 0.5}, {("m", "w4"): 0.4, ("other", "w4"): 0.4})


@given(eff)
def test_ces_zero_compressed_where_lower_is_better(d):
    with pytest.raises(ValueError, match="lower is better"):
        ces({("m", "bits"): d}, {("m", "bits"): 0.0}, {"bits": False})
    assert ces({("m", "tps"): d}, {("m", "tps"): 0.0}, {"tps": True}) == 0.0
