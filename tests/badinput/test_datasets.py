"""Every dataset loader on broken release files: bytes, encodings, links, and structure (hypothesis).

Parametrised over `datasets.dataset_ids()`, so a new dataset module is tried as soon as it is
registered: the broken file is its bundled sample, damaged. Structural mutations are drawn per
format (JSON lines, JSON, CSV, TSV); a dataset whose format is not one of these, or whose sample
does not load, is skipped with the reason. What each case produced is tabulated in README.md.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medcheck import datasets
from medcheck.datasets import SAMPLES_DIR
from medcheck.errors import MedcheckError
from tests.badinput.corrupt import (
    HUGE,
    INVALID_UTF8,
    attempt,
    check_items,
    detect_format,
    expect_error,
    expect_whole,
    mutate,
)

EXAMPLES = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FEW = settings(EXAMPLES, max_examples=10)   # byte positions: the loaders share one reader
# files a loader reads besides its relative_path
EXTRA = {"pubmed_qa": ("pubmed_qa/test_ground_truth.json",), "pubmed_qa_gen": ("pubmed_qa/test_ground_truth.json",)}


class Sample:
    """A dataset's bundled sample, copied into a data dir of its own, with one file to break."""

    def __init__(self, dataset_id: str, root: Path, relative: str) -> None:
        self.id, self.root, self.relative = dataset_id, root, relative
        top = Path(datasets.info(dataset_id).relative_path).parts[0]
        if not (root / top).exists():
            shutil.copytree(SAMPLES_DIR / top, root / top)
        self.path = root / relative
        if not self.path.is_file():
            pytest.skip(f"{dataset_id}: {relative} is not a file of its bundled sample")
        self.pristine = self.path.read_bytes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # e.g. CareQA's skipped NaN rows: stated, and not under test here
            self.count = len(datasets.load(dataset_id, root).items)

    def load_with(self, content: bytes) -> object:
        self.path.write_bytes(content)
        try:
            return attempt(lambda: datasets.load(self.id, self.root))
        finally:
            self.path.write_bytes(self.pristine)


def _targets() -> list[tuple[str, str]]:
    out = []
    for dataset_id in datasets.dataset_ids():
        relative = datasets.info(dataset_id).relative_path
        out += [(dataset_id, relative), *((dataset_id, extra) for extra in EXTRA.get(dataset_id, ()))]
    return out


TARGETS = _targets()
IDS = [f"{d}:{Path(r).name}" for d, r in TARGETS]


_SAMPLES: dict[tuple[str, str], Sample | str] = {}


@pytest.fixture(params=TARGETS, ids=IDS)
def sample(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """One copy per target for the whole session: every test restores the file it breaks."""
    dataset_id, relative = request.param
    if (dataset_id, relative) not in _SAMPLES:
        try:
            _SAMPLES[dataset_id, relative] = Sample(dataset_id, tmp_path_factory.mktemp(dataset_id), relative)
        except pytest.skip.Exception as exc:
            _SAMPLES[dataset_id, relative] = str(exc)
        except (OSError, ValueError, MedcheckError) as exc:   # the sample itself is unusable: not under test
            _SAMPLES[dataset_id, relative] = f"{dataset_id}: bundled sample does not load here ({exc})"
    found = _SAMPLES[dataset_id, relative]
    if isinstance(found, str):
        pytest.skip(found)
    return found


def _text(sample: Sample) -> str:
    return sample.pristine.decode("utf-8")


# -- bytes and encodings: each must fail, naming the file -------------------------------------------------
BROKEN = {
    "empty": lambda text: b"",
    "blank-lines": lambda text: b"\n \n\t\n",
    "latin-1": lambda text: ("\u00e9" + text).encode("latin-1", errors="replace"),
    "utf-16": lambda text: text.encode("utf-16"),
    "utf-16-no-bom": lambda text: text.encode("utf-16-le"),
    "nul-bytes": lambda text: text[: len(text) // 2].encode() + b"\x00" + text[len(text) // 2:].encode(),
    "not-text": lambda text: bytes(range(256)) * 4,
    "empty-json-array": lambda text: b"[]\n",
    "empty-json-object": lambda text: b"{}\n",
}


@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_broken_bytes_fail_naming_the_file(sample: Sample, breakage: str) -> None:
    outcome = sample.load_with(BROKEN[breakage](_text(sample)))
    expect_error(outcome, sample.path, breakage)


@FEW
@given(data=st.data())
def test_invalid_utf8_anywhere_fails_naming_file_and_line(sample: Sample, data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(sample.pristine)), label="offset")
    bad = data.draw(st.sampled_from(INVALID_UTF8), label="bytes")
    outcome = sample.load_with(sample.pristine[:at] + bad + sample.pristine[at:])
    expect_error(outcome, sample.path, f"{bad!r} at byte {at}")
    line = sample.pristine[:at].count(b"\n") + 1
    assert outcome.error.line == line, f"{outcome.error} (expected line {line})"


@FEW
@given(data=st.data())
def test_truncated_file_fails_or_loads_whole_records(sample: Sample, data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(sample.pristine) - 1), label="cut")
    cut = sample.pristine[:at]
    outcome = sample.load_with(cut)
    # a cut at a record boundary is a smaller valid file; anything else must be refused
    expect_whole(outcome, set(range(sample.count + 1)), f"cut at byte {at}")


def test_file_cut_inside_its_last_record_fails(sample: Sample) -> None:
    fmt = detect_format(sample.path)
    if fmt not in ("json", "jsonl"):
        pytest.skip(f"a cut CSV/TSV record can still be a well-formed shorter one ({fmt})")
    text = _text(sample).rstrip()
    outcome = sample.load_with(text[: len(text) - 3].encode())
    expect_error(outcome, sample.path, "cut inside the last record")


def test_symlink_out_of_the_data_dir_is_followed(sample: Sample, tmp_path: Path) -> None:
    """Teams link benchmarks in from shared storage: read, and recorded as given and as resolved."""
    outside = tmp_path / "elsewhere" / sample.path.name
    outside.parent.mkdir()
    outside.write_bytes(sample.pristine)
    sample.path.unlink()
    os.symlink(outside, sample.path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # e.g. CareQA's skipped NaN rows
            loaded = datasets.load(sample.id, sample.root)
    finally:
        sample.path.unlink()
        sample.path.write_bytes(sample.pristine)
    assert len(loaded.items) == sample.count
    assert (str(sample.path), str(outside.resolve())) in {(f.path, f.resolved) for f in loaded.files}


@pytest.mark.parametrize("replacement", ["missing", "directory"])
def test_missing_file_or_a_folder_in_its_place_fails(sample: Sample, replacement: str) -> None:
    sample.path.unlink()
    if replacement == "directory":
        sample.path.mkdir()
    try:
        outcome = attempt(lambda: datasets.load(sample.id, sample.root))
    finally:
        if sample.path.is_dir():
            sample.path.rmdir()
        sample.path.write_bytes(sample.pristine)
    expect_error(outcome, sample.path, replacement)


def test_huge_field_is_refused_or_kept_whole(sample: Sample) -> None:
    text = _text(sample)
    # the longest run of letters in the file becomes two million characters long
    words = [w for w in text.replace("\\n", " ").split() if w.isalpha()]
    if not words:
        pytest.skip("no plain word to inflate")
    word = max(words, key=len)
    outcome = sample.load_with(text.replace(word, word + "x" * HUGE, 1).encode())
    expect_whole(outcome, {sample.count}, "huge field")


# -- structure: wrong types, missing keys, duplicates, NaN rows, non-records -----------------------------
@EXAMPLES
@given(data=st.data())
def test_structural_damage_fails_located_or_keeps_every_item(sample: Sample, data: st.DataObject) -> None:
    fmt = detect_format(sample.path)
    if fmt is None:
        pytest.skip(f"{sample.relative}: format not known to these strategies")
    text, what, delta = mutate(_text(sample), fmt, data)
    outcome = sample.load_with(text.encode("utf-8", errors="surrogatepass"))
    expect_whole(outcome, {sample.count, sample.count + delta}, what)
    if outcome.error is not None:
        located = outcome.error
        assert getattr(located, "line", None) is not None or getattr(located, "key", None) is not None \
            or "no " in str(located) or "expected" in str(located), f"{what}: error not located: {located}"


def test_items_of_every_pristine_sample_are_well_formed(sample: Sample) -> None:
    outcome = attempt(lambda: datasets.load(sample.id, sample.root))
    assert outcome.items is not None and len(outcome.items) == sample.count
    check_items(outcome.items)


# -- formats the bundled samples do not exercise ---------------------------------------------------------
def _medbullets_json(tmp_path: Path, rows: dict[str, str]) -> Path:
    columns = ("question", "opa", "opb", "opc", "opd", "answer_idx")
    table = {c: {row: ("A" if c == "answer_idx" else f"{c} {row}") for row in rows} for c in columns}
    table["question"] = rows
    (tmp_path / "medbullets").mkdir()
    (tmp_path / "medbullets" / "medbullets_op4.json").write_text(json.dumps(table), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("row_key", ["\u00b2", "-1", "1.0", " 2"])
def test_medbullets_json_row_keys_must_be_integers(tmp_path: Path, row_key: str) -> None:
    root = _medbullets_json(tmp_path, {"0": "first question", row_key: "second question"})
    outcome = attempt(lambda: datasets.load("medbullets_op4", root))
    expect_error(outcome, root / "medbullets" / "medbullets_op4.json", f"row key {row_key!r}")
    assert outcome.error.key == f"question.{row_key}"


def test_medbullets_json_loads_every_row(tmp_path: Path) -> None:
    root = _medbullets_json(tmp_path, {"0": "first question", "1": "second question"})
    outcome = attempt(lambda: datasets.load("medbullets_op4", root))
    assert outcome.items is not None and len(outcome.items) == 2
    check_items(outcome.items)


@pytest.mark.parametrize("split, other", [("Reasoning", "Understanding"), ("Understanding", "Reasoning")])
def test_a_split_with_no_items_fails_naming_it(tmp_path: Path, split: str, other: str) -> None:
    """MedXpertQA's two splits share a file: a file holding only one of them leaves the other empty."""
    source = SAMPLES_DIR / "medxpertqa" / "Text" / "test.jsonl"
    kept = [line for line in source.read_text(encoding="utf-8").splitlines()
            if json.loads(line)["question_type"] == other]
    target = tmp_path / "medxpertqa" / "Text" / "test.jsonl"
    target.parent.mkdir(parents=True)
    target.write_text("\n".join(kept) + "\n", encoding="utf-8")
    outcome = attempt(lambda: datasets.load(f"medxpertqa_{split.lower()}", tmp_path))
    expect_error(outcome, target, f"no {split} items")
    assert f"no {split} questions found" in str(outcome.error)
