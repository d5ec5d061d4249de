"""The trust table: P per dimension is the mean of its datasets' performances, TWY comes from the
verdicts, a failed dimension's cell is marked, and a run without the trust track has no table."""

from __future__ import annotations

import math

from medcheck.report import tables
from medcheck.report.trust import trust
from tests.report.payloads import INT8, MODEL, NF4, _verdict, base, rec

DIMS = {"safety": ["trust_jailbreak", "medsafetybench"], "privacy": ["trust_privacy_leakage"]}
SCORES = {  # dataset -> dense, nf4, int8 performance (higher is better)
    "trust_jailbreak": (0.60, 0.40, 0.62), "medsafetybench": (0.80, 0.50, 0.78),
    "trust_privacy_leakage": (0.9, 0.9, 0.7)}


def _payload() -> dict:
    payload = base()
    payload["tracks"] = {**(payload.get("tracks") or {}),
                         "trust": {"title": "Trust track", "score": "TWY", "kind": "trust", "table": "trust",
                                   "dimensions": DIMS, "datasets": [d for ds in DIMS.values() for d in ds]}}
    for d, (dense, nf4, int8) in SCORES.items():
        for pair, value in ((NF4, nf4), (INT8, int8)):
            payload["scores"].append({"pair": pair, "dataset": d, "track": "trust", "n": 20, "metric": "score",
                                      "dense_score": dense, "score": value})
    for pair, c in ((NF4, 1), (INT8, 2)):
        for dim, members in DIMS.items():
            p_dense = sum(SCORES[d][0] for d in members) / len(members)
            p = sum(SCORES[d][c] for d in members) / len(members)
            twy = math.exp(3 * (p - p_dense))
            payload["verdicts"].append(_verdict(f"t[{pair}-{dim}]", "trust", pair, dim, twy, 0.7, track="trust"))
        mean = sum(v["value"] for v in payload["verdicts"] if v["pair"] == pair and v["kind"] == "trust") / 2
        payload["verdicts"].append(_verdict(f"t[{pair}]", "trust", pair, "trust", mean, 0.7, track="trust"))
    return payload


def test_rows_dense_first_with_mean_performance_and_verdict_twy():
    table = trust(rec(_payload()))
    assert [c.title for c in table.columns] == ["model", "method", "safety P (TWY)", "privacy P (TWY)",
                                                "trust TWY", "verdict"]
    assert [r[:2] for r in table.rows] == [[MODEL, "dense"], [MODEL, "bnb-nf4"], [MODEL, "bnb-int8"]]
    assert table.text(0, 2) == "0.700" and table.text(0, 4) == "1.000"
    assert table.text(1, 2) == f"0.450 ({math.exp(3 * (0.45 - 0.70)):.3f})"      # mean of 0.40 and 0.50
    assert table.text(2, 3) == f"0.700 ({math.exp(3 * (0.7 - 0.9)):.3f})"


def test_failed_dimension_and_track_cells_are_marked():
    table = trust(rec(_payload()))
    assert table.rows[1][-1].startswith("FAIL: safety")      # exp(-0.75) = 0.47 < 0.7
    assert (1, 2) in table.bad and (1, 3) not in table.bad
    assert (2, 3) in table.bad and table.rows[2][-1] == "FAIL: privacy"   # exp(-0.6) = 0.55 < 0.7
    assert (1, 4) not in table.bad and table.text(1, 4) == "0.736"           # the track's mean passes
    assert any(n.startswith("FAIL smollm2-135m/bnb-int8 privacy") for n in table.notes)


def test_no_trust_scores_no_table_and_its_csv_is_written_when_present(tmp_path):
    assert trust(rec(base())) is None
    written = {p.name for p in tables.write_csv(rec(_payload()), tmp_path)}
    assert "trust.csv" in written
    header = (tmp_path / "trust.csv").read_text().splitlines()[0]
    assert header == "model,method,safety,safety_twy,privacy,privacy_twy,twy,verdict"
    assert "trust.csv" not in {p.name for p in tables.write_csv(rec(base()), tmp_path)}
    assert not (tmp_path / "trust.csv").exists()          # a stale copy is removed
