"""`medcheck ls`: what this install can gate, read from the registries.

Tracks (medcheck.tracks), datasets (medcheck.datasets: items in the bundled samples and in the data
dir, and the files each looks for there), compressions (medcheck.compression.RECIPES) and backends
(medcheck.backends.BACKENDS). Nothing here imports torch: dataset modules are plain Python, and a
recipe's or backend's summary is the first paragraph of its module's docstring, parsed, not imported.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import sys
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from medcheck.errors import DatasetError, MedcheckError

SECTIONS = ("tracks", "datasets", "compressions", "backends")
Row = dict[str, Any]


def summary(location: str, width: int = 96) -> str:
    """First paragraph of the docstring of the module in a registry's "module:attr" string."""
    module = location.partition(":")[0]
    try:
        spec = importlib.util.find_spec(module)
        origin = spec.origin if spec else None
        doc = ast.get_docstring(ast.parse(Path(origin).read_text(encoding="utf-8"))) if origin else None
    except (ImportError, OSError, SyntaxError, ValueError):
        doc = None
    if not doc:
        return ""
    text = " ".join(doc.split("\n\n", 1)[0].split())
    return text if len(text) <= width else text[:width - 3].rstrip() + "..."


def track_rows() -> list[Row]:
    from medcheck import tracks

    return [{"name": t.name, "score": t.score, "kind": t.kind, "datasets": len(t.datasets()),
             "thresholds": f"thresholds/{t.thresholds}", "title": t.title} for t in tracks.TRACKS.values()]


def _looks_for(spec: Any, empty: Path) -> str:
    """Where the loader looks under a data dir: what it names when its files are not there."""
    try:
        spec.load(empty)
    except DatasetError as exc:
        expected = str(exc).partition("\n  expected: ")[2].strip()
        if expected:
            return expected.replace("<data dir>/", "").replace(" (the official release layout)", "")
    except Exception:   # a loader that fails otherwise on an empty dir: fall back to its declaration
        pass
    return str(spec.relative_path)


def _items(dataset_id: str, data_dir: Path | None) -> tuple[int | None, str]:
    """(items, status): status is "ok", "missing" or the loader's error."""
    from medcheck import datasets

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")    # e.g. rows the loader skips: the run reports them
            return datasets.load(dataset_id, data_dir).total, "ok"
    except DatasetError as exc:
        if not exc.path.exists():
            return None, "missing"
        return None, str(exc).split("\n", 1)[0]
    except (MedcheckError, OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}".split("\n", 1)[0]


def dataset_rows(data_dir: Path | None) -> list[Row]:
    from medcheck import datasets

    rows = []
    with tempfile.TemporaryDirectory(prefix="medcheck-ls-") as empty:
        for dataset_id in datasets.dataset_ids():
            spec = datasets.info(dataset_id)
            sample, sample_status = _items(dataset_id, None)
            row: Row = {"id": dataset_id, "track": spec.track, "dimension": spec.dimension,
                        "kind": getattr(spec, "kind", "choice"), "sample_items": sample,
                        "looks_for": _looks_for(spec, Path(empty))}
            if sample_status != "ok":
                row["sample_status"] = sample_status
            if data_dir is not None:
                row["items"], row["status"] = _items(dataset_id, data_dir)
            rows.append(row)
    return rows


def compression_rows() -> list[Row]:
    from medcheck.compression import CHECKPOINT_PREFIX, RECIPES

    rows = [{"name": name, "implementation": RECIPES.location(name), "summary": summary(RECIPES.location(name))}
            for name in RECIPES]
    rows.append({"name": f"{CHECKPOINT_PREFIX}<folder>", "implementation": "medcheck.compression.checkpoint",
                 "summary": "a checkpoint compressed elsewhere (GPTQ, AWQ, compressed-tensors, bitsandbytes, "
                            "plain weights), loaded as it is"})
    return rows


def backend_rows() -> list[Row]:
    from medcheck.backends import BACKENDS

    return [{"name": name, "implementation": BACKENDS.location(name), "summary": summary(BACKENDS.location(name))}
            for name in BACKENDS]


def collect(sections: Iterable[str], data_dir: Path | None) -> dict[str, list[Row]]:
    makers = {"tracks": track_rows, "datasets": lambda: dataset_rows(data_dir),
              "compressions": compression_rows, "backends": backend_rows}
    return {name: makers[name]() for name in sections}


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows]


def _dataset_table(rows: list[Row], data_dir: Path | None) -> list[str]:
    head = ["dataset", "track", "dimension", "sample items"] + (["data dir items"] if data_dir else []) + ["looks for"]
    body = []
    for r in rows:
        cells = [r["id"], r["track"], r["dimension"], str(r["sample_items"] if r["sample_items"] is not None
                                                          else r.get("sample_status", "?"))]
        if data_dir is not None:
            cells.append(str(r["items"]) if r["items"] is not None else r["status"])
        body.append(cells + [r["looks_for"]])
    return _table([head, *body])


def render(catalog: dict[str, list[Row]], data_dir: Path | None, cache_dir: Path) -> list[str]:
    from medcheck import __version__

    where = str(data_dir) if data_dir else "none: the bundled sample sets (--data-dir DIR or MEDCHECK_DATA_DIR)"
    lines = [f"medcheck {__version__}", f"data dir:  {where}", f"cache dir: {cache_dir}"]
    for name, rows in catalog.items():
        lines.append("")
        if name == "datasets":
            lines.append(f"datasets ({len(rows)}): items as the gate reads them; files looked for under the data dir")
            lines += _dataset_table(rows, data_dir)
            continue
        lines.append(f"{name} ({len(rows)})")
        if name == "tracks":
            lines += _table([["track", "score", "kind", "datasets", "thresholds", "title"],
                             *([r["name"], r["score"], r["kind"], str(r["datasets"]), r["thresholds"], r["title"]]
                               for r in rows)])
        else:
            lines += _table([["name", "implementation", "summary"],
                             *([r["name"], r["implementation"], r["summary"]] for r in rows)])
    return lines


def main(sections: list[str], data_dir: Path | None, cache_dir: Path, as_json: bool = False) -> int:
    """Print the catalog; exit 2 with a message when the data dir is not a folder."""
    if data_dir is not None and not data_dir.is_dir():
        print(f"medcheck ls: data dir {data_dir} is not a directory\n  fix: pass --data-dir DIR (or set "
              "MEDCHECK_DATA_DIR) naming the folder that holds the benchmarks' folders (mmlu/, medqa/, ...)",
              file=sys.stderr)
        return 2
    catalog = collect(sections or SECTIONS, data_dir)
    if as_json:
        print(json.dumps({"data_dir": str(data_dir) if data_dir else None, "cache_dir": str(cache_dir), **catalog},
                         indent=1))
    else:
        print(re.sub(r"[ \t]+\n", "\n", "\n".join(render(catalog, data_dir, cache_dir))))
    return 0
