"""python -m medcheck verify RUN_DIR: recompute a saved run and check every hash of its audit bundle.

Checked in this order; the first discrepancy is named as ``file, test id, field, recorded vs
recomputed`` (``--all`` lists every one):

1. manifest.json: its own digest, then each listed file's sha256 (a missing file is one too);
2. every score, interval and verdict, recomputed from samples.jsonl and the threshold files
   bundled under inputs/ with the gate's own code (choice summaries, CPS and CCS from
   medcheck.metrics, the paired bootstrap and McNemar of medcheck.stats, the rules of
   medcheck.decision, floors of medcheck.thresholds, report rows of medcheck.record) and compared
   with report.json's rows and each test's JUnit properties;
3. the manifest's dataset hashes, model fingerprints and versions against report.json.

Efficiency numbers (memory, bits per weight, TTFT, ACT, tokens/s) are measurements, not functions
of the samples, so they cannot be recomputed: they are checked for consistency only. Their ratios,
CES and verdict are recomputed from the measurements report.json holds, the JUnit properties must
equal report.json's, and report.json must match its hash in the manifest. The candidate's
``weight_bytes`` property is in the JUnit XML alone and is not checked.

Recomputing asks the owners: a dataset's task kind (medcheck.task_kinds) turns its sample rows into
records and a summary, and a verdict's track (medcheck.tracks) rebuilds its Result, floor and rule
from the saved run. A new track or task kind is then checked like every other; verdicts of a track
not registered here are listed as not recomputed.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from medcheck import audit, datasets, task_kinds, tracks
from medcheck.datasets.types import Dataset, content_hash
from medcheck.family import judge_in_family
from medcheck.gate import Outcome, check_properties, junit_properties
from medcheck.pairs import Pair
from medcheck.record import RunRecord, load_record, run_row, score_row, track_section, verdict_row
from medcheck.record_rows import VerdictRow, read_samples
from medcheck.results import PairResult, Result, RunResult
from medcheck.thresholds import Floor

MISSING = "<missing>"
# compared after the numbers they follow from
CONCLUSIONS = ("passed", "outcome", "verdict", "message", "verdict_message")


@dataclass(frozen=True)
class Discrepancy:
    file: str
    test: str
    field: str
    recorded: Any
    recomputed: Any

    def __str__(self) -> str:
        return (f"{self.file}, {self.test or '-'}, {self.field}, recorded {_short(self.recorded)} vs "
                f"recomputed {_short(self.recomputed)}")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


@dataclass
class Findings:
    discrepancies: list[Discrepancy] = field(default_factory=list)
    checked: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)   # verdicts of tracks or task kinds not known here

    def same(self, file: str, test: str, name: str, recorded: Any, recomputed: Any) -> None:
        """Compare two values; dicts field by field (dotted names), so the first field that differs is named."""
        if isinstance(recorded, dict) and isinstance(recomputed, dict):
            for key in sorted(dict.fromkeys([*recorded, *recomputed]), key=lambda k: k in CONCLUSIONS):
                self.same(file, test, f"{name}.{key}" if name else str(key),
                          recorded.get(key, MISSING), recomputed.get(key, MISSING))
            return
        self.checked["values"] += 1
        as_saved = json.loads(json.dumps(recomputed, default=str))   # tuples -> lists, as report.json holds them
        if json.dumps(recorded, sort_keys=True) != json.dumps(as_saved, sort_keys=True):
            self.discrepancies.append(Discrepancy(file, test, name, recorded, recomputed))


@dataclass(frozen=True)
class Recomputed:
    result: Result
    floor: Floor
    rule: Any
    unchecked: frozenset[str] = frozenset()    # JUnit properties that cannot be recomputed


class NotRecomputable(LookupError):
    """A saved result of a track or task kind not known here: listed as not recomputed."""


def recompute(saved: SavedRun, row: VerdictRow) -> Recomputed:
    """A verdict row's result, floor and rule, rebuilt by its track (medcheck.tracks)."""
    name = row.track
    if name not in tracks.TRACKS:
        raise NotRecomputable(f"the {name} track")
    result, floor, rule, unchecked = tracks.get(name).recompute(saved, row)
    return Recomputed(result, floor, rule, unchecked)


def items_of(record: RunRecord, dataset_id: str, ids: list[str], seed: int) -> tuple[Any, ...]:
    """A dataset's items as run, read again from the run's data dir (or the bundled samples); they
    must hash to the recorded sha256, else the run cannot be recomputed here."""
    data_dir = record.settings.get("data_dir")
    full = datasets.load(dataset_id, Path(data_dir) if data_dir else None, None, seed)
    by_id = {item.id: item for item in full.items}
    recorded = record.datasets[dataset_id]["sha256"]
    items = tuple(by_id[i] for i in ids if i in by_id)
    if len(items) != len(ids) or content_hash(items) != recorded:
        raise KeyError(f"{dataset_id} items as run (sha256 {recorded[:12]}) in {data_dir or 'the bundled samples'}")
    return items


# -- a saved run, answering what the gate's evaluator answers ------------------------------------
class SavedRun:
    """report.json + samples.jsonl + the bundled threshold files, as the gate's code reads them."""

    def __init__(self, run_dir: Path, manifest: dict[str, Any]) -> None:
        self.record = load_record(run_dir)
        self.rows: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for sample in read_samples(run_dir / "samples.jsonl"):
            self.rows[(sample.pair, sample.dataset)].append(sample.record())
        self.protocol = self.record.runtime["protocol"]
        self.seed = self.record.settings["seed"]
        self.specs = {name: m["spec"] for name, m in self.record.models.items()}
        self._files = {e["track"]: run_dir / name for name, e in manifest.get("files", {}).items()
                       if e.get("role") == "thresholds" and (run_dir / name).is_file()}
        self._thresholds: dict[str, Any] = {}
        self._runs: dict[tuple[str, str], RunResult] = {}

    def thresholds(self, track: str) -> Any:
        """A track's bundled threshold file, read (and validated) by the track's own loader on first use."""
        if track not in self._thresholds:
            path = self._files[track]    # KeyError: the file is not in the bundle
            self._thresholds[track] = tracks.get(track).load_thresholds(path, list(self.specs))
        return self._thresholds[track]

    def pair(self, pair_id: str) -> Pair:
        model, _, compression = pair_id.partition("/")
        return Pair(model, self.specs.get(model, ""), compression)

    def dataset(self, dataset_id: str) -> Dataset:
        d = self.record.datasets[dataset_id]
        rows = next((rows for (_, ds), rows in self.rows.items() if ds == dataset_id), [])
        # choice items are known by id only (n and the recorded hash are what their results read);
        # generated ones are read again: their scorer needs the gold answers
        ids = [r["item_id"] for r in rows]
        kind = d.get("kind", "choice")
        items: tuple[Any, ...] = items_of(self.record, dataset_id, ids, self.seed) if task_kinds.of(kind).needs_items \
            else tuple(ids)
        return Dataset(id=dataset_id, track=d["track"], items=items,
                       source=d["source"], path=d["path"], loader_version=d["loader_version"], total=d["total"],
                       kind=d.get("kind", "choice"), sha256=d["sha256"])

    def run(self, pair_id: str, dataset_id: str) -> RunResult:
        key = (pair_id, dataset_id)
        if key not in self._runs:
            row = next((r for r in self.record.runs if (r.pair, r.dataset) == key), None)
            if row is None:
                raise KeyError(f"report.json has no run of {pair_id} on {dataset_id}")
            name = self.record.datasets[dataset_id].get("kind", "choice")
            if name not in task_kinds.KINDS:
                raise NotRecomputable(f"{name} datasets")
            kind = task_kinds.of(name)
            records = kind.records(self.rows.get(key, []))
            summary = kind.summarize(self.dataset(dataset_id), records)
            model, _, compression = pair_id.partition("/")
            self._runs[key] = RunResult(model, compression, dataset_id, records, summary, row.fingerprint,
                                        row.cache_key, row.cached_items, row.seconds, dict(row.load),
                                        row.fields["backend"], row.fields.get("strategy", ""), kind.name)
        return self._runs[key]

    def evaluate(self, pair: Pair, dataset_id: str) -> PairResult:
        dense, candidate = self.run(f"{pair.model}/dense", dataset_id), self.run(pair.id, dataset_id)
        result = PairResult(pair, self.dataset(dataset_id), dense, candidate)
        # a candidate stopped at an earlier look than another of its model: the dense records it saw
        n = len(candidate.records)
        return result.first(n) if len(dense.records) > n else result

    def pairs_of(self, model: str) -> list[Pair]:
        return [self.pair(p) for p in self.record.pairs if p.startswith(f"{model}/")]


# -- the checks ----------------------------------------------------------------------------------
def _hashes(run_dir: Path, manifest: dict[str, Any], f: Findings) -> None:
    f.same(audit.MANIFEST, "", "manifest_sha256", manifest.get("manifest_sha256"), audit.digest(manifest))
    for name, entry in manifest.get("files", {}).items():
        path = run_dir / name
        f.checked["files"] += 1
        f.same(name, "", "sha256", entry.get("sha256"), audit.sha256_file(path) if path.is_file() else MISSING)


def _junit_cases(path: Path) -> dict[str, dict[str, str]]:
    """'classname::name' -> properties (the last of a repeated name wins, as in a dict of the list)."""
    root = ET.parse(path).getroot()
    return {f"{c.get('classname')}::{c.get('name')}": {p.get("name", ""): p.get("value", "")
                                                         for p in c.iter("property")}
            for c in root.iter("testcase")}


def _junit_key(nodeid: str) -> str:
    """pytest's JUnit naming of a node id: the file path dotted, classes joined, the name last."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = names[0].replace("/", ".").removesuffix(".py")
    return ".".join(names[:-1]) + "::" + names[-1] + bracket + params


def _verdicts(saved: SavedRun, junit: tuple[str, dict[str, dict[str, str]]] | None, f: Findings) -> None:
    record = saved.record
    env, runtime = record.environment, record.runtime
    for k, row in enumerate(record.verdicts):
        test = row.test
        try:
            again = recompute(saved, row)
        except NotRecomputable as exc:
            f.skipped[f"verdicts on {exc}"] += 1
            continue
        except (KeyError, StopIteration) as exc:
            f.same("report.json", test, "inputs", "present", f"{exc} is missing: not recomputable")
            continue
        verdict = judge_in_family(again.floor, again.rule, again.result, row.family or 1, seed=saved.seed)
        f.checked["verdicts"] += 1
        f.same("report.json", test, f"verdicts[{k}]", row.as_dict(), verdict_row(Outcome(test, again.result, verdict)))
        if junit is None:
            continue
        name, cases = junit
        props = dict(junit_properties(again.result, runtime, env) + check_properties(again.floor, verdict))
        case = cases.get(_junit_key(test))
        if case is None:
            f.same(name, test, "testcase", MISSING, "present")
            continue
        f.checked["junit testcases"] += 1
        for key, value in props.items():
            if key not in again.unchecked:
                f.same(name, test, key, case.get(key, MISSING), str(value))


def _run_row(saved: SavedRun, pair: str, dataset: str) -> dict[str, Any]:
    return run_row(saved.run(pair, dataset))


def _score_row(saved: SavedRun, pair: str, dataset: str) -> dict[str, Any]:
    return score_row(saved.evaluate(saved.pair(pair), dataset))


def _results(saved: SavedRun, rows: list[VerdictRow]) -> list[Result]:
    return [recompute(saved, v).result for v in rows]


def _then(first: Callable[[], Any], then: Callable[[Any], Any]) -> Any:
    return then(first())


def _section(track: tracks.Track, results: list[Result]) -> dict[str, Any]:
    """What the record's `tracks.<name>` holds beyond the description (record.track_section)."""
    return {k: v for k, v in track_section(track, results).items() if k not in track.describe()}


def _rows(saved: SavedRun, f: Findings) -> None:
    """report.json's runs, scores and track sections (their own rows included), rebuilt from the samples."""
    record = saved.record
    checks: list[tuple[str, str, Any, Callable[[], Any]]] = []   # (test, field, recorded, recompute)
    for r in record.runs:
        checks.append((f"{r.pair} on {r.dataset}", "runs", r.as_dict(), partial(_run_row, saved, r.pair, r.dataset)))
    for s in record.scores:
        checks.append((f"{s.pair} on {s.dataset}", "scores", s.as_dict(),
                       partial(_score_row, saved, s.pair, s.dataset)))
    for name, table in record.tracks.items():   # each track's section and rows, from its recomputed verdicts
        if name not in tracks.TRACKS:
            continue
        track = tracks.get(name)
        mine = [v for v in record.verdicts if v.track == name]
        if not mine:
            continue
        results = partial(_results, saved, mine)
        checks.append((name, f"tracks.{name}", dict(table.body), partial(_then, results, partial(_section, track))))
    for test, name, recorded, again in checks:
        try:
            f.same("report.json", test, name, recorded, again())
        except NotRecomputable as exc:
            f.skipped[f"report rows of {exc}"] += 1
        except (KeyError, StopIteration) as exc:   # a run or threshold file the row needs is gone
            f.same("report.json", test, name, "recomputable", f"{exc} is missing")
    for pair, dataset in sorted(set(saved.rows) - {(r.pair, r.dataset) for r in record.runs}):
        f.same("samples.jsonl", f"{pair} on {dataset}", "pair, dataset", MISSING, "samples of a run report.json lacks")


def _suite(saved: SavedRun, manifest: dict[str, Any], junit_path: Path | None, f: Findings) -> None:
    """The manifest's and the JUnit suite's statements about the run against report.json."""
    record = saved.record
    keys = ("sha256", "source", "path")
    recorded = {k: {key: d[key] for key in keys} for k, d in record.datasets.items()}
    listed = {k: {key: d.get(key) for key in keys} for k, d in manifest.get("datasets", {}).items()}
    f.same(audit.MANIFEST, "", "datasets", listed, recorded)
    f.same(audit.MANIFEST, "", "models", {k: m.get("fingerprint") for k, m in manifest.get("models", {}).items()},
           {k: m["fingerprint"] for k, m in record.models.items()})
    f.same(audit.MANIFEST, "", "compressed", manifest.get("compressed", {}),
           {r.pair: r.fingerprint for r in record.runs if not r.pair.endswith("/dense")})
    f.same(audit.MANIFEST, "", "environment", manifest.get("environment", {}), record.environment)
    if junit_path is not None:
        suite = {p.get("name"): p.get("value") for s in ET.parse(junit_path).getroot().iter("testsuite")
                 for p in s.findall("properties/property")}
        if suite:
            source = "real" if record.settings.get("data_dir") else "sample"
            parallel = {k: str(record.runtime[k]) for k in ("workers", "threads") if k in record.runtime}
            f.same(junit_path.name, "", "testsuite", suite,
                   {"data_source": source, "pairs_file": record.pairs_file, "protocol": saved.protocol, **parallel})


def verify(run_dir: Path) -> Findings:
    """Every check above on `run_dir`; stops early only where a file it needs is missing."""
    run_dir, f = Path(run_dir), Findings()
    if not (run_dir / audit.MANIFEST).is_file():
        f.same(audit.MANIFEST, "", "file", "present", MISSING)
        return f
    manifest = audit.load_manifest(run_dir)
    _hashes(run_dir, manifest, f)
    if not all((run_dir / name).is_file() for name in ("report.json", "samples.jsonl")):
        return f
    saved = SavedRun(run_dir, manifest)
    junit_name = next((n for n, e in manifest.get("files", {}).items() if e.get("role") == "junit"), None)
    junit_path = run_dir / junit_name if junit_name and (run_dir / junit_name).is_file() else None
    junit = (junit_name, _junit_cases(junit_path)) if junit_path and junit_name else None
    _verdicts(saved, junit, f)
    _rows(saved, f)
    _suite(saved, manifest, junit_path, f)
    return f


def summary(run_dir: Path, f: Findings) -> str:
    c = f.checked
    skipped = ("; not recomputed (track or task kind not known here): "
               + ", ".join(f"{n} {k}" for k, n in f.skipped.items())) if f.skipped else ""
    return (f"verified {run_dir}: {c['files']} file hashes, {c['verdicts']} verdicts recomputed from the samples and "
            f"threshold files, {c['junit testcases']} JUnit testcases, {c['values']} values compared; "
            f"efficiency measurements checked for consistency only{skipped}")


def main(run_dir: Path, show_all: bool = False) -> int:
    from medcheck.errors import MedcheckError

    try:
        found = verify(run_dir)
    except (MedcheckError, OSError, ValueError) as exc:
        print(f"medcheck verify: cannot verify {run_dir}: {exc}")
        return 2
    if not found.discrepancies:
        print(summary(run_dir, found))
        return 0
    first, more = found.discrepancies[0], len(found.discrepancies) - 1
    print(f"medcheck verify: FAILED: {first}")
    for other in found.discrepancies[1:] if show_all else []:
        print(f"  also: {other}")
    if more and not show_all:
        print(f"  ({more} more discrepancies; --all lists them)")
    return 1
