"""Settings: named profiles, validation with fixes or suggestions, immutability."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from medcheck.errors import ConfigError, MedcheckError
from medcheck.registry import UnknownNameError
from medcheck.settings import PROFILES, Settings, default_cache_dir


@pytest.mark.parametrize(("profile", "limit", "budget", "sequential"),
                         [("smoke", 10, None, False), ("ci", None, 200, True), ("standard", None, None, True),
                          ("full", None, None, True)])
def test_profiles(profile: str, limit: int | None, budget: int | None, sequential: bool) -> None:
    settings = Settings.from_profile(profile)
    assert settings.profile == profile and settings.limit == limit
    assert (settings.budget, settings.sequential) == (budget, sequential)
    assert PROFILES[profile].get("limit") == limit


def test_explicit_values_override_profile_and_none_does_not() -> None:
    assert Settings.from_profile("smoke", limit=3).limit == 3
    assert Settings.from_profile("ci", limit=None, dtype=None).budget == 200
    assert Settings.from_profile("ci", dtype="float16").dtype == "float16"


def test_an_explicit_limit_is_one_look_and_a_budget_is_looks() -> None:
    fixed = Settings.from_profile("standard", limit=40)
    assert (fixed.limit, fixed.sequential, fixed.budget) == (40, False, None)
    looks = Settings.from_profile("smoke", budget=80)
    assert (looks.sequential, looks.budget) == (True, 80)
    with pytest.raises(ConfigError, match="budget"):
        Settings(budget=0)


def test_defaults() -> None:
    settings = Settings()
    assert (settings.profile, settings.limit, settings.protocol, settings.dtype, settings.device) == (
        "standard", None, None, "auto", "auto")
    assert settings.seed == 1234 and settings.use_cache and not settings.allow_network


@pytest.mark.parametrize(("changes", "key"), [
    ({"limit": 0}, "limit"), ({"limit": -5}, "limit"), ({"limit": "10"}, "limit"), ({"limit": 2.5}, "limit"),
    ({"batch_tokens": 100}, "batch_tokens"),
])
def test_invalid_values_raise_config_error(changes: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings(**changes)
    assert info.value.where == "settings" and info.value.key == key
    assert str(info.value).startswith(f"settings: {key}: ") and info.value.fix


def test_limit_zero_through_profile() -> None:
    with pytest.raises(ConfigError, match="positive integer"):
        Settings.from_profile("smoke", limit=0)


@pytest.mark.parametrize(("field", "value", "suggestion"), [
    ("dtype", "float23", "float32"), ("dtype", "bfloat", "bfloat16"), ("protocol", "leter", "letter"),
    ("device", "cude", "cuda"), ("profile", "smok", "smoke"),
])
def test_bad_choice_suggests(field: str, value: str, suggestion: str) -> None:
    with pytest.raises(UnknownNameError) as info:
        Settings(**{field: value})
    assert suggestion in info.value.suggestions and "did you mean" in str(info.value)


def test_unknown_profile_in_from_profile() -> None:
    with pytest.raises(UnknownNameError, match="did you mean ci"):
        Settings.from_profile("cii")


def test_data_dir_must_be_a_directory(tmp_path: Path) -> None:
    file = tmp_path / "data.txt"
    file.write_text("x")
    for bad in (file, tmp_path / "missing"):
        with pytest.raises(ConfigError) as info:
            Settings(data_dir=bad)
        assert info.value.key == "data_dir" and str(bad) in str(info.value) and "not a directory" in str(info.value)
    assert Settings(data_dir=tmp_path).data_dir == tmp_path


def test_frozen() -> None:
    settings = Settings.from_profile("smoke")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.limit = 3  # type: ignore[misc]
    assert settings.limit == 10


def test_unknown_backend_suggests() -> None:
    with pytest.raises(MedcheckError, match="did you mean hf"):
        Settings(backend="hff")


def test_as_record_is_json_ready(tmp_path: Path) -> None:
    record = Settings(data_dir=tmp_path, cache_dir=tmp_path / "cache", models=("a",)).as_record()
    assert record["data_dir"] == str(tmp_path) and record["cache_dir"] == str(tmp_path / "cache")
    assert json.loads(json.dumps(record))["limit"] is None


def test_default_cache_dir_honours_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDCHECK_CACHE_DIR", str(tmp_path / "mc"))
    assert default_cache_dir() == tmp_path / "mc" and Settings().cache_dir == tmp_path / "mc"
    monkeypatch.delenv("MEDCHECK_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "medcheck"


def test_a_budget_in_items_seconds_or_both():
    from medcheck.settings import Settings, parse_budget

    assert parse_budget("200") == (200, None)
    assert parse_budget("600s") == (None, 600.0)
    assert parse_budget("200, 90.5s") == (200, 90.5)
    for bad in ("forty", "200,300", "10s,20s", "", "-5"):
        with pytest.raises(ConfigError, match="600s"):
            parse_budget(bad)
    settings = Settings.from_profile("smoke", budget_seconds=30.0)
    assert settings.sequential and settings.budget_seconds == 30.0
    with pytest.raises(ConfigError, match="budget_seconds"):
        Settings(budget_seconds=0)
