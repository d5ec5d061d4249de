"""Pairs files, threshold files (with their decision rules) and checkpoint configs, broken on purpose.

Each must end in a `MedcheckError` that names the file (and the key where there is one): never a
bare KeyError, TypeError, UnicodeDecodeError or yaml error, and never a half-read object. The
threshold files tried are those in `thresholds/`, each read by the loader its track declares; a
file no track declares is skipped with the reason. What each case produced is in README.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medcheck import pairs, tracks
from medcheck.compression.checkpoint import detect_format
from medcheck.errors import MedcheckError
from tests.badinput.corrupt import HUGE, INVALID_UTF8, junk

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _threshold_loader(track: tracks.Track) -> Callable[[Path], Any] | None:
    return lambda p: track.load_thresholds(p, ["smollm2-135m"])   # each track reads its own file


def _files() -> dict[str, tuple[Path, Callable[[Path], Any] | None]]:
    out: dict[str, tuple[Path, Callable[[Path], Any] | None]] = {
        "pairs:default.yaml": (REPO / "suites" / "pairs" / "default.yaml", pairs.load)}
    declared = {t.thresholds: t for t in tracks.TRACKS.values()}
    for path in sorted((REPO / "thresholds").glob("*.yaml")):
        track = declared.get(path.name)
        out[f"thresholds:{path.name}"] = (path, _threshold_loader(track) if track else None)
    return out


FILES = _files()


@pytest.fixture(params=sorted(FILES))
def config(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Callable, str]:
    source, loader = FILES[request.param]
    if loader is None:
        pytest.skip(f"{source.name}: no track declares this file, so no loader is known for it")
    path = tmp_path_factory.mktemp("config") / source.name
    text = source.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    loader(path)   # the pristine copy loads: the breakage below is what fails
    return path, loader, text


def _fails_located(loader: Callable[[Path], Any], path: Path, content: bytes, what: str,
                   may_load: bool = False) -> MedcheckError | None:
    path.write_bytes(content)
    try:
        loader(path)
    except MedcheckError as exc:
        assert path.name in str(exc), f"{what}: the error does not name the file: {exc}"
        return exc
    assert may_load, f"{what}: loaded instead of failing"
    return None


BROKEN = {
    "empty": lambda text: b"",
    "latin-1": lambda text: ("# r\u00e9sum\u00e9\n" + text).encode("latin-1", errors="replace"),
    "utf-16": lambda text: text.encode("utf-16"),
    "nul-bytes": lambda text: text.encode() + b"\x00",
    "not-yaml": lambda text: b"{[: ::\n\t- ]",
    "a-list": lambda text: b"- 1\n- 2\n",
    "a-scalar": lambda text: b"0.9\n",
    "duplicate-top-key": lambda text: (text + "\n" + _first_top_block(text)).encode(),
}


def _first_top_block(text: str) -> str:
    """The first top-level key with its indented body: appended again, it repeats that key."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    block = [lines[0]]
    for line in lines[1:]:
        if not line.startswith((" ", "\t")):
            break
        block.append(line)
    return "\n".join(block) + "\n"


@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_broken_config_file_fails_naming_it(config: tuple[Path, Callable, str], breakage: str) -> None:
    path, loader, text = config
    _fails_located(loader, path, BROKEN[breakage](text), breakage)


@pytest.mark.parametrize("replacement", ["missing", "directory"])
def test_missing_config_file_or_a_folder_fails(config: tuple[Path, Callable, str], replacement: str) -> None:
    path, loader, _ = config
    path.unlink()
    if replacement == "directory":
        path.mkdir()
    with pytest.raises(MedcheckError, match=path.name):
        loader(path)


@EXAMPLES
@given(data=st.data())
def test_bytes_damage_fails_located(config: tuple[Path, Callable, str], data: st.DataObject) -> None:
    path, loader, text = config
    raw = text.encode()
    if data.draw(st.booleans(), label="truncate"):
        at = data.draw(st.integers(0, len(raw) - 1), label="cut")
        _fails_located(loader, path, raw[:at], f"cut at {at}", may_load=True)   # a cut between keys can be valid
    else:
        at = data.draw(st.integers(0, len(raw)), label="offset")
        bad = data.draw(st.sampled_from(INVALID_UTF8), label="bytes")
        _fails_located(loader, path, raw[:at] + bad + raw[at:], f"{bad!r} at {at}")


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path into a nested mapping/list document."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@EXAMPLES
@given(data=st.data())
def test_structural_damage_fails_naming_the_key(config: tuple[Path, Callable, str], data: st.DataObject) -> None:
    path, loader, text = config
    document = yaml.safe_load(text)
    where = data.draw(st.sampled_from(_paths(document)), label="key path")
    parent = document
    for step in where[:-1]:
        parent = parent[step]
    kind = data.draw(st.sampled_from(["set", "delete", "unknown-key"]), label="mutation")
    if kind == "delete":
        del parent[where[-1]]
    elif kind == "unknown-key" and isinstance(parent, dict):
        parent[data.draw(st.sampled_from(["colour", "Default", "medqa ", "bnb-nf5", "none"]), label="key")] = 0.9
    else:
        parent[where[-1]] = data.draw(junk, label="value")
    dumped = yaml.safe_dump(document, allow_unicode=True).encode("utf-8", errors="surrogatepass")
    _fails_located(loader, path, dumped, f"{kind} at {'.'.join(map(str, where))}", may_load=True)


# -- the checkpoint detector: config.json of a pre-compressed checkpoint --------------------------------
def _detect(folder: Path, content: bytes) -> str | MedcheckError:
    (folder / "config.json").write_bytes(content)
    try:
        return detect_format(folder)
    except MedcheckError as exc:
        assert "config.json" in str(exc), str(exc)
        return exc


CONFIGS = {
    "not-json": b"{quantization_config: gptq",
    "truncated": b'{"model_type": "llama", "quantization_config": {"quant_method": "gp',
    "latin-1": '{"model_type": "llam\u00e1"}'.encode("latin-1"),
    "utf-16": '{"model_type": "llama"}'.encode("utf-16"),
    "a-list": b'[{"quant_method": "gptq"}]',
    "null": b"null",
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "quantization-config-a-string": b'{"quantization_config": "gptq"}',
    "quantization-config-a-list": b'{"quantization_config": ["gptq", 4]}',
    "quant-method-unknown": b'{"quantization_config": {"quant_method": "int3-magic"}}',
    "quant-method-a-list": b'{"quantization_config": {"quant_method": ["gptq"]}}',
    "quant-method-huge": json.dumps({"quantization_config": {"quant_method": "q" * HUGE}}).encode(),
}


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_checkpoint_detector_refuses_a_broken_config(tmp_path: Path, case: str) -> None:
    found = _detect(tmp_path, CONFIGS[case])
    assert isinstance(found, MedcheckError), f"{case}: detected {found!r}"
    assert len(str(found)) < 1000, "the error repeats a huge field"


@settings(max_examples=50, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quantization=st.one_of(junk, st.dictionaries(st.sampled_from(["quant_method", "bits", "format"]), junk)))
def test_checkpoint_detector_on_any_quantization_config(tmp_path: Path, quantization: Any) -> None:
    content = json.dumps({"model_type": "llama", "quantization_config": quantization}).encode("utf-8", "surrogatepass")
    found = _detect(tmp_path, content)
    if not isinstance(found, MedcheckError):
        assert found in ("plain", "gptq", "awq", "compressed-tensors", "bitsandbytes")
        method = quantization.get("quant_method") if isinstance(quantization, dict) else None
        assert found == "plain" if method in (None, "") or (isinstance(method, float) and math.isnan(method)) \
            else str(method).lower() == found
