"""Pairs files: the repo default, validation errors, and the command-line narrowing/overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcheck import pairs
from medcheck.compression import DENSE, RECIPES
from medcheck.errors import ConfigError
from medcheck.settings import PROTOCOLS

ROOT = Path(__file__).resolve().parents[2]
BASE = """\
protocol: option-text
models:
  alpha: embedded:smollm2-135m
  beta: /models/beta
compressions: [bnb-nf4, bnb-int8]
"""


@pytest.fixture
def pairs_file(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.yaml"
    path.write_text(BASE, encoding="utf-8")
    return path


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_repo_default_pairs_file() -> None:
    loaded = pairs.load(ROOT / "suites" / "pairs" / "default.yaml")
    assert loaded.protocol in PROTOCOLS and loaded.models and loaded.compressions
    assert DENSE not in loaded.compressions and all(c in RECIPES for c in loaded.compressions)
    ids = [p.id for p in loaded.pairs()]
    assert ids == [f"{m}/{c}" for m in loaded.models for c in loaded.compressions]
    assert len(set(ids)) == len(ids)


def test_pairs_cross_models_and_compressions(pairs_file: Path) -> None:
    loaded = pairs.load(pairs_file)
    assert loaded.path == str(pairs_file) and loaded.protocol == "option-text"
    assert [p.id for p in loaded.pairs()] == ["alpha/bnb-nf4", "alpha/bnb-int8", "beta/bnb-nf4", "beta/bnb-int8"]
    assert loaded.pairs()[2] == pairs.Pair("beta", "/models/beta", "bnb-nf4")


def test_protocol_defaults_to_letter_and_duplicates_collapse(tmp_path: Path) -> None:
    loaded = pairs.load(write(tmp_path, "models: {a: /m/a}\ncompressions: [bnb-int8, bnb-nf4, bnb-int8]\n"))
    assert loaded.protocol == "letter" and loaded.compressions == ("bnb-int8", "bnb-nf4")


ERRORS = [
    pytest.param("models: {a: /m}\ncompressions: [bnb-int8, bnb-nf5]\n", "compressions[1]",
                 ["unknown compression 'bnb-nf5'", "did you mean bnb-nf4"], id="unknown-compression"),
    pytest.param("models: {a: /m}\ncompressions: [dense, bnb-nf4]\n", "compressions[0]",
                 ["'dense' is the reference"], id="dense-refused"),
    pytest.param("models: {a: /m}\ncompressions: [4]\n", "compressions[0]", ["expected a compression name"],
                 id="compression-not-string"),
    pytest.param("models: {a: /m}\ncompressions: bnb-nf4\n", "compressions", ["expected a non-empty list"],
                 id="compressions-string"),
    pytest.param("models: {a: /m}\ncompressions: []\n", "compressions", ["non-empty list"], id="no-compressions"),
    pytest.param("model: {a: /m}\nmodels: {a: /m}\ncompressions: [bnb-nf4]\n", "model", ["unknown key"],
                 id="unknown-key"),
    pytest.param("protocol: letters\nmodels: {a: /m}\ncompressions: [bnb-nf4]\n", "protocol",
                 ["unknown protocol 'letters'"], id="bad-protocol"),
    pytest.param("models: {}\ncompressions: [bnb-nf4]\n", "models", ["non-empty mapping"], id="no-models"),
    pytest.param("models: [a]\ncompressions: [bnb-nf4]\n", "models", ["non-empty mapping"], id="models-list"),
    pytest.param("models: {Big Model: /m}\ncompressions: [bnb-nf4]\n", "models.Big Model",
                 ["model names are lowercase"], id="bad-model-name"),
    pytest.param("models: {a: 3}\ncompressions: [bnb-nf4]\n", "models.a", ["expected a model spec string"],
                 id="spec-not-string"),
    pytest.param("[a, b]\n", "", ["expected a mapping"], id="not-a-mapping"),
    pytest.param("models: {a: /m\n", "", ["invalid YAML"], id="invalid-yaml"),
]


@pytest.mark.parametrize(("text", "key", "needles"), ERRORS)
def test_validation_errors_name_file_and_key(tmp_path: Path, text: str, key: str, needles: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        pairs.load(path)
    assert info.value.where == str(path) and info.value.key == key
    assert str(info.value).startswith(f"{path}: {key + ': ' if key else ''}")
    for needle in needles:
        assert needle in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pairs file not found"):
        pairs.load(tmp_path / "nope.yaml")


def test_narrow_to_one_model(pairs_file: Path) -> None:
    loaded = pairs.load(pairs_file, models=("beta",))
    assert loaded.models == {"beta": "/models/beta"}
    assert [p.id for p in loaded.pairs()] == ["beta/bnb-nf4", "beta/bnb-int8"]


def test_add_a_model_with_name_equals_spec(pairs_file: Path) -> None:
    loaded = pairs.load(pairs_file, models=("alpha", "gamma=hf:org/gamma@main"))
    assert loaded.models == {"alpha": "embedded:smollm2-135m", "gamma": "hf:org/gamma@main"}


@pytest.mark.parametrize(("spec", "name"), [
    ("/models/My-Model/", "my-model"), ("embedded:smollm2-135m", "smollm2-135m"), ("/w/tiny.gguf", "tiny")])
def test_a_bare_spec_is_added_under_a_derived_name(pairs_file: Path, spec: str, name: str) -> None:
    assert pairs.load(pairs_file, models=(spec,)).models == {name: spec}


def test_compressions_override(pairs_file: Path) -> None:
    loaded = pairs.load(pairs_file, compressions=("bnb-int8",))
    assert loaded.compressions == ("bnb-int8",)
    assert [p.id for p in loaded.pairs()] == ["alpha/bnb-int8", "beta/bnb-int8"]


@pytest.mark.parametrize(("override", "needle"), [("bnb-int4", "did you mean"), (DENSE, "is the reference")])
def test_bad_compression_override(pairs_file: Path, override: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        pairs.load(pairs_file, compressions=("bnb-nf4", override))
    assert info.value.where == "--medcheck-compression" and info.value.key == override
    assert needle in str(info.value)


def test_protocol_override(pairs_file: Path) -> None:
    assert pairs.load(pairs_file, protocol="letter").protocol == "letter"
    assert pairs.load(pairs_file).protocol == "option-text"


def test_bad_protocol_override(pairs_file: Path) -> None:
    with pytest.raises(ConfigError, match="unknown protocol 'optiontext'"):
        pairs.load(pairs_file, protocol="optiontext")


def test_trust_remote_code_list(tmp_path: Path) -> None:
    loaded = pairs.load(write(tmp_path, BASE + "trust_remote_code: [beta]\n"))
    assert loaded.trust_remote_code == ("beta",)
    assert pairs.load(write(tmp_path, BASE)).trust_remote_code == ()
