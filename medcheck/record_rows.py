"""The run record's rows, typed: what report.json and samples.jsonl hold, read back with a schema check.

Every reader (the report, `compare`, `merge`, `power`, `verify`) reads these objects, never the
JSON's dicts. A row written by the gate and read back is the same object (`from_json(as_dict())`);
a body a track or task kind owns (a track's scores per pair and its own rows, a task kind's summary
and sample fields) stays a Mapping that its owner reads. A missing or mistyped key, or a schema this
medcheck does not read, raises a RecordError naming the file, the key and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from medcheck.errors import RecordError

SCHEMA_VERSION = 4   # 4: a track's own rows live in its section (tracks.<name>.rows), not at the top level
OLDEST = 2           # the oldest schema the readers upgrade (2: verdict rows without their track)
ROWS = "rows"        # the key of a track's own rows in its section (Track.keeps_rows)
REWRITE = ("the file was edited, truncated or written by another program: rerun the gate "
           "(pytest suites --medcheck-report-dir DIR) to write it again")

_KINDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "text": ("a string", lambda v: isinstance(v, str)),
    "flag": ("true or false", lambda v: isinstance(v, bool)),
    "count": ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "number": ("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    "list": ("a list", lambda v: isinstance(v, list)),
    "map": ("an object", lambda v: isinstance(v, Mapping)),
    "id": ("a string or an integer", lambda v: isinstance(v, (str, int)) and not isinstance(v, bool)),
}


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


class Fields:
    """One JSON object of a record, read key by key: a missing or mistyped key raises a RecordError
    naming the file and the key's path in it (verdicts[3].floor)."""

    def __init__(self, data: Any, where: str, at: str) -> None:
        if not isinstance(data, Mapping):
            raise RecordError(where, at or "(top level)", f"expected an object, got {_shown(data)}", REWRITE)
        self.data, self.where, self.at = data, where, at

    def key(self, name: str) -> str:
        return f"{self.at}.{name}" if self.at else name

    def need(self, name: str, kind: str, *, none: bool = False) -> Any:
        if name not in self.data:
            raise RecordError(self.where, self.key(name), "missing", REWRITE)
        return self._checked(name, kind, none)

    def maybe(self, name: str, kind: str, default: Any = None) -> Any:
        """An optional key: `default` when absent or null."""
        return default if self.data.get(name) is None else self._checked(name, kind, False)

    def _checked(self, name: str, kind: str, none: bool) -> Any:
        value = self.data[name]
        what, ok = _KINDS[kind]
        if not (ok(value) or (none and value is None)):
            raise RecordError(self.where, self.key(name), f"expected {what}{' or null' if none else ''}, "
                              f"got {_shown(value)}", REWRITE)
        return value


def _plain(row: Any) -> dict[str, Any]:
    """A row's fields as report.json holds them (tuples as lists, optional fields left out when unset)."""
    out: dict[str, Any] = {}
    for f in fields(row):
        value = getattr(row, f.name)
        if value is None and f.default is None:
            continue
        out[f.name] = list(value) if isinstance(value, tuple) else dict(value) if isinstance(value, Mapping) \
            else value
    return out


@dataclass(frozen=True)
class VerdictRow:
    """One verdict (medcheck.record.verdict_row writes it): the test, its result and the decision."""
    test: str
    kind: str                   # the result's kind: dataset, track, trust, efficiency, cross, ...
    track: str
    pair: str                   # a pair id, or a model for a test over all its compressions
    subject: str                # a dataset, a dimension or the track
    datasets: tuple[str, ...]
    metric: str
    value: float | None         # None: undefined (the dense model scored 0)
    n: int
    passed: bool
    outcome: str                # pass / fail / inconclusive
    message: str
    floor: float
    rule: str                   # where the floor came from
    decision_rule: Mapping[str, Any]
    stats: Mapping[str, Any] | None = None      # paired statistics, where the rule has them
    fidelity: Mapping[str, Any] | None = None   # fidelity to the dense model, where measured
    family: int | None = None   # tests of its track for its candidate, where more than one (medcheck.family)
    looks: Mapping[str, Any] | None = None      # a sequentially scored result's looks

    @classmethod
    def from_json(cls, data: Any, where: str, at: str) -> VerdictRow:
        f = Fields(data, where, at)
        return cls(test=f.need("test", "text"), kind=f.need("kind", "text"), track=f.need("track", "text"),
                   pair=f.need("pair", "text"), subject=f.need("subject", "text"),
                   datasets=tuple(f.need("datasets", "list")), metric=f.need("metric", "text"),
                   value=f.need("value", "number", none=True), n=f.need("n", "count"),
                   passed=f.need("passed", "flag"), outcome=f.need("outcome", "text"),
                   message=f.need("message", "text"), floor=f.need("floor", "number"), rule=f.need("rule", "text"),
                   decision_rule=f.need("decision_rule", "map"), stats=f.maybe("stats", "map"),
                   fidelity=f.maybe("fidelity", "map"), family=f.maybe("family", "count"),
                   looks=f.maybe("looks", "map"))

    def as_dict(self) -> dict[str, Any]:
        return _plain(self)

    @property
    def status(self) -> str:
        """pass / fail / inconclusive, as every view colours it."""
        return "inconclusive" if self.outcome == "inconclusive" else "pass" if self.passed else "fail"

    @property
    def on_fidelity(self) -> bool:
        """Whether fidelity to the dense model decided the outcome, where the score alone did not."""
        # an undefined score (no dense-right item) decides nothing: judged as inconclusive beside fidelity
        score = (self.stats or {}).get("outcome") or ("inconclusive" if self.value is None else None)
        return bool(score) and score != self.outcome and (self.fidelity or {}).get("fidelity_outcome") == self.outcome


@dataclass(frozen=True)
class ScoreRow:
    """One pair on one dataset (medcheck.record.score_row): dense and candidate score and CPS; the
    task kind's own keys (accuracy, metric, unparsed, acc_norm, ...) stay in `fields`."""
    pair: str
    dataset: str
    track: str
    dense_score: float          # what CPS compares: accuracy, or a generated task's primary metric
    score: float
    cps: float | None           # None: undefined (dense score 0)
    fields: Mapping[str, Any]   # the row as written

    @classmethod
    def from_json(cls, data: Any, where: str, at: str) -> ScoreRow:
        f = Fields(data, where, at)
        return cls(pair=f.need("pair", "text"), dataset=f.need("dataset", "text"), track=f.need("track", "text"),
                   dense_score=f.need("dense_score", "number"), score=f.need("score", "number"),
                   cps=f.maybe("cps", "number"), fields=dict(data))

    def as_dict(self) -> dict[str, Any]:
        return dict(self.fields)


@dataclass(frozen=True)
class RunRow:
    """One model on one dataset (medcheck.record.run_row): provenance and load telemetry; the task
    kind's summary (accuracy, degenerate, ...) stays in `fields`."""
    pair: str
    dataset: str
    fingerprint: str
    cache_key: str
    cached_items: int
    seconds: float
    load: Mapping[str, Any]
    fields: Mapping[str, Any]   # the row as written

    @classmethod
    def from_json(cls, data: Any, where: str, at: str) -> RunRow:
        f = Fields(data, where, at)
        return cls(pair=f.need("pair", "text"), dataset=f.need("dataset", "text"),
                   fingerprint=f.need("fingerprint", "text"), cache_key=f.need("cache_key", "text"),
                   cached_items=f.need("cached_items", "count"), seconds=f.need("seconds", "number"),
                   load=f.need("load", "map"), fields=dict(data))

    def as_dict(self) -> dict[str, Any]:
        return dict(self.fields)


@dataclass(frozen=True)
class ThroughputRow:
    """Items a run scored (cached items excluded) and how fast."""
    pair: str
    dataset: str
    items: int
    seconds: float
    items_per_s: float

    @classmethod
    def from_json(cls, data: Any, where: str, at: str) -> ThroughputRow:
        f = Fields(data, where, at)
        return cls(pair=f.need("pair", "text"), dataset=f.need("dataset", "text"), items=f.need("items", "count"),
                   seconds=f.need("seconds", "number"), items_per_s=f.need("items_per_s", "number"))

    def as_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class TrackSection:
    """`tracks.<name>`: the track's description (Track.describe) and its body, which the track owns
    (Track.section: its scores per pair; its own rows under `rows`) and its table code reads."""
    title: str
    score: str                  # the score its verdicts are on: CPS, TWY, CES, CCS, ...
    kind: str
    table: str                  # the report's layout of its table (medcheck.report.tables.TABLES)
    dimensions: Mapping[str, tuple[str, ...]]
    datasets: tuple[str, ...]
    body: Mapping[str, Any]

    @classmethod
    def from_json(cls, data: Any, where: str, at: str) -> TrackSection:
        f = Fields(data, where, at)
        dims = f.need("dimensions", "map")
        head = {"title": f.need("title", "text"), "score": f.need("score", "text"), "kind": f.need("kind", "text"),
                "table": f.need("table", "text")}
        datasets = f.need("datasets", "list")
        body = {k: v for k, v in data.items() if k not in (*head, "dimensions", "datasets")}
        return cls(**head, dimensions={k: tuple(v) for k, v in dims.items()}, datasets=tuple(datasets), body=body)

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "score": self.score, "kind": self.kind, "table": self.table,
                "dimensions": {k: list(v) for k, v in self.dimensions.items()}, "datasets": list(self.datasets),
                **self.body}

    @property
    def rows(self) -> list[Mapping[str, Any]]:
        """The track's own rows (an efficiency measurement per pair, a CCS per model), if it keeps any."""
        return list(self.body.get(ROWS) or [])


_WHERE = ("pair", "dataset")   # the keys that place a samples.jsonl line; the rest is the task kind's record


@dataclass(frozen=True)
class SampleRow:
    """One line of samples.jsonl: a model's record of one item (the task kind's fields, in `fields`)
    and the item's text."""
    pair: str
    dataset: str
    item_id: str
    fields: Mapping[str, Any]   # the line as written

    @classmethod
    def from_json(cls, data: Any, where: str, at: str = "") -> SampleRow:
        f = Fields(data, where, at)
        return cls(pair=f.need("pair", "text"), dataset=f.need("dataset", "text"),
                   item_id=str(f.need("item_id", "id")), fields=dict(data))

    def as_dict(self) -> dict[str, Any]:
        return dict(self.fields)

    def record(self) -> dict[str, Any]:
        """The fields a task kind's `records` reads (all but the pair and dataset)."""
        return {k: v for k, v in self.fields.items() if k not in _WHERE}


def read_samples(path: Path) -> list[SampleRow]:
    """samples.jsonl; a bad line raises a RecordError naming path:line."""
    out = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecordError(f"{path}:{line_no}", "", f"not JSON: {exc.msg}", REWRITE) from None
        out.append(SampleRow.from_json(data, f"{path}:{line_no}"))
    return out


# -- older schemas -------------------------------------------------------------------------------
def upgrade(data: Any, where: str) -> dict[str, Any]:
    """A record of any schema from OLDEST to SCHEMA_VERSION, in the current shape."""
    f = Fields(data, where, "")
    if "schema_version" not in data:
        raise RecordError(where, "schema_version", "missing: not a run record written by medcheck",
                          "pass the report.json of a report dir written by `pytest suites --medcheck-report-dir DIR`")
    version = f.need("schema_version", "count")
    if version > SCHEMA_VERSION:
        raise RecordError(where, "schema_version", f"{version}: written by a newer medcheck (this one reads schemas "
                          f"{OLDEST} to {SCHEMA_VERSION})", "upgrade medcheck (pip install -U medcheck) to read it")
    if version < OLDEST:
        raise RecordError(where, "schema_version", f"{version}: an older schema (this medcheck reads schemas "
                          f"{OLDEST} to {SCHEMA_VERSION})",
                          "rerun the gate with this medcheck to write a current record")
    out = dict(data)
    if version < 3:
        out = _from_2(out, where)
    if version < 4:
        out = _from_3(out, where)
    return {**out, "schema_version": SCHEMA_VERSION}


def _from_2(data: dict[str, Any], where: str) -> dict[str, Any]:
    """Schema 2: track descriptions named no table layout (it was the track's kind) and verdict rows no
    track: a verdict belongs to the track its subject names, else the one track of its kind, else its
    dataset's track."""
    tracks = {name: {**t, "table": t.get("table") or t.get("kind") or "verdicts"}
              for name, t in Fields(data.get("tracks") or {}, where, "tracks").data.items()}
    datasets = data.get("datasets") or {}

    def track(v: Mapping[str, Any]) -> str:
        subject, kind = v.get("subject"), v.get("kind")
        of_kind = [name for name, t in tracks.items() if t.get("kind") == kind]
        if subject in tracks:
            return str(subject)
        if len(of_kind) == 1:
            return of_kind[0]
        return str((datasets.get(subject) or {}).get("track") or kind)

    verdicts = [v if not isinstance(v, Mapping) or "track" in v else {**v, "track": track(v)}
                for v in data.get("verdicts") or []]
    return {**data, "tracks": tracks, "verdicts": verdicts}


_SCHEMA_3 = ("medcheck", "finished", "wall_seconds", "settings", "runtime", "environment", "pairs_file", "pairs",
             "models", "datasets", "tracks", "runs", "scores", "verdicts", "errors", "notes", "throughput",
             "schema_version")   # its fields, besides the tracks' rows


def _from_3(data: dict[str, Any], where: str) -> dict[str, Any]:
    """Schema 3: a track's own rows were a top-level list named after the track (`efficiency`, `cross`)."""
    out = dict(data)
    tracks = {}
    for name, t in Fields(out.get("tracks") or {}, where, "tracks").data.items():
        rows = None if name in _SCHEMA_3 else out.pop(name, None)
        tracks[name] = {**t, ROWS: rows} if isinstance(rows, list) and isinstance(t, Mapping) else t
    return {**out, "tracks": tracks}
