"""Tracks, declared once with their behaviour (medcheck.tracks.base.Track): the datasets they count
(from what each dataset module declares), the score they are gated on, their threshold file, how
their results aggregate, what they add to the run record and how `verify` recomputes them.

Gate, fixtures, record and verify iterate over `TRACKS` and call these methods; none of them
tests a track's name or kind. A new track is a `Track` subclass (or an instance of an existing
one), a threshold file and its suite modules, registered here or with `register` from a conftest.
"""

from __future__ import annotations

from medcheck import datasets
from medcheck.registry import suggest
from medcheck.tracks.base import Run, Saved, Track
from medcheck.tracks.choice import ChoiceTrack
from medcheck.tracks.measured import CrossTrack, EfficiencyTrack
from medcheck.tracks.trust import TrustTrack

__all__ = ["TRACKS", "ChoiceTrack", "CrossTrack", "EfficiencyTrack", "Run", "Saved", "Track", "TrustTrack",
           "get", "of_dataset", "register"]

TRACKS: dict[str, Track] = {t.name: t for t in (
    ChoiceTrack("knowledge", "Knowledge track (CMedBench Track 1)", "CPS", "knowledge.yaml"),
    ChoiceTrack("application", "Application track (CMedBench Track 2)", "CPS", "application.yaml"),
    ChoiceTrack("bionlp", "Biomedical NLP track (seeds 001/002: NER, RE, multi-label, QA)", "CPS", "bionlp.yaml",
                partial=True),
    TrustTrack("trust", "Trust track (CMedBench Track 3)", "TWY", "trust.yaml"),
    EfficiencyTrack("efficiency", "Efficiency track (CMedBench Track 5)", "CES", "efficiency.yaml", keeps_rows=True),
    CrossTrack("cross", "Cross-combination track (CMedBench Track 4)", "CCS", "cross.yaml", keeps_rows=True),
)}


def register(track: Track) -> Track:
    """Declare a track (its datasets declare `track = <name>` in their modules)."""
    TRACKS[track.name] = track
    return track


def get(name: str) -> Track:
    if name not in TRACKS:
        raise suggest("track", name, list(TRACKS))
    return TRACKS[name]


def of_dataset(dataset_id: str) -> Track:
    """The track whose score counts `dataset_id` (as its module declares)."""
    return get(datasets.info(dataset_id).track)
