"""Records are stored per item under the split's key, not the selection's: a later run with a
larger limit (or budget) reads the items an earlier run scored and scores only the ones it adds."""

from __future__ import annotations


def _runs(run) -> dict[tuple[str, str], dict]:
    return {(r["pair"], r["dataset"]): r for r in run.report()["runs"]}


def test_a_larger_limit_scores_only_the_items_it_adds(gate):
    args = ("--medcheck-compression", "bnb-int8", "-k", "test_cps and medqa and not gen")
    small = gate.run("--medcheck-limit", "4", *args)
    before = _runs(small)   # read now: both runs write the same report folder
    first = {(s["pair"], s["item_id"]): s for s in small.samples()}
    large = gate.run("--medcheck-limit", "8", *args)
    after = _runs(large)
    assert set(before) == set(after) and len(after) == 2           # dense and candidate on medqa
    for key, run in after.items():
        assert before[key]["cached_items"] == 0 and before[key]["n"] == 4
        assert run["cached_items"] == 4 and run["n"] == 8, key     # the first four come from the store
        assert run["cache_key"] == before[key]["cache_key"]
    again = {(s["pair"], s["item_id"]): s for s in large.samples() if (s["pair"], s["item_id"]) in first}
    assert len(again) == 8 and all(again[k]["correct"] == first[k]["correct"] for k in first)
