"""The dashboard opens on its verdicts: the matrix, notes by kind, each breach once, and the items
behind each verdict (medcheck/report/html.py, evidence.py); tables follow each track's layout."""

from __future__ import annotations

import json
import re

from medcheck.record_rows import SampleRow
from medcheck.report import evidence, html, tables
from tests.report.payloads import INT8, MODEL, NF4, _verdict, base, full, legacy, rec, sample_rows, schema3


def test_the_matrix_comes_first_with_value_interval_and_floor_per_cell():
    page = html.render(rec(full()), sample_rows())
    assert page.index('<table id="matrix">') < page.index('class="notes"') < page.index('<table id="knowledge">')
    matrix = page[page.index('<table id="matrix">'):page.index("</table>", page.index('<table id="matrix">'))]
    assert [h for h in re.findall(r"<th>([^<]+)</th>", matrix)] == [NF4, INT8, MODEL]   # pairs, then the cross model
    cell = re.search(r'<td class="fail" title="suites/knowledge/test_medqa.py::test_cps\[' + re.escape(NF4)
                     + r'-medqa\][^"]*">(.*?)</td>', matrix).group(1)
    assert "0.737" in cell and "[0.647, 0.797] floor 0.850" in cell
    assert 'class="inconclusive"' in matrix and 'class="pass"' in matrix   # int8 pubmed_qa's interval straddles
    assert "knowledge (track)" in matrix


def test_a_failing_cell_links_to_its_discordant_items():
    page = html.render(rec(full()), sample_rows())
    link = re.search(r'test_cps\[' + re.escape(NF4) + r'-medqa\][^"]*"><a href="#([^"]+)">', page).group(1)
    assert link == evidence.anchor(NF4, "medqa")
    block = page[page.index(f'id="{link}"'):]
    block = block[:block.index("</details>", block.index("<div class=\"item"))]
    assert "2 lost, 0 gained of 6 paired items" in block
    assert "medqa question 0: which finding points to hepatitis?" in block and "hepatitis sign" in block
    # the track verdict points at its dataset that lost the most
    track = re.search(r'test_track_cps\[' + re.escape(NF4) + r'\][^"]*"><a href="#([^"]+)">', page).group(1)
    assert track == link


def test_option_probabilities_are_the_softmax_of_the_log_likelihoods():
    assert [round(p, 4) for p in evidence.probabilities([-4.0, -5.0, -6.0, -7.0])] == [0.6439, 0.2369, 0.0871, 0.0321]
    found = evidence.blocks(sample_rows())
    assert {k: (len(b.lost), len(b.gained)) for k, b in found.items() if b.discordant} == {
        (NF4, "medqa"): (2, 0), (NF4, "mmlu_anatomy"): (1, 0), (INT8, "medqa"): (1, 0)}


def test_generated_items_show_both_texts_and_parses():
    rows = [{"pair": pair, "dataset": "ncbi_disease", "item_id": "n-1", "prompt": "List the diseases: ...",
             "texts": [text], "parsed": parsed, "votes": 1, "new_tokens": 5, "prompt_tokens": 9,
             "chat_template": False, "finish": "eos", "timing": {}}
            for pair, text, parsed in ((f"{MODEL}/dense", "colon cancer", ["colon cancer"]), (NF4, "none", None))]
    found = evidence.blocks([SampleRow.from_json(r, "rows") for r in rows])
    assert len(found[(NF4, "ncbi_disease")].changed) == 1
    block = evidence.render_block(found[(NF4, "ncbi_disease")])
    assert "1 answers changed of 1 paired items" in block
    assert "dense: parsed [&quot;colon cancer&quot;]" in block and "candidate: parsed unparsed" in block


def test_without_samples_the_page_says_where_the_evidence_is():
    page = html.render(rec(full()))
    assert "No samples.jsonl beside this report" in page


def test_notes_are_grouped_by_kind_with_a_drill_down():
    payload = base()
    payload["notes"] += [f"NEAR CHANCE: {NF4} scores 25% on d{i} (n=40)." for i in range(20)]
    page = html.render(rec(payload))
    assert page.count("<b>NEAR CHANCE</b> &times; 20") == 1
    assert page.count("NEAR CHANCE: ") == 20 + 0 and "Notes</b> (22 in 3 kinds)" in page
    md = tables.markdown(rec(payload))
    assert "- **NEAR CHANCE** (20):" in md and md.count("  - NEAR CHANCE:") == 20


def test_each_breach_is_listed_once():
    payload = full()
    breach = next(v for v in payload["verdicts"] if not v["passed"])
    payload["errors"][breach["test"]] = "AssertionError: cps 0.807 < 0.850\nassert False"
    page, md = html.render(rec(payload)), tables.markdown(rec(payload))
    assert "AssertionError" not in page and "AssertionError" not in md
    assert page.count(f"<code>{breach['test']}</code>") == 1
    assert "GATE FAILED: 4 threshold breaches, 1 error" in page


def test_older_records_render_the_same_report():
    new = rec(full())
    for old in (rec(schema3()), rec(legacy())):
        assert [t.name for t in tables.tables(old)] == [t.name for t in tables.tables(new)] == \
            ["knowledge", "efficiency", "cross"]
        assert [t.rows for t in tables.tables(old)] == [t.rows for t in tables.tables(new)]
        assert [v.track for v in old.verdicts] == [v.track for v in new.verdicts]
        assert tables.markdown(old) == tables.markdown(new) and html.render(old) == html.render(new)


def test_a_new_track_gets_the_verdicts_layout_or_its_registered_renderer():
    payload = full()
    payload["tracks"]["calibration"] = {"title": "Calibration", "score": "ECE ratio", "kind": "calibration",
                                        "table": "calibration", "dimensions": {}, "datasets": []}
    payload["verdicts"].append(_verdict("suites/calibration/test_ece.py::test_ece[x]", "calibration", NF4,
                                        "calibration", 0.7, 0.9, track="calibration"))
    table = tables.table(rec(payload), "calibration")
    assert table.title == "Calibration: ECE ratio per test" and table.rows[0][:2] == [NF4, "calibration"]
    tables.register_table("calibration", lambda p, name, info: tables.Table(name, "custom", [], []))
    try:
        assert tables.table(rec(payload), "calibration").title == "custom"
    finally:
        del tables.TABLES["calibration"]
    assert "Calibration (ECE ratio)" in html.render(rec(payload))


def test_trust_and_generated_tracks_get_their_charts():
    payload = full()
    payload["tracks"]["trust"] = {"title": "Trust track", "score": "TWY", "kind": "trust", "table": "trust",
                                  "datasets": ["trust_jailbreak", "trust_privacy_leakage"],
                                  "dimensions": {"safety": ["trust_jailbreak"], "privacy": ["trust_privacy_leakage"]}}
    payload["tracks"]["bionlp"] = {"title": "Biomedical NLP track", "score": "CPS", "kind": "choice", "table": "choice",
                                   "dimensions": {"NER": ["ncbi_disease"]}, "datasets": ["ncbi_disease"]}
    for pair in (NF4, INT8):
        for d, track in (("trust_jailbreak", "trust"), ("trust_privacy_leakage", "trust"), ("ncbi_disease", "bionlp")):
            payload["scores"].append({"pair": pair, "dataset": d, "track": track, "n": 20, "metric": "f1",
                                      "dense_score": 0.6, "score": 0.5, "cps": 0.9, "unparsed": 1})
    page = html.render(rec(payload))
    alts = re.findall(r'<img alt="([^"]+)"', page)
    assert "Trust track: per dimension" in alts and "Biomedical NLP track: per task" in alts
    assert "Knowledge track (CMedBench Track 1): per task" not in alts   # multiple choice: the CPS chart shows it
    json.dumps(payload)   # still a JSON record
