"""The openai backend: spec parsing and refusals offline; scoring and generation against vLLM's real
OpenAI-compatible server on loopback, started here (skips, saying why, where it cannot start).

The server runs from the interpreter that has vLLM: this one, or MEDCHECK_VLLM_PYTHON (the venv of
README 'Other engines'), so the test also runs from the main environment.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from medcheck.backends.openai import Client, Endpoint, OpenAIBackend, ServerError, parse_spec
from medcheck.compression import LoadOptions
from medcheck.errors import ConfigError
from medcheck.models import ResolvedModel, resolve
from tests.backends.test_hf import REQUESTS

SERVED = "smollm2"
START_TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- offline ------------------------------------------------------------------------------------
def test_spec_parsing_and_the_loopback_rule():
    endpoint = parse_spec("openai:http://127.0.0.1:8000/v1/org/model-7b")
    assert endpoint == Endpoint("http://127.0.0.1:8000/v1", "org/model-7b")
    assert parse_spec("openai:http://localhost:1/v1/m").model == "m"
    assert parse_spec("openai:http://[::1]:1/v1/m").base == "http://[::1]:1/v1"
    for remote in ("openai:http://10.0.0.5:8000/v1/m", "openai:https://api.example.com/v1/m"):
        with pytest.raises(ConfigError, match="--medcheck-allow-network"):
            parse_spec(remote)
        assert parse_spec(remote, allow_network=True).model == "m"
    for bad in ("openai:127.0.0.1:8000/v1/m", "openai:http://127.0.0.1:8000/m", "openai:http://127.0.0.1/v1/"):
        with pytest.raises(ConfigError, match="openai:http://HOST:PORT/v1/MODEL"):
            parse_spec(bad)


def test_remote_server_is_refused_before_any_request(tmp_path):
    with pytest.raises(ConfigError, match="not this machine"):
        resolve("openai:http://192.0.2.1:8000/v1/m", tmp_path)


def test_unreachable_server_fails_after_retries():
    endpoint = Endpoint(f"http://127.0.0.1:{_free_port()}/v1", "m")   # nothing listens there
    t0 = time.perf_counter()
    with pytest.raises(ServerError, match="no answer after 3 attempts"):
        Client(endpoint, timeout=2, retries=2, backoff=0.05).get("/models")
    assert time.perf_counter() - t0 >= 0.05 + 0.1   # backed off between attempts


def test_local_models_are_refused():
    options = LoadOptions("float32", "cpu")
    local = ResolvedModel("/m", "local", "/m", "fp")
    with pytest.raises(ConfigError, match="openai:http://HOST:PORT/v1/MODEL"):
        OpenAIBackend.load("m", local, "dense", options)


# -- against a real server ----------------------------------------------------------------------
def _server_python() -> str | None:
    if importlib.util.find_spec("vllm") is not None:
        return sys.executable
    candidate = os.environ.get("MEDCHECK_VLLM_PYTHON")
    return candidate if candidate and shutil.which(candidate) else None


@pytest.fixture(scope="module")
def server(embedded_dir, tmp_path_factory):
    """vLLM's OpenAI server on 127.0.0.1 serving the embedded model in float32; its spec."""
    python = _server_python()
    if python is None:
        pytest.skip("no OpenAI-compatible server available: vLLM is not importable here and "
                    "MEDCHECK_VLLM_PYTHON does not name a python that has it (README 'Other engines')")
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}
    cmd = [python, "-m", "vllm.entrypoints.openai.api_server", "--model", str(embedded_dir),
           "--served-model-name", SERVED, f"{SERVED}-rtn-w4", "--host", "127.0.0.1", "--port", str(port),
           "--dtype", "float32",
           "--max-model-len", "2048", "--enforce-eager", "--no-enable-prefix-caching",
           "--gpu-memory-utilization", "0.2"]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    spec = f"openai:http://127.0.0.1:{port}/v1/{SERVED}"
    endpoint = parse_spec(spec)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-1500:]
                pytest.skip(f"vLLM's OpenAI server exited with {process.returncode} on this machine:\n{tail}")
            try:
                Client(endpoint, timeout=5, retries=0).get("/models")
                break
            except ServerError:
                if time.monotonic() > deadline:
                    pytest.skip(f"vLLM's OpenAI server did not answer within {START_TIMEOUT_S} s (log: {log})")
                time.sleep(2)
        yield spec
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def backends(server, embedded_dir, tmp_path_factory):
    from medcheck.backends.hf import HFBackend

    model = resolve(server, tmp_path_factory.mktemp("cache"))
    remote = OpenAIBackend.load("served/dense", model, "dense", LoadOptions("server", "server")).backend
    local = ResolvedModel("embedded:smollm2-135m", "embedded", str(embedded_dir), "fp")
    hf = HFBackend.load("embedded/dense", local, "dense", LoadOptions("float32", "cpu")).backend
    yield remote, hf, model
    hf.close()


def test_fingerprint_comes_from_the_server_and_the_url(server, backends, tmp_path):
    _, _, model = backends
    assert model.kind == "openai" and model.path.endswith(f"/v1/{SERVED}")
    assert resolve(server, tmp_path).fingerprint == model.fingerprint   # stable across requests
    with pytest.raises(Exception, match=f"(?s)does not serve .other.*it serves: {SERVED}"):
        resolve(server.replace(SERVED, "other"), tmp_path)


def test_loglikelihood_matches_hf(backends):
    remote, hf, _ = backends
    for request, got, want in zip(REQUESTS, remote.loglikelihood(REQUESTS), hf.loglikelihood(REQUESTS)):
        assert got.logprob == pytest.approx(want.logprob, abs=2e-3, rel=1e-3), request
        assert got.greedy == want.greedy, request
        assert got.tokens == want.tokens, request


def test_concurrency_keeps_the_order(backends):
    remote, _, _ = backends
    serial = OpenAIBackend(remote.endpoint, concurrency=1).loglikelihood(REQUESTS)
    assert [r.logprob for r in remote.loglikelihood(REQUESTS)] == pytest.approx([r.logprob for r in serial], abs=1e-4)


def test_generation_streams_and_matches_hf(backends):
    from medcheck.backends import GenerationRequest

    remote, hf, _ = backends
    question = "Which organ produces insulin?"
    (prompt, templated), (local, local_templated) = remote.chat(question), hf.chat(question)
    assert templated and local_templated and question in prompt   # the server renders the model's template
    seen: list[float] = []
    (got,) = remote.generate([GenerationRequest(prompt, max_new_tokens=10)], on_token=lambda i, t: seen.append(t))
    (want,) = hf.generate([GenerationRequest(local, max_new_tokens=10)])
    assert got.text == want.text and got.new_tokens == want.new_tokens
    assert got.prompt_tokens == want.prompt_tokens                # the same template, token for token
    assert seen and got.ttft_s is not None and 0 < got.ttft_s <= got.seconds
    fixed, = remote.generate([GenerationRequest(prompt, max_new_tokens=5, min_new_tokens=5)])
    assert (fixed.new_tokens, fixed.finish) == (5, "length")
    stop = want.text.split()[1]
    cut, = remote.generate([GenerationRequest(prompt, max_new_tokens=10, stop=(stop,))])
    assert cut.finish == "stop" and stop not in cut.text and want.text.startswith(cut.text)
    plain, = remote.generate([GenerationRequest(f"Question: {question}\nAnswer:", max_new_tokens=10)])
    plain_hf, = hf.generate([GenerationRequest(f"Question: {question}\nAnswer:", max_new_tokens=10)])
    assert plain.text == plain_hf.text                              # a prompt not from chat(): completions


def test_a_compression_is_a_model_served_under_its_name(backends):
    remote, _, model = backends
    options = LoadOptions("server", "server")
    alias = OpenAIBackend.load("served/rtn-w4", model, "rtn-w4", options).backend   # served as an alias here
    assert alias.endpoint.model == f"{SERVED}-rtn-w4"
    assert alias.loglikelihood(REQUESTS[:2]) == remote.loglikelihood(REQUESTS[:2])
    with pytest.raises(ConfigError, match=f"serve the wanda-50 model as '{SERVED}-wanda-50'"):
        OpenAIBackend.load("served/wanda-50", model, "wanda-50", options)


def test_memory_is_not_observable_over_the_api(backends):
    remote, _, _ = backends
    with pytest.raises(ServerError, match="--medcheck-backend hf or vllm"):
        remote.footprint()
    assert remote.describe()["server"]["id"] == SERVED

