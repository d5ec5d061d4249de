"""medcheck.tracks: tracks are declared once; their datasets come from what each module declares."""

from __future__ import annotations

import pytest

from medcheck import datasets, tracks
from medcheck.registry import UnknownNameError

CMEDBENCH_DIMENSIONS = {"knowledge": {"GMK", "AMK", "BLC"}, "application": {"AME", "CDA", "EUR"},
                        "bionlp": {"NER", "RE", "MLC", "QA"},
                        "trust": {"truthfulness", "safety", "fairness", "robustness", "privacy", "ethics"}}


def test_every_dataset_belongs_to_a_declared_dataset_track_and_dimension():
    for dataset_id in datasets.dataset_ids():
        spec = datasets.info(dataset_id)
        track = tracks.of_dataset(dataset_id)
        assert dataset_id in track.datasets()
        assert spec.dimension in CMEDBENCH_DIMENSIONS[track.name], dataset_id


def test_a_dataset_is_counted_in_exactly_one_track():
    counted = [d for t in tracks.TRACKS.values() for d in t.datasets()]
    assert sorted(counted) == sorted(datasets.dataset_ids())


def test_dimensions_partition_the_track():
    for track in tracks.TRACKS.values():
        members = [d for ids in track.dimensions().values() for d in ids]
        assert sorted(members) == sorted(track.datasets())
    assert tracks.get("application").dimensions()["EUR"] == ("medxpertqa_reasoning", "medxpertqa_understanding")


def test_measured_tracks_have_no_datasets():
    assert tracks.get("efficiency").datasets() == () and tracks.get("cross").dimensions() == {}


def test_unknown_track_suggests():
    with pytest.raises(UnknownNameError, match="did you mean knowledge"):
        tracks.get("knowlege")


def test_register_adds_a_track(monkeypatch):
    monkeypatch.setattr(tracks, "TRACKS", dict(tracks.TRACKS))
    toy = tracks.register(tracks.ChoiceTrack("toy", "Toy", "CPS", "toy.yaml"))
    assert tracks.get("toy") is toy and toy.datasets() == ()
