"""`python -m medcheck verify` on a real run of the tiny model: it passes untouched, and each kind of
tampered file fails with the file and field named (plain, and re-sealed as a forger would)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from medcheck import audit
from medcheck.__main__ import main
from tests.audit.conftest import reseal


def verify(run_dir: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["verify", str(run_dir), *extra])
    return code, capsys.readouterr().out


def first_line(out: str) -> str:
    return out.splitlines()[0]


def test_the_run_record_reads_back_as_the_plugin_wrote_it(gate_run: Path):
    from medcheck.record import RunRecord
    from medcheck.record_rows import read_samples

    data = json.loads((gate_run / "report" / "report.json").read_text())
    record = RunRecord.from_json(data, "report.json")
    assert record.as_dict() == data and RunRecord.from_json(record.as_dict()) == record
    assert {v.track for v in record.verdicts} <= set(record.tracks) and record.tracks["knowledge"].body["cps"]
    assert not {"efficiency", "cross"} & set(data)          # a track's own rows live in its section
    lines = (gate_run / "report" / "samples.jsonl").read_text().splitlines()
    rows = read_samples(gate_run / "report" / "samples.jsonl")
    assert [row.as_dict() for row in rows] == list(map(json.loads, lines))


def test_manifest_lists_every_file_with_its_hash(gate_run: Path):
    report = gate_run / "report"
    manifest = audit.load_manifest(report)
    files = manifest["files"]
    for name in ("report.json", "samples.jsonl", "summary.txt", "report.md", "dashboard.html", "knowledge.csv",
                 "junit.xml", "inputs/thresholds/knowledge.yaml", "inputs/thresholds/application.yaml",
                 "inputs/thresholds/efficiency.yaml", "inputs/thresholds/cross.yaml", "inputs/pairs/default.yaml"):
        assert name in files, name
        assert files[name]["sha256"] == audit.sha256_file(report / name), name
    # the JUnit XML pytest wrote after the session ended: the manifest hashes the finished file
    assert files["junit.xml"]["sha256"] == audit.sha256_file(gate_run / "junit.xml")
    assert files["junit.xml"]["source"] == str((gate_run / "junit.xml").resolve())
    assert len(list(ET.parse(gate_run / "junit.xml").getroot().iter("testcase"))) > 0
    assert files["inputs/thresholds/knowledge.yaml"]["track"] == "knowledge"
    record = json.loads((report / "report.json").read_text())
    assert {k: d["sha256"] for k, d in manifest["datasets"].items()} == \
        {k: d["sha256"] for k, d in record["datasets"].items()}
    assert manifest["models"]["tiny"]["fingerprint"] == record["models"]["tiny"]["fingerprint"]
    assert set(manifest["compressed"]) == {"tiny/bnb-int8"}
    assert manifest["machine"]["cpu_count"] >= 1 and manifest["machine"]["ram_bytes"] > 0
    assert "--junitxml" in manifest["command"]["pytest_args"]
    assert manifest["started"] <= manifest["finished"]
    assert manifest["manifest_sha256"] == audit.digest(manifest)


def test_verify_passes_on_the_untouched_run(gate_run: Path, capsys):
    code, out = verify(gate_run / "report", capsys)
    assert code == 0, out
    assert out.count("\n") == 1 and "verdicts recomputed" in out and "0 verdicts" not in out
    assert "efficiency measurements checked for consistency only" in out


def _candidate_sample(run_dir: Path) -> tuple[int, dict]:
    """A candidate sample of a dataset whose dense accuracy is above 0, so flipping it moves CPS."""
    record = json.loads((run_dir / "report.json").read_text())
    defined = {v["subject"] for v in record["verdicts"] if v["kind"] == "dataset" and v["value"] is not None}
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    k = next(k for k, r in enumerate(rows) if r["pair"] == "tiny/bnb-int8" and r["dataset"] in defined)
    return k, rows[k]


def _flip_sample(run_dir: Path) -> None:
    k, row = _candidate_sample(run_dir)
    lines = (run_dir / "samples.jsonl").read_text().splitlines()
    row["correct"] = not row["correct"]
    row["prediction"] = row["gold"] if row["correct"] else next(x for x in "ABCDEFGHIJ" if x != row["gold"])
    lines[k] = json.dumps(row)
    (run_dir / "samples.jsonl").write_text("\n".join(lines) + "\n")


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=1))


def _raise_floor(run_dir: Path) -> None:
    path = run_dir / "inputs" / "thresholds" / "knowledge.yaml"
    text = path.read_text()
    assert "bnb-int8: 0.90" in text
    path.write_text(text.replace("bnb-int8: 0.90", "bnb-int8: 0.50", 1))


def _junit_cps(run_dir: Path) -> None:
    path = run_dir / "junit.xml"
    tree = ET.parse(path)
    prop = next(p for p in tree.getroot().iter("property") if p.get("name") == "cps" and p.get("value") != "undefined")
    prop.set("value", str(round(float(prop.get("value")) + 0.25, 4)))
    tree.write(path)


def _report_score(run_dir: Path) -> None:
    def change(data: dict) -> None:
        row = next(r for r in data["scores"] if r["cps"] is not None)
        row["cps"] = round(row["cps"] + 0.1, 4)

    _edit_json(run_dir / "report.json", change)


TAMPER = {   # what is changed -> (the file named when the hashes catch it, field named once re-sealed)
    "sample outcome": (_flip_sample, "samples.jsonl", ".value, recorded"),
    "report score": (_report_score, "report.json", "scores.cps, recorded"),
    "junit property": (_junit_cps, "junit.xml", ", cps, recorded"),
    "threshold file": (_raise_floor, "inputs/thresholds/knowledge.yaml", ".floor, recorded 0.9 vs recomputed 0.5"),
}


@pytest.mark.parametrize("kind", list(TAMPER))
def test_a_tampered_file_fails_on_its_hash(run_copy: Path, capsys, kind: str):
    tamper, name, _ = TAMPER[kind]
    tamper(run_copy)
    code, out = verify(run_copy, capsys)
    assert code == 1
    assert first_line(out).startswith(f"medcheck verify: FAILED: {name}, -, sha256, recorded "), out


@pytest.mark.parametrize("kind", list(TAMPER))
def test_a_resealed_tampered_file_fails_on_the_recomputed_field(run_copy: Path, capsys, kind: str):
    """A forger who re-hashes the manifest is still caught: the numbers do not follow from the inputs."""
    tamper, _, field = TAMPER[kind]
    tamper(run_copy)
    reseal(run_copy)
    code, out = verify(run_copy, capsys)
    assert code == 1
    line = first_line(out)
    assert field in line, out
    assert ("junit.xml, " if kind == "junit property" else "report.json, ") in line


def test_the_recomputed_field_names_the_test(run_copy: Path, capsys):
    _flip_sample(run_copy)
    reseal(run_copy)
    _, row = _candidate_sample(run_copy)
    code, out = verify(run_copy, capsys, "--all")
    assert code == 1
    dataset_test = next(line for line in out.splitlines() if f"test_cps[tiny/bnb-int8-{row['dataset']}]" in line)
    assert "report.json" in dataset_test and ".value, recorded" in dataset_test
    assert any(f"tiny/bnb-int8 on {row['dataset']}, runs.accuracy" in line for line in out.splitlines())


def test_an_edited_manifest_fails_on_its_digest(run_copy: Path, capsys):
    _edit_json(run_copy / "manifest.json", lambda m: m["files"]["report.json"].update(sha256="0" * 64))
    code, out = verify(run_copy, capsys)
    assert code == 1 and first_line(out).startswith("medcheck verify: FAILED: manifest.json, -, manifest_sha256, ")


def test_a_resealed_manifest_with_a_wrong_dataset_hash_fails_against_the_report(run_copy: Path, capsys):
    def change(m: dict) -> None:
        m["datasets"]["medqa"]["sha256"] = "f" * 64

    _edit_json(run_copy / "manifest.json", change)
    reseal(run_copy)
    code, out = verify(run_copy, capsys)
    assert code == 1
    assert first_line(out).startswith(
        "medcheck verify: FAILED: manifest.json, -, datasets.medqa.sha256, recorded "), out


@pytest.mark.parametrize("name", ["summary.txt", "samples.jsonl", "junit.xml", "inputs/thresholds/cross.yaml"])
def test_a_deleted_file_is_named(run_copy: Path, capsys, name: str):
    (run_copy / name).unlink()
    code, out = verify(run_copy, capsys)
    assert code == 1
    assert first_line(out) == (f"medcheck verify: FAILED: {name}, -, sha256, recorded "
                               f"{audit.load_manifest(run_copy)['files'][name]['sha256']} vs recomputed <missing>")


def test_a_deleted_manifest_is_named(run_copy: Path, capsys):
    (run_copy / "manifest.json").unlink()
    code, out = verify(run_copy, capsys)
    assert code == 1 and first_line(out).startswith("medcheck verify: FAILED: manifest.json, -, file, ")


def test_a_track_not_registered_is_listed_and_a_registered_one_is_checked(run_copy: Path, capsys, monkeypatch):
    from medcheck import tracks

    def rename(data: dict) -> None:
        row = next(v for v in data["verdicts"] if v["kind"] == "dataset")
        row["track"] = "later"

    _edit_json(run_copy / "report.json", rename)
    reseal(run_copy)
    code, out = verify(run_copy, capsys)
    assert code == 0 and "not recomputed (track or task kind not known here): 1 verdicts on the later track" in out, out
    monkeypatch.setitem(tracks.TRACKS, "later", tracks.get("knowledge"))   # rebuilds the row's PairResult
    code, out = verify(run_copy, capsys)
    assert code == 1 and ".track, recorded later vs recomputed " in first_line(out), out   # its own track again


def _efficiency_rows(data: dict) -> list[dict]:
    """The efficiency track's rows of report.json."""
    section = data.get("tracks", {}).get("efficiency", {})
    return section.get("rows") or data["efficiency"]


def test_efficiency_verdicts_are_recomputed_from_the_runs_kept_in_the_record(run_copy: Path, capsys):
    """The runs behind each timed median and interval are in the record: verify recomputes both, so
    a slower candidate written into the runs is caught even where the interval stays unbounded."""
    record = json.loads((run_copy / "report.json").read_text())
    (row,) = _efficiency_rows(record)
    runs = row["samples"]["act_s"]["candidate"]
    assert runs and row["n_runs"]["candidate"] == len(runs)
    verdict = next(v for v in record["verdicts"] if v["track"] == "efficiency")
    assert verdict["decision_rule"]["mode"] == "catch-damage" and "ci_low" in verdict["stats"]

    def slower(data: dict) -> None:
        (row,) = _efficiency_rows(data)
        row["samples"]["act_s"]["candidate"] = [3 * x for x in row["samples"]["act_s"]["candidate"]]

    _edit_json(run_copy / "report.json", slower)
    reseal(run_copy)
    code, out = verify(run_copy, capsys, "--all")
    assert code == 1 and "act_s" in out, out
