"""The audit bundle of a run: report files written atomically, and manifest.json, which hashes them.

manifest.json lists every file of the run record with its sha256 and size: report.json,
samples.jsonl, summary.txt, the rendered views and CSVs, the JUnit XML (copied into the report
dir when pytest wrote it elsewhere) and copies of the threshold files and the pairs file the run
read (under ``inputs/``, so a bundle verifies on its own, on any machine). Beside the files it
records the dataset hashes and source paths, each release file a loader read (its path as given,
the file it resolves to through any links, its sha256), the model and compressed-model
fingerprints, library versions, the command line, the machine (CPU model and flags, cores, RAM)
and start and end times.

``manifest_sha256`` is the sha256 of the rest of the manifest (canonical JSON). It detects a
changed manifest, not a forger who rewrites it and every hash in it: for that, keep the digest
outside the bundle (the CI log prints it; an artifact attestation can sign it).
``python -m medcheck verify RUN_DIR`` (medcheck.verify) checks the bundle.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
INPUTS = "inputs"        # copies of the threshold and pairs files, inside the report dir
ROLES = {"report.json": "report", "samples.jsonl": "samples", "summary.txt": "summary"}


# Measurements in report.json: wall times, load telemetry (seconds, memory), throughput and the
# efficiency track. Everything else (samples.jsonl, scores, verdicts, snapshots) is a function of the
# configuration and must come out byte-identical from two runs on one machine.
MEASURED = ("finished", "wall_seconds", "throughput", "efficiency")
MEASURED_PER_RUN = ("seconds", "load")


def reproducible(record: Mapping[str, Any]) -> dict[str, Any]:
    """report.json with its measurements set aside: what two runs of one configuration share."""
    out = {k: v for k, v in record.items() if k not in MEASURED}
    out["runs"] = [{k: v for k, v in run.items() if k not in MEASURED_PER_RUN} for run in record.get("runs") or []]
    return out


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `path` whole or not at all: a temp file in the same folder, fsync, then os.replace.

    A reader (or a run killed halfway) never sees a half-written report file; the folder is
    fsynced too, so the rename itself survives a crash.
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        folder = os.open(path.parent, os.O_RDONLY)
    except OSError:   # some platforms cannot open a folder; the file itself is durable already
        return
    try:
        os.fsync(folder)
    except OSError:
        pass
    finally:
        os.close(folder)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def digest(manifest: Mapping[str, Any]) -> str:
    """sha256 of the manifest without its own digest, as canonical JSON (sorted keys, no spaces)."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def machine() -> dict[str, Any]:
    """CPU model and flags, cores and RAM: what decides dtype and speed on this machine."""
    info: dict[str, Any] = {"platform": platform.platform(), "machine": platform.machine(),
                            "hostname": platform.node(), "cpu_count": os.cpu_count()}
    if hasattr(os, "sched_getaffinity"):
        info["cores_available"] = len(os.sched_getaffinity(0))
    try:
        info["ram_bytes"] = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        info["ram_bytes"] = None
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        fields = dict(line.split(":", 1) for line in cpuinfo.read_text().splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        info["cpu_model"] = fields.get("model name", "")
        info["cpu_flags"] = sorted((fields.get("flags") or fields.get("Features") or "").split())
    return info


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _entry(run_dir: Path, path: Path, role: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    return path.relative_to(run_dir).as_posix(), {"sha256": sha256_file(path), "bytes": path.stat().st_size,
                                                   "role": role, **extra}


def write_manifest(run_dir: Path, record: Mapping[str, Any], written: Iterable[Path], *,
                   inputs: Mapping[str, tuple[Path, str]], junit: Path | None, command: Mapping[str, Any],
                   started: float) -> Path:
    """manifest.json for the files this run wrote into `run_dir`.

    inputs: name under inputs/ -> (source file, what it is: a track name for a threshold file,
    or "pairs"); each is copied into the bundle. junit: the JUnit XML pytest wrote (complete by
    now), copied in when it lies outside `run_dir`.
    """
    run_dir = Path(run_dir).resolve()
    files: dict[str, dict[str, Any]] = {}
    for path in written:
        path = Path(path).resolve()
        name, entry = _entry(run_dir, path, ROLES.get(path.name, "view"))
        files[name] = entry
    for name, (source, what) in sorted(inputs.items()):
        target = run_dir / INPUTS / name
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, Path(source).read_bytes())
        role = {"role": "pairs"} if what == "pairs" else {"role": "thresholds", "track": what}
        key, entry = _entry(run_dir, target, **role, source=str(source))
        files[key] = entry
    if junit is not None and Path(junit).is_file():
        junit = Path(junit).resolve()
        inside = junit.parent == run_dir or run_dir in junit.parents
        target = junit if inside else run_dir / junit.name
        if not inside:
            shutil.copyfile(junit, target)
        key, entry = _entry(run_dir, target, "junit", source=str(junit))
        files[key] = entry
    runs = record.get("runs") or []
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION, "schema_version": record.get("schema_version"),
        "medcheck": record.get("medcheck"), "started": _iso(started), "finished": _iso(time.time()),
        "command": dict(command), "machine": machine(),
        "environment": dict(record.get("environment") or {}), "runtime": dict(record.get("runtime") or {}),
        "datasets": {k: {"sha256": d.get("sha256"), "source": d.get("source"), "path": d.get("path"),
                         "n": d.get("n"), "loader_version": d.get("loader_version"),
                         "files": list(d.get("files") or [])}
                     for k, d in (record.get("datasets") or {}).items()},
        "models": {k: {"spec": m.get("spec"), "fingerprint": m.get("fingerprint")}
                   for k, m in (record.get("models") or {}).items()},
        "compressed": {r["pair"]: r["fingerprint"] for r in runs if not r["pair"].endswith("/dense")},
        "files": dict(sorted(files.items())),
    }
    manifest["manifest_sha256"] = digest(manifest)
    path = run_dir / MANIFEST
    write_atomic(path, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return path


def load_manifest(run_dir: Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / MANIFEST).read_text())
