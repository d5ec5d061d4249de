"""Safe by default: without --medcheck-allow-network nothing opens a socket.

A guard makes every outgoing connection (and name lookup) raise and records it; the evaluator is
then asked for models that would need the network: a hub id, a remote OpenAI-compatible server, a
hub checkpoint as the compression. Each must end in a clear ConfigError before any socket is
tried. A tiny local model is evaluated under the same guard, from load to scores. Remote code is
in test_remote_code.py beside this file; pickle weights in tests/plugin/test_options.py.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from medcheck import pairs
from medcheck.errors import ConfigError
from medcheck.evaluate import Evaluator
from medcheck.settings import Settings
from medcheck.store import ResultStore


class NetworkUsed(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every connect or lookup raises NetworkUsed; the list records what was tried."""
    tried: list[str] = []

    def refuse(what: str):
        def guard(*args, **kwargs):
            tried.append(f"{what}{args[1:] if what.startswith('socket.') else args}")
            raise NetworkUsed(f"network used: {tried[-1]}")
        return guard

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    return tried


def _evaluator(tmp_path: Path, model_spec: str, compression: str = "rtn-w8", **settings) -> Evaluator:
    pairs_file = tmp_path / "pairs.yaml"
    pairs_file.write_text(f"protocol: option-text\nmodels:\n  candidate: '{model_spec}'\n"
                          f"compressions: ['{compression}']\n")
    chosen = Settings(limit=3, cache_dir=tmp_path / "cache", dtype="float32", device="cpu", **settings)
    return Evaluator(chosen, pairs.load(pairs_file), ResultStore(None))


@pytest.mark.parametrize("spec", ["hf:HuggingFaceTB/SmolLM2-135M-Instruct", "hf:org/name@main",
                                  "openai:http://gpu-box.example.org:8000/v1/medllm",
                                  "openai:https://93.184.216.34/v1/medllm"])
def test_a_remote_model_without_allow_network_fails_before_any_socket(tmp_path: Path, no_network: list[str],
                                                                      spec: str) -> None:
    evaluator = _evaluator(tmp_path, spec)
    assert evaluator.settings.allow_network is False          # the default
    with pytest.raises(ConfigError, match="allow-network") as info:
        evaluator.evaluate(evaluator.pairs.pairs()[0], "medqa")
    assert spec in str(info.value)
    assert no_network == []


def test_a_hub_checkpoint_as_compression_fails_before_any_socket(tmp_path: Path, no_network: list[str],
                                                                 tiny_model_dir: Path) -> None:
    evaluator = _evaluator(tmp_path, str(tiny_model_dir), compression="checkpoint:hf:org/quantized-gptq")
    with pytest.raises(ConfigError, match="allow-network"):
        evaluator.evaluate(evaluator.pairs.pairs()[0], "medqa")
    assert no_network == []


def test_a_local_model_is_loaded_and_scored_without_network(tmp_path: Path, no_network: list[str],
                                                           tiny_model_dir: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):   # offline must not depend on these
        monkeypatch.delenv(variable, raising=False)
    evaluator = _evaluator(tmp_path, str(tiny_model_dir))
    result = evaluator.evaluate(evaluator.pairs.pairs()[0], "medqa")
    evaluator.release()
    assert len(result.dense.records) == len(result.candidate.records) == 3
    assert no_network == []
