"""Tracks, declared once: the datasets they count (from what each dataset module declares), the
score they are gated on, their threshold file and how they are evaluated.

Gate, fixtures and report read these declarations and never branch on a track's name, so a new
choice track is its dataset modules, a threshold file and its suite modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from medcheck import datasets
from medcheck.registry import suggest

# choice: datasets scored item by item (multiple choice or parsed generations), gated on CPS;
# trust: generative probes grouped in dimensions, gated on TWY; efficiency / cross: measured per pair / model.
Kind = Literal["choice", "trust", "efficiency", "cross"]
DATASET_KINDS = ("choice", "trust")


@dataclass(frozen=True)
class Track:
    name: str
    title: str
    score: str                  # the score its verdicts are on: CPS, CES, CCS (TWY next)
    thresholds: str             # file under thresholds/
    kind: Kind
    partial: bool = False       # with a data dir, runs on the datasets present there (others are reported missing)

    def datasets(self) -> tuple[str, ...]:
        return datasets.by_track(self.name) if self.kind in DATASET_KINDS else ()

    def dimensions(self) -> dict[str, tuple[str, ...]]:
        """CMedBench dimension -> dataset ids (GMK / AMK / BLC, AME / CDA / EUR)."""
        return datasets.dimensions(self.name) if self.kind in DATASET_KINDS else {}


TRACKS: dict[str, Track] = {t.name: t for t in (
    Track("knowledge", "Knowledge track (CMedBench Track 1)", "CPS", "knowledge.yaml", "choice"),
    Track("application", "Application track (CMedBench Track 2)", "CPS", "application.yaml", "choice"),
    Track("bionlp", "Biomedical NLP track (seeds 001/002: NER, RE, multi-label, QA)", "CPS", "bionlp.yaml", "choice",
          partial=True),
    Track("trust", "Trust track (CMedBench Track 3)", "TWY", "trust.yaml", "trust"),
    Track("efficiency", "Efficiency track (CMedBench Track 5)", "CES", "efficiency.yaml", "efficiency"),
    Track("cross", "Cross-combination track (CMedBench Track 4)", "CCS", "cross.yaml", "cross"),
)}


def register(track: Track) -> Track:
    """Declare a track (its datasets declare `track = <name>` in their modules)."""
    TRACKS[track.name] = track
    return track


def get(name: str) -> Track:
    if name not in TRACKS:
        raise suggest("track", name, list(TRACKS))
    return TRACKS[name]


def choice_tracks() -> list[Track]:
    return [t for t in TRACKS.values() if t.kind == "choice"]


def of_dataset(dataset_id: str) -> Track:
    """The track whose score counts `dataset_id` (as its module declares)."""
    return get(datasets.info(dataset_id).track)
