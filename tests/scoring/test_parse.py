"""medcheck.scoring.parse: answers read from the messy outputs small models write, None when unreadable."""

from __future__ import annotations

import pytest

from medcheck.scoring import parse

DDI = ("DDI-false", "DDI-effect", "DDI-mechanism", "DDI-advise", "DDI-int")
CHEMPROT = ("false", "CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9")
TOPICS = ("Treatment", "Diagnosis", "Prevention", "Mechanism", "Transmission", "Epidemic Forecasting", "Case Report")


@pytest.mark.parametrize(("text", "expected"), [
    ("Answer: C", "C"), ("(C)", "C"), ("C.", "C"), ("The answer is C", "C"), ("C", "C"),
    ("The correct answer is **B**.", "B"), ("B) Right coronary artery", "B"), ("**D. Radial nerve**", "D"),
    ("I would choose option (A) because the ferritin is low.", "A"), ("Answer: A\nExplanation: ...", "A"),
    ("The best choice would be D", "D"),
    ("A patient with these findings needs an ECG.", None),     # the article "A" is not an answer
    ("The question asks about anemia.", None), ("", None), ("Answer: E", None),
    ("answer: b.", "B"), ("The answer is c", "C"), ("The answer is a patient with anemia.", None),
])
def test_letter(text: str, expected: str | None) -> None:
    assert parse.letter(text, ("A", "B", "C", "D")) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Yes.", "yes"), ("no", "no"), ("Maybe", "maybe"), ("The answer is no.", "no"), ("Answer: **Maybe**", "maybe"),
    ("Based on the abstract, yes, the drug reduced mortality.", "yes"), ("I cannot tell from this.", None),
    ("Nope", None), ("yesterday", None), ("", None),
])
def test_decision(text: str, expected: str | None) -> None:
    assert parse.decision(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("DDI-effect", "DDI-effect"), ("ddi-mechanism.", "DDI-mechanism"), ("The relation is DDI-int.", "DDI-int"),
    ("'DDI-advise'", "DDI-advise"), ("DDI-false\nDDI-effect", "DDI-false"), ("effect", "DDI-effect"),
    ("The interaction is an effect one", "DDI-effect"), ("DDI-integer", None), ("none", None), ("", None),
])
def test_relation_label_with_aliases(text: str, expected: str | None) -> None:
    assert parse.label(text, DDI, {"effect": "DDI-effect", "mechanism": "DDI-mechanism"}) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("CPR:4", "CPR:4"), ("cpr:9 (substrate)", "CPR:9"), ("false", "false"), ("False.", "false"),
    ("The relation type is CPR:3, an upregulator.", "CPR:3"), ("CPR:10", None), ("CPR", None),
])
def test_relation_label_closed_set(text: str, expected: str | None) -> None:
    assert parse.label(text, CHEMPROT) == expected


def test_longest_label_wins_where_two_start_together() -> None:
    assert parse.label("DDI-int", ("int", "DDI-int")) == "DDI-int"
    assert parse.label("Case Report, Treatment", ("Case", "Case Report", "Treatment")) == "Case Report"


@pytest.mark.parametrize(("text", "expected"), [
    ('{"Treatment": 1, "Diagnosis": 0, "Prevention": 1, "Mechanism": 0}', ("Treatment", "Prevention")),
    ('```json\n{\n  "Treatment": 0,\n  "Case Report": 1\n}\n```\nThe article describes one patient.', ("Case Report",)),
    ('Here is the output:\n{"treatment": "1", "epidemic forecasting": true, "Diagnosis": 0,}',
     ("Treatment", "Epidemic Forecasting")),
    ('{\n  "Treatment": ,\n  "Diagnosis": 1,\n  "Prevention": \n}', ("Diagnosis",)),     # blank values, invalid JSON
    ("{'Mechanism': 1, 'Transmission': 0}", ("Mechanism",)),
    ('{"Treatment": 0, "Diagnosis": 0}', ()),
    ("Treatment, Case Report", ("Treatment", "Case Report")),
    ("- Diagnosis\n- Prevention", ("Diagnosis", "Prevention")),
    ("None", ()), ("I am not sure what this article is about.", None), ('{"Topic": 1}', None), ("", None),
])
def test_label_list(text: str, expected: tuple[str, ...] | None) -> None:
    assert parse.labels(text, TOPICS) == expected


def test_json_object_skips_braces_inside_strings_and_reads_the_first_object() -> None:
    assert parse.json_object('noise {"a": "x}y", "b": 2} {"c": 3}') == {"a": "x}y", "b": 2}
    assert parse.json_object("no object here") is None
    assert parse.json_object("[1, 2]") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("aspirin\nibuprofen", ["aspirin", "ibuprofen"]),
    ("- aspirin\n* 5-fluorouracil\n\u2022 heparin", ["aspirin", "5-fluorouracil", "heparin"]),
    ("1. cisplatin\n2) mannitol", ["cisplatin", "mannitol"]),
    ("aspirin, ibuprofen; heparin", ["aspirin", "ibuprofen", "heparin"]),
    ("Chemical entities: cisplatin, mannitol", ["cisplatin", "mannitol"]),
    ('["cisplatin", "mannitol"]', ["cisplatin", "mannitol"]),
    ("```\ncisplatin\n```", ["cisplatin"]),
    ('Nephrotoxicity of <span class="chemical">cisplatin</span> with <mark>mannitol</mark> .',
     ["cisplatin", "mannitol"]),
    ("<p>Seizures after <b>ifosfamide</b></p>", ["ifosfamide"]),
    ("<p>No chemicals here.</p>", []),
    ("None", []), ("none.", []), ("", []), ("[]", []), ("No chemical entities found.", []),
    ("There are no disease entities in this sentence.", []),
])
def test_entities(text: str, expected: list[str]) -> None:
    assert parse.entities(text) == expected


def test_an_echoed_sentence_without_highlights_has_no_entities() -> None:
    sentence = "Symptoms improved within two weeks in most patients ."
    assert parse.entities("Symptoms improved within two weeks in most patients.", sentence) == []
    assert parse.entities('Symptoms improved with <span class="chemical">x</span>', sentence) == ["x"]
    assert parse.entities("aspirin", sentence) == ["aspirin"]


@pytest.mark.parametrize("text", [
    "Familial hypercholesterolemia is a genetic disorder caused by defects in the LDL receptor.",
    "The sentence is:\n\nMuscle weakness resolved after the use of a medication, such as statin, was stopped.",
])
def test_prose_instead_of_names_is_unreadable(text: str) -> None:
    assert parse.entities(text) is None


def test_names_beside_prose_are_kept_and_placeholders_dropped() -> None:
    assert parse.entities("cisplatin\nThis drug is known to damage the kidneys in many patients.") == ["cisplatin"]
    assert parse.entities('The output is <span class="chemical">...</span>') == []


# outputs SmolLM2-135M-Instruct wrote for the bundled samples (greedy, zero- and few-shot), cut
# to the task's token budget
HOC_CUT = ('{\n  "activating invasion and metastasis": 0,\n  "sustaining proliferative signaling": 1,\n'
           '  "resisting cell death": 0,\n  "cellular energetics": 0,\n  "genomic instability and mu')


@pytest.mark.parametrize(("kind", "text", "expected"), [
    ("ddi", "DDI-effect: the sentence describes", "DDI-effect"),
    ("ddi", "DDI-mechanism: the", "DDI-mechanism"),
    ("chemprot", "The sentence is a perfect example of a", None),
    ("chemprot", 'The sentence is: "TASK:', None),
    ("letter", "C. Choledocholithiasis", "C"),
    ("letter", "A. Toxoplasma gondii\n", "A"),
    ("decision", "Yes, a nurse-led lipid tit", "yes"),
    ("decision", "No, acupuncture is not effective for chronic", "no"),
    ("entities", '<span class="chemical">Seizures</span> occurred in three children treated with high-dose ifosfamide.',
     ["Seizures"]),
    ("entities", "The sentence was written in HTML with each chemical entity wrapped in "
                 '<span class="chemical">...</span>; no additional text was added.', []),
    ("entities", "The study enrolled 48 patients receiving mannitol diuresis and assessed the nephrotoxicity "
                 "of cisplatin.", None),
    ("hoc", HOC_CUT, ("sustaining proliferative signaling",)),     # a map cut short: the keys it reached
])
def test_outputs_of_a_small_model(kind: str, text: str, expected: object) -> None:
    hallmarks = ("activating invasion and metastasis", "sustaining proliferative signaling", "resisting cell death",
                 "cellular energetics", "genomic instability and mutation")
    read = {"ddi": lambda t: parse.label(t, DDI), "chemprot": lambda t: parse.label(t, CHEMPROT),
            "letter": lambda t: parse.letter(t, "ABCD"), "decision": parse.decision, "entities": parse.entities,
            "hoc": lambda t: parse.labels(t, hallmarks)}[kind]
    assert read(text) == expected
