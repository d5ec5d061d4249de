"""The fidelity column: where a track's file gates fidelity, its table shows each candidate's track
test's fidelity (mean KL, its upper bound, same-top share, outcome) or "not measured", with a note;
a run without gated fidelity keeps the table as it was."""

from __future__ import annotations

from medcheck.report.trust import trust
from tests.report.payloads import INT8, NF4, rec
from tests.report.test_trust_table import _payload

MEASURED = {"fidelity_outcome": "fail", "fidelity_n": "20", "fidelity_kl": "0.4321", "fidelity_kl_low": "0.2",
            "fidelity_kl_high": "0.9", "fidelity_same_top": "0.4000", "fidelity_same_top_low": "0.19",
            "fidelity_same_top_high": "0.64", "fidelity_kl_max": 0.05, "fidelity_same_top_min": 0.6}
UNMEASURED = {"fidelity_outcome": "not measured", "fidelity_unmeasured": "the backend cannot teacher-force"}


def _gated() -> dict:
    payload = _payload()
    for v in payload["verdicts"]:
        if v["subject"] == "trust":
            v["fidelity"] = MEASURED if v["pair"] == NF4 else UNMEASURED
    return payload


def test_a_gated_track_shows_each_candidates_fidelity():
    table = trust(rec(_gated()))
    titles = [c.title for c in table.columns]
    assert titles[-2:] == ["fidelity", "verdict"]
    cells = {row[1]: row[-2] for row in table.rows}
    assert cells["dense"] == "reference"
    assert cells[NF4.split("/")[1]] == "KL 0.432 (<0.9), top 40%: fail"
    assert cells[INT8.split("/")[1]] == "not measured"
    assert any(n.startswith("fidelity: mean KL(dense || candidate)") for n in table.notes)


def test_without_gated_fidelity_the_table_has_no_column():
    assert "fidelity" not in [c.title for c in trust(rec(_payload())).columns]
