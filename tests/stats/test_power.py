"""medcheck.power: simulated candidates, false-alarm and detection rates, items needed, the command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medcheck import power
from medcheck.decision import Rule, decide_cps
from medcheck.errors import ConfigError
from medcheck.stats import Paired

CATCH, PROVE, POINT = Rule("catch-damage"), Rule("prove-safe"), Rule("point")


def record(n: int, dense_right: int, b: int, c: int, stratum: str = "medqa") -> Paired:
    dense = [1] * dense_right + [0] * (n - dense_right)
    cand = [0] * b + [1] * (dense_right - b) + [1] * c + [0] * (n - dense_right - c)
    return Paired.single(dense, cand, stratum)


SMALL = record(50, 30, 3, 3)             # 60% accurate, flip rate 0.12
LARGE = record(1000, 600, 60, 60)        # the same proportions on 1,000 items


def test_simulated_candidates_keep_accuracy_and_flip_rate_in_expectation():
    cands = power.candidates(LARGE, 0.0, runs=400, seed=1)
    dense = np.asarray(LARGE.dense)
    assert cands.shape == (400, 1000)
    assert cands.mean() == pytest.approx(0.6, abs=0.003)
    assert (cands != dense).mean() == pytest.approx(0.12, abs=0.003)
    lossy = power.candidates(LARGE, 0.05, runs=400, seed=1)
    assert lossy.mean() == pytest.approx(0.55, abs=0.003)
    assert (lossy != dense).mean() == pytest.approx(0.12, abs=0.003)
    big_loss = power.candidates(LARGE, 0.2, runs=400, seed=1)         # a loss needs >= k flips
    assert (big_loss != dense).mean() == pytest.approx(0.2, abs=0.003)
    assert big_loss.mean() == pytest.approx(0.4, abs=0.003)


@pytest.mark.parametrize("rule", [CATCH, PROVE, POINT])
def test_vectorised_outcomes_match_decide_cps(rule):
    big = record(200, 120, 6, 6)
    track = Paired(big.dense * 2, big.candidate * 2, ("medqa",) * 200 + ("pubmedqa",) * 200)
    cands = np.concatenate([power.candidates(track, k, runs=4, seed=4) for k in (0.0, 0.15, 0.3)])
    codes = power.outcomes(track, cands, 0.85, rule)
    names = {0: "pass", 1: "fail", 2: "inconclusive"}
    expected = [decide_cps(Paired(track.dense, tuple(c), track.strata), 0.85, rule).outcome for c in cands]
    assert [names[int(k)] for k in codes] == expected
    assert len(set(expected)) == (2 if rule.mode == "point" else 3)      # the case is not trivial


def test_catch_damage_keeps_noise_false_alarms_under_5_percent():
    runs = 2000
    sim = power.simulate(SMALL, 0.95, CATCH, scenario="noise", runs=runs, seed=0)
    assert sim.fail <= 0.05 + 2 * (0.05 * 0.95 / runs) ** 0.5
    assert sim.fails_run == sim.fail
    assert sim.fail + sim.inconclusive + sim.passed == pytest.approx(1.0)
    # the point rule at the same floor raises far more false alarms: that is what intervals buy
    assert power.simulate(SMALL, 0.95, POINT, scenario="noise", runs=runs, seed=0).fail > 3 * max(sim.fail, 0.01)


def test_prove_safe_blocks_inconclusive_candidates():
    sim = power.simulate(SMALL, 0.95, PROVE, scenario="noise", runs=500, seed=0)
    assert sim.inconclusive > 0.5                       # 50 items cannot show safety
    assert sim.fails_run == pytest.approx(sim.fail + sim.inconclusive)


def test_a_10_point_loss_on_1000_items_is_detected():
    sim = power.simulate(LARGE, 0.95, CATCH, scenario=0.10, runs=300, seed=0)
    assert sim.scenario == "loss 10 pts" and sim.loss == 0.10
    assert sim.fail > 0.8


def test_simulation_is_seeded():
    a = power.simulate(SMALL, 0.95, CATCH, scenario=0.05, runs=200, seed=3)
    assert a == power.simulate(SMALL, 0.95, CATCH, scenario=0.05, runs=200, seed=3)


def test_simulate_rejects_bad_scenarios_and_scores():
    with pytest.raises(ValueError):
        power.simulate(SMALL, 0.9, CATCH, scenario="damage")
    with pytest.raises(ValueError):
        power.simulate(SMALL, 0.9, CATCH, scenario=1.5)
    with pytest.raises(ValueError):
        power.simulate(Paired.single([0.5, 1.0], [0.5, 1.0]), 0.9, CATCH)


def test_items_needed_formula_agrees_with_simulation():
    # catch-damage, floor 0.95, 60% accuracy, flip rate 0.12, against a 10-point loss
    need = power.items_needed(SMALL, 0.95, CATCH, loss=0.10)
    assert need is not None and 600 < need < 900         # the exact interval costs items: 300-450 with the bootstrap
    k = -(-need // 50)                                  # whole copies of the 50-item record
    at_need = Paired.single(SMALL.dense * k, SMALL.candidate * k)
    sim = power.simulate(at_need, 0.95, CATCH, scenario=0.10, runs=400, seed=0)
    assert 0.85 < sim.fail < 0.995                      # 90% by the normal approximation (a little conservative)
    quarter = Paired.single(SMALL.dense * (k // 4), SMALL.candidate * (k // 4))
    assert power.simulate(quarter, 0.95, CATCH, scenario=0.10, runs=400, seed=0).fail < 0.6
    assert power.simulate(at_need, 0.95, CATCH, scenario="noise", runs=400, seed=0).fail <= 0.05


def test_items_needed_edges():
    assert power.items_needed(SMALL, 0.90, CATCH) is None        # a 5-point loss gives CPS 0.939 > 0.90
    assert power.loss_cps(SMALL, 0.05) > 0.90
    assert power.items_needed(SMALL, 1.02, CATCH) is None        # a floor above parity
    prove = power.items_needed(SMALL, 0.95, PROVE, loss=0.10)
    assert prove is not None and prove > power.items_needed(SMALL, 0.95, CATCH, loss=0.10)


# -- the command ---------------------------------------------------------------------------------

def verdict(**row: object) -> dict:
    """A report.json verdict row: `row` over the fields power does not read."""
    return {"track": "knowledge", "metric": "CPS", "value": 1.0, "n": 50, "passed": True, "outcome": "pass",
            "message": "", "rule": "knowledge.yaml: cps.default", "decision_rule": {"mode": "point"}, **row}


def report(verdicts: list[dict]) -> dict:
    """report.json of a run with these verdicts (power reads its verdicts and settings)."""
    return {"medcheck": "0", "finished": "", "wall_seconds": 1.0, "settings": {"seed": 0}, "runtime": {},
            "environment": {}, "pairs_file": "pairs.yaml", "pairs": ["tiny/rtn-int4"], "models": {}, "datasets": {},
            "tracks": {}, "runs": [], "scores": [], "verdicts": [verdict(**v) for v in verdicts], "errors": {},
            "notes": [], "throughput": [], "schema_version": 4}


def write_run(tmp: Path, *, rule: dict | None = None, extra_line: str | None = None) -> Path:
    rows = []
    for ds, paired in (("medqa", record(50, 30, 3, 2)), ("pubmed_qa", record(40, 28, 2, 1))):
        for compression, scores in (("dense", paired.dense), ("rtn-int4", paired.candidate)):
            rows += [{"pair": f"tiny/{compression}", "dataset": ds, "item_id": f"{ds}-{i}", "correct": bool(s),
                      "answer": "A"} for i, s in enumerate(scores)]
    lines = [json.dumps(r) for r in rows]
    if extra_line is not None:
        lines.insert(2, extra_line)
    (tmp / "samples.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    verdicts = [
        {"test": "test_dataset_cps[medqa-tiny/rtn-int4]", "kind": "dataset", "pair": "tiny/rtn-int4",
         "subject": "medqa", "datasets": ["medqa"], "floor": 0.95,
         "decision_rule": rule or {"mode": "catch-damage", "confidence": 0.95, "inconclusive_fails": False}},
        {"test": "test_dataset_cps[pubmed_qa-tiny/rtn-int4]", "kind": "dataset", "pair": "tiny/rtn-int4",
         "subject": "pubmed_qa", "datasets": ["pubmed_qa"], "floor": 0.9,
         "decision_rule": {"mode": "prove-safe", "confidence": 0.95, "inconclusive_fails": True}},
        {"test": "test_track_cps[knowledge-tiny/rtn-int4]", "kind": "track", "pair": "tiny/rtn-int4",
         "subject": "knowledge", "datasets": ["medqa", "pubmed_qa"], "floor": 0.92,
         "decision_rule": {"mode": "point"}},
        {"test": "test_efficiency[tiny/rtn-int4]", "kind": "efficiency", "track": "efficiency", "metric": "CES",
         "pair": "tiny/rtn-int4", "subject": "efficiency", "datasets": [], "floor": 1.0},
    ]
    (tmp / "report.json").write_text(json.dumps(report(verdicts), indent=1), encoding="utf-8")
    return tmp


def test_main_prints_the_power_table(tmp_path, capsys):
    assert power.main(write_run(tmp_path), runs=100, seed=0) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"medcheck power: {tmp_path} -- 100 simulated candidates per scenario, seed 0"
    header = next(line for line in lines if line.startswith("test "))
    for column in ("rule", "floor", "n", "flip", "false alarm", "inconclusive", "blocked",
                   "detect 2pt", "detect 5pt", "detect 10pt"):
        assert column in header
    row = next(line for line in lines if line.startswith("test_dataset_cps[medqa-tiny/rtn-int4]"))
    assert "catch-damage@0.95" in row and " 0.950 " in row and " 50 " in row and " 0.100 " in row
    assert "prove-safe@0.95/inc-fails" in out and "point@0.95" in out
    assert "test_efficiency" not in out
    assert "items needed per dataset" in out
    need = next(line for line in lines[lines.index(next(x for x in lines if x.startswith("items needed"))):]
                if line.startswith("test_track_cps"))
    assert "medqa,pubmed_qa" in need and " 45 " in need
    assert "never: a 5-point loss gives CPS" in out        # pubmed_qa at floor 0.90 tolerates 5 points


def test_main_is_deterministic(tmp_path, capsys):
    run = write_run(tmp_path)
    power.main(run, runs=50, seed=2)
    first = capsys.readouterr().out
    power.main(run, runs=50, seed=2)
    assert capsys.readouterr().out == first


def test_main_names_a_missing_file(tmp_path):
    with pytest.raises(power.RunRecordError, match="report.json: missing"):
        power.main(tmp_path)
    write_run(tmp_path)
    (tmp_path / "samples.jsonl").unlink()
    with pytest.raises(power.RunRecordError, match="samples.jsonl: missing"):
        power.main(tmp_path)


@pytest.mark.parametrize("line, words", [
    ("{not json", "samples.jsonl:3: not JSON"),
    ('{"pair": "tiny/dense", "dataset": "medqa"}', "samples.jsonl:3: missing key(s) item_id, correct"),
    ('{"pair": "tiny/dense", "dataset": "medqa", "item_id": "x", "correct": "yes"}', "samples.jsonl:3: correct"),
    ('{"pair": "tiny/dense", "dataset": "medqa", "item_id": "medqa-5", "correct": true}',
     "appears twice"),
    ('[1, 2]', "samples.jsonl:3: expected a JSON object"),
])
def test_main_names_the_bad_line(tmp_path, line, words):
    with pytest.raises(power.RunRecordError) as info:
        power.main(write_run(tmp_path, extra_line=line), runs=10)
    assert words in str(info.value)


def test_main_rejects_a_bad_rule_and_misaligned_items(tmp_path):
    with pytest.raises(ConfigError, match=r"verdicts\[0\].decision_rule.mode: unknown mode 'prove_safe'"):
        power.main(write_run(tmp_path, rule={"mode": "prove_safe"}), runs=10)
    run = write_run(tmp_path)
    with (run / "samples.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"pair": "tiny/rtn-int4", "dataset": "medqa", "item_id": "extra", "correct": True}) + "\n")
    with pytest.raises(power.RunRecordError, match="scored different items"):
        power.main(run, runs=10)


def add_generated(tmp: Path, scores: dict[str, list[float]]) -> None:
    """Generated rows (no `correct`) of a bc5cdr_chem-like dataset for dense and candidate, and a
    dataset verdict that needs them."""
    rows = [{"pair": f"tiny/{comp}", "dataset": "gen_ds", "item_id": f"g-{i}", "prompt": "p", "texts": ["x"],
             "parsed": ["x"] if s else None, "votes": 1, "new_tokens": 3, "prompt_tokens": 5,
             "chat_template": False, "finish": "eos"} for comp, col in scores.items() for i, s in enumerate(col)]
    with (tmp / "samples.jsonl").open("a", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in rows))
    saved = json.loads((tmp / "report.json").read_text())
    saved["verdicts"].append(verdict(test="test_dataset_cps[gen_ds-tiny/rtn-int4]", kind="dataset",
                                     pair="tiny/rtn-int4", subject="gen_ds", datasets=["gen_ds"], floor=0.9,
                                     decision_rule={"mode": "catch-damage"}))
    (tmp / "report.json").write_text(json.dumps(saved))


def test_main_reads_generated_rows_and_prints_run_level_rates(tmp_path, capsys, monkeypatch):
    run = write_run(tmp_path)
    add_generated(run, {"dense": [1.0] * 30 + [0.0] * 10, "rtn-int4": [1.0] * 29 + [0.0] * 11})

    def rescored(record, dataset, rows):
        return {r["item_id"]: float(r["parsed"] is not None) for r in rows}, "item accuracy"

    monkeypatch.setattr("medcheck.power_runs.generative_scores", rescored)
    assert power.main(run, runs=100, seed=0) == 0
    out = capsys.readouterr().out
    assert "test_dataset_cps[gen_ds-tiny/rtn-int4]" in out
    assert "generated rows of gen_ds: scored by item accuracy" in out
    assert "per run (4 tests" in out and "some test fails" in out
    noise = next(line for line in out.splitlines() if line.startswith("noise "))
    assert float(noise.split()[1].rstrip("%")) <= 5.0         # a noise-only candidate rarely fails the run


def test_main_names_generated_rows_it_cannot_rescore(tmp_path, capsys):
    run = write_run(tmp_path)
    add_generated(run, {"dense": [1.0] * 5, "rtn-int4": [1.0] * 5})     # no settings, no dataset: not rescored
    assert power.main(run, runs=50, seed=0) == 0
    out = capsys.readouterr().out
    assert "not simulated: test_dataset_cps[gen_ds-tiny/rtn-int4] (" in out
