"""Threshold files of the tracks gated on CPS item by item (knowledge, application, biomedical NLP).

    # thresholds/knowledge.yaml
    cps:                       # per-dataset CPS floor
      default: 0.90
      datasets: {medqa: 0.92}
      compressions: {bnb-int8: 0.95}
      cells: {bnb-nf4: {pubmed_qa: 0.85}}
    track_cps:                 # CPS over all datasets of the track, per pair
      default: 0.92
      compressions: {}
    generation:                # generative datasets only: token budget and item cap per dataset
      default: {max_new_tokens: 64, limit: 200}
      datasets: {bc5cdr_chem: {max_new_tokens: 96}}
    decision:                  # how an interval is held against a floor (medcheck.decision)
      mode: catch-damage       # prove-safe | catch-damage | point
      confidence: 0.95
      inconclusive_fails: false
      compressions: {bnb-int8: {mode: prove-safe}}
    fidelity: {default: {kl_max: 0.05, same_top_min: 0.80}}   # optional (medcheck.thresholds.fidelity)

Floors resolve most specific first: cells (compression + dataset) > compressions > datasets >
default. A section may hold its own `decision:`; rules resolve compression override > section >
file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from medcheck.compression import DENSE
from medcheck.thresholds import checks, fidelity
from medcheck.thresholds.floors import Floor, file_name, floor, generation_budget, rule

if TYPE_CHECKING:
    from medcheck.decision import Rule
    from medcheck.thresholds.fidelity import FidelityFloor

SECTIONS = ("cps", "track_cps")


class Thresholds:
    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path, self.data = Path(path), data

    @property
    def name(self) -> str:
        return file_name(self.path)

    def cps(self, dataset: str, compression: str) -> Floor:
        return floor(self.name, "cps", self.data["cps"], "CPS", ("cells", compression, dataset),
                     ("compressions", compression), ("datasets", dataset))

    def track_cps(self, track: str, compression: str) -> Floor:
        return floor(self.name, "track_cps", self.data["track_cps"], f"{track} CPS", ("compressions", compression))

    def rule(self, section: str, compression: str) -> Rule:
        """The decision rule of a section for a compression: file < section < compression override."""
        return rule(self.path, self.data, compression, section)

    def generation(self, dataset_id: str) -> dict[str, int]:
        return generation_budget(self.data, dataset_id)

    def fidelity(self, compression: str) -> FidelityFloor | None:
        return fidelity.lookup(self.name, self.data, compression)


def load(path: Path, dataset_ids: list[str], compressions: list[str]) -> Thresholds:
    """Read and validate a threshold file; any problem names the file, the key and the fix."""
    where = str(path)
    data = checks.read_yaml(path, [*SECTIONS, "decision", "generation", "fidelity"])
    checks.generation(where, data.get("generation", {}), dataset_ids)
    compressions = [c for c in compressions if c != DENSE]   # the reference, never floored
    fidelity.check(where, data.get("fidelity"), compressions)
    per_compression = {"compressions": ("compression", compressions)}
    checks.floors(where, "cps", data.get("cps"), {"datasets": ("dataset", dataset_ids), **per_compression},
                  also=("cells", "decision"))
    checks.floors(where, "track_cps", data.get("track_cps"), per_compression, also=("decision",))
    for comp, cells in checks.names(where, "cps.cells", data["cps"].get("cells", {}), "compression",
                                    compressions).items():
        for name, value in checks.names(where, f"cps.cells.{comp}", cells, "dataset", dataset_ids).items():
            checks.number(where, f"cps.cells.{comp}.{name}", value)
    checks.decisions(where, data, compressions, SECTIONS)
    return Thresholds(Path(path), data)
