"""medcheck/report/tables.py on hand-built payloads, with and without the efficiency and cross rows."""

from __future__ import annotations

import csv
import math

import pytest

from medcheck import metrics
from medcheck.report import tables
from tests.report.payloads import INT8, MODEL, NF4, base, full, rec


def _cells(table: tables.Table) -> list[list[str]]:
    return [[table.text(i, j) for j in range(len(table.columns))] for i in range(len(table.rows))]


def test_knowledge_rows_dense_first_with_cps_track_and_verdict():
    table = tables.table(rec(full()), "knowledge")
    assert [c.title for c in table.columns] == ["model", "method", "anatomy", "medqa", "pubmed_qa",
                                                "knowledge CPS", "verdict"]
    dense, nf4, int8 = _cells(table)
    assert dense == [MODEL, "dense", "0.400", "0.300", "0.500", "1.000", "reference"]
    assert nf4[:5] == [MODEL, "bnb-nf4", "0.300 (0.807)", "0.200 (0.737)", "0.350 (0.765)!"]   # ! degenerate
    assert nf4[5] == "0.780" and nf4[6].startswith("FAIL: anatomy, medqa, pubmed_qa, knowledge")
    assert int8[1] == "bnb-int8*"            # loaded by a fallback strategy
    assert int8[6] == "ERROR"                # its snapshot test errored
    assert (1, 3) in table.bad and (1, 5) in table.bad and not any(i == 2 for i, _ in table.bad)
    assert any(n.startswith("!") for n in table.notes) and any(n.startswith("*") for n in table.notes)


def test_track_cps_is_computed_with_metrics_when_no_track_test_ran():
    payload = base()
    payload["verdicts"] = [v for v in payload["verdicts"] if v["kind"] != "track"]
    table = tables.table(rec(payload), "knowledge")
    assert table.columns[5].title == "track CPS (computed)"
    acc = tables.accuracies(rec(payload))
    expected = metrics.cps(acc[f"{MODEL}/dense"], acc[NF4])
    assert table.rows[1][5] == pytest.approx(expected)
    assert any("computed" in n for n in table.notes)


def test_cps_undefined_when_dense_accuracy_is_zero():
    payload = base()
    for s in payload["scores"]:
        if s["dataset"] == "medqa":
            s["dense_accuracy"], s["dense_score"], s["cps"] = 0.0, 0.0, None
    table = tables.table(rec(payload), "knowledge")
    assert _cells(table)[1][3] == "0.200"
    assert any("undefined" in n for n in table.notes)


def test_cross_matrix_dense_first_ccs_last():
    table = tables.table(rec(full()), "cross")
    assert [c.title for c in table.columns] == ["model", "dense", "bnb-nf4", "bnb-int8", "CCS"]
    row = _cells(table)[0]
    expected = (math.log2(2) + math.log2(1 + 0.3 / 0.4) + math.log2(2)) / 3
    assert row[:4] == [MODEL, "0.400", "0.300", "0.400"] and row[4] == f"{expected:.3f}"


def test_efficiency_values_with_oriented_ratios_and_memory_kind():
    table = tables.table(rec(full()), "efficiency")
    titles = [c.title for c in table.columns]
    assert titles == ["model", "method", "memory (MB)", "bits/weight", "TTFT (s)", "ACT (s)", "TPS", "CES", "verdict"]
    dense, nf4, _ = _cells(table)
    assert dense[1:7] == ["dense", f"{600e6 / 2**20:.1f}", "32.00", "0.080", "0.040", "25.0"]
    assert nf4[2] == f"{170e6 / 2**20:.1f} ({600 / 170:.2f}x)"      # lower is better: dense / compressed
    assert nf4[6] == f"11.0 ({11 / 25:.2f}x)"                          # higher is better: compressed / dense
    assert nf4[8] == "pass"
    assert any("weight bytes + peak RSS increase" in n for n in table.notes)


def test_tables_without_efficiency_and_cross_rows_are_left_out(tmp_path):
    payload = base()
    assert "rows" not in payload["tracks"]["efficiency"] and "rows" not in payload["tracks"]["cross"]
    assert [t.name for t in tables.tables(rec(payload))] == ["knowledge"]
    md = tables.markdown(rec(payload))
    assert "Knowledge track" in md and "Efficiency" not in md and "Cross-combination" not in md
    (tmp_path / "cross.csv").write_text("stale")                      # from an earlier run
    assert tables.write_csv(rec(payload), tmp_path) == [tmp_path / "knowledge.csv"]
    assert not (tmp_path / "cross.csv").exists()


def test_markdown_has_status_notes_tables_breaches_and_errors():
    md = tables.markdown(rec(full()))
    assert md.startswith("# medcheck report")
    assert "GATE FAILED: 4 threshold breaches, 1 error" in md
    assert "SAMPLE DATA" in md and "DEGENERATE" in md
    for title in ("Knowledge track", "Efficiency", "Cross-combination", "Threshold breaches", "Errors"):
        assert f"## {title}" in md
    assert "| model | method | anatomy |" in md and "**0.300 (0.807)**" in md
    assert "ValueError: boom" in md


def test_csv_columns_are_numeric(tmp_path):
    paths = tables.write_csv(rec(full()), tmp_path)
    assert [p.name for p in paths] == ["knowledge.csv", "cross.csv", "efficiency.csv"]
    rows = list(csv.DictReader((tmp_path / "knowledge.csv").open()))
    assert rows[0]["method"] == "dense" and rows[0]["medqa_cps"] == ""
    assert float(rows[1]["medqa"]) == 0.2 and float(rows[1]["medqa_cps"]) == pytest.approx(0.737, abs=1e-3)
    eff = list(csv.DictReader((tmp_path / "efficiency.csv").open()))
    assert float(eff[1]["memory_mb"]) == pytest.approx(170e6 / 2**20, rel=1e-6)
    assert float(eff[1]["memory_mb_ratio"]) == pytest.approx(600 / 170, rel=1e-6)
    cross = list(csv.DictReader((tmp_path / "cross.csv").open()))
    assert list(cross[0]) == ["model", "dense", "bnb-nf4", "bnb-int8", "ccs"]


def test_status_and_an_empty_run():
    assert tables.status(rec(base()))[0] is False
    passing = base()
    passing["verdicts"] = [v | {"passed": True} for v in passing["verdicts"]]
    passing["errors"] = {}
    assert tables.status(rec(passing)) == (True, f"GATE PASSED: {len(passing['verdicts'])} threshold checks, no breach")
    empty = base() | {"pairs": [INT8], "runs": [], "scores": [], "verdicts": [], "errors": {}}
    assert tables.tables(rec(empty)) == [] and "No scores" in tables.markdown(rec(empty))
    assert tables.status(rec(empty))[0] is None


def test_a_checkpoint_path_stays_in_the_method_column():
    from medcheck.report.tables import pair_parts

    assert pair_parts("my-model/checkpoint:/tmp/x/my-model-rtn-w4") == ("my-model", "checkpoint:/tmp/x/my-model-rtn-w4")
    assert pair_parts("smollm2-135m/bnb-nf4") == ("smollm2-135m", "bnb-nf4") and pair_parts("m") == ("m", "")
