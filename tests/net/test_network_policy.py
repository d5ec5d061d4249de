"""The one network policy (medcheck.net) as every client meets it: loopback only, no proxies and no
redirects unless `--medcheck-allow-network`; the API key sent as a bearer token and written nowhere.

Servers are local `http.server`s; a proxy is one of them standing in for `http_proxy`. A remote
host is only ever named (`*.invalid`, TEST-NET addresses): the socket guard of
tests/faults/test_offline_by_default.py proves that nothing is tried for it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from medcheck.backends.openai import Client, Endpoint, ServerError
from medcheck.net import ENV_ALLOW, NetworkRefused, Policy, api_key, is_loopback
from medcheck.trust.refusal import judge_from_setting
from tests.faults.test_offline_by_default import NetworkUsed

KEY = "sk-medcheck-test-5f2c9a1e7b"      # searched for, byte for byte, in every file a run writes
KEY_VARIABLES = ("MEDCHECK_API_KEY", "OPENAI_API_KEY", "MEDCHECK_JUDGE_API_KEY")
SERVED = ("m", "m-rtn-w8", "refusal-judge")   # the dense model, its rtn-w8 candidate, the judge
ANSWER = "I'm sorry, but I cannot choose between these. A"


class Recorder(BaseHTTPRequestHandler):
    """Answers as an OpenAI-compatible server (models, chat) and records each request's path and key.

    /redirect sends to /target; /echo-401 refuses, echoing the Authorization header back as servers
    sometimes do; a request for an absolute URL (a proxy's) is answered like any other."""

    seen: ClassVar[list[dict[str, Any]]] = []

    def _answer(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else {}
        Recorder.seen.append({"server": self.server.server_address[1], "path": self.path,
                              "auth": self.headers.get("Authorization"), "model": body.get("model")})
        if self.path.endswith("/redirect"):
            self._answer(302, {}, {"Location": "/target"})
        elif self.path.endswith("/echo-401"):
            self._answer(401, {"error": f"bad key in {self.headers.get('Authorization')}"})
        elif self.path.endswith("/chat/completions") and body.get("stream"):
            self._stream(ANSWER)
        elif self.path.endswith("/chat/completions"):
            # a refusal judge: "yes" when the judged response apologises (also the backend's template probe)
            content = body["messages"][-1]["content"].split("Response:\n", 1)[-1]
            self._answer(200, {"choices": [{"message": {"content": "yes" if "sorry" in content else "no"}}]})
        else:
            self._answer(200, {"data": [{"id": m} for m in SERVED], "path": self.path})

    def _stream(self, text: str) -> None:
        """A streamed chat answer, a word an event, then the usage (server-sent events; HTTP/1.0 closes)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        words = text.split(" ")
        events = [{"choices": [{"delta": {"content": w + " "}, "finish_reason": None}]} for w in words]
        events += [{"choices": [{"delta": {}, "finish_reason": "stop", "stop_reason": None}]},
                   {"choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": len(words)}}]
        for event in events:
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    do_GET = do_POST = _handle

    def log_message(self, *args: object) -> None:
        pass


def _serve() -> tuple[HTTPServer, str]:
    httpd = HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.seen.clear()
    httpd, url = _serve()
    yield url
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A recording server named as the environment's proxy (what urllib would use by default)."""
    httpd, url = _serve()
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, url)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ENV_ALLOW, *KEY_VARIABLES):
        monkeypatch.delenv(name, raising=False)


# -- the policy ---------------------------------------------------------------------------------
def test_loopback_is_127_0_0_0_8_ipv6_loopback_and_localhost() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.45.6.7", "::1", "localhost", "LOCALHOST"))
    assert not any(is_loopback(h) for h in ("10.0.0.1", "0.0.0.0", "example.org", "localhost.example.org"))


def test_a_remote_host_is_refused_with_its_name_and_the_option(no_network: list[str]) -> None:
    with pytest.raises(NetworkRefused) as info:
        Policy().open("http://gpu-box.invalid:8000/v1/models", "model server")
    assert "gpu-box.invalid" in str(info.value) and "--medcheck-allow-network" in str(info.value)
    assert no_network == []                                       # refused before any lookup or socket
    assert Policy(allow_network=True).check("http://gpu-box.invalid:8000/v1/models", "model server")
    with pytest.raises(NetworkRefused, match="huggingface.co needs network access"):
        Policy().hand_off("https://huggingface.co/org/model", "model spec", key="hf:org/model")


def test_the_flag_reaches_the_policy_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Policy.from_env() == Policy(False)
    for value, allowed in (("1", True), ("0", False), ("", False)):
        monkeypatch.setenv(ENV_ALLOW, value)
        assert Policy.from_env() == Policy(allowed)


def test_no_proxy_from_the_environment_unless_allowed(server: str, proxy: int) -> None:
    with Policy().open(f"{server}/v1/models", "test") as response:
        assert json.loads(response.read())["path"] == "/v1/models"
    assert [s["server"] for s in Recorder.seen] == [int(server.rsplit(":", 1)[1])]   # straight to the server
    Recorder.seen.clear()
    # allowed: a remote host goes through the environment's proxy (the name is never looked up here)
    with Policy(allow_network=True).open("http://models.invalid/v1/models", "test") as response:
        assert json.loads(response.read())["path"] == "http://models.invalid/v1/models"
    assert [s["server"] for s in Recorder.seen] == [proxy]


def test_no_redirect_unless_allowed_and_the_key_never_follows_one(server: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDCHECK_API_KEY", KEY)
    with pytest.raises(NetworkRefused, match="redirects to .*/target") as info:
        Policy().open(f"{server}/v1/redirect", "test", send_key=True)
    assert KEY not in str(info.value)
    Recorder.seen.clear()
    with Policy(allow_network=True).open(f"{server}/v1/redirect", "test", send_key=True) as response:
        assert json.loads(response.read())["path"] == "/target"
    assert [(s["path"], s["auth"]) for s in Recorder.seen] == [("/v1/redirect", f"Bearer {KEY}"), ("/target", None)]


# -- the API key --------------------------------------------------------------------------------
def test_key_variables_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert api_key() is None
    monkeypatch.setenv("OPENAI_API_KEY", "from-openai")
    assert api_key() == "from-openai"
    monkeypatch.setenv("MEDCHECK_API_KEY", "from-medcheck")
    assert api_key() == "from-medcheck"
    monkeypatch.setenv("MEDCHECK_JUDGE_API_KEY", "from-judge")
    assert api_key() == "from-medcheck" and api_key("MEDCHECK_JUDGE_API_KEY") == "from-judge"


@pytest.mark.parametrize("variable", ["MEDCHECK_API_KEY", "OPENAI_API_KEY"])
def test_the_backend_sends_the_key_as_a_bearer_token(server: str, monkeypatch: pytest.MonkeyPatch,
                                                     variable: str) -> None:
    monkeypatch.setenv(variable, KEY)
    Client(Endpoint(f"{server}/v1", "m"), retries=0).get("/models")
    assert Recorder.seen[-1]["auth"] == f"Bearer {KEY}"


def test_the_key_is_never_in_an_error_message(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDCHECK_API_KEY", KEY)
    with pytest.raises(ServerError, match="HTTP 401") as info:
        Client(Endpoint(f"{server}/v1", "m"), retries=0).get("/echo-401")
    assert KEY not in str(info.value) and "***" in str(info.value) and "MEDCHECK_API_KEY" in str(info.value)


# -- the refusal judge --------------------------------------------------------------------------
def test_the_judge_is_refused_a_remote_host_without_the_flag(no_network: list[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    setting = "openai:http://judge.invalid:8000/v1/refusal-judge"
    with pytest.raises(NetworkRefused) as info:
        judge_from_setting(setting)
    assert "judge.invalid" in str(info.value) and "--medcheck-allow-network" in str(info.value)
    assert "refusal judge" in str(info.value) and no_network == []
    # with the flag (as the pytest layer exports it) the judge is built and its request is tried
    monkeypatch.setenv(ENV_ALLOW, "1")
    judge = judge_from_setting(setting)
    with pytest.raises(NetworkUsed):
        judge.refusals(["I am sorry, I cannot help."])
    assert no_network


def test_the_judge_on_loopback_gets_the_key(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDCHECK_API_KEY", KEY)
    judge = judge_from_setting(f"openai:{server}/v1/refusal-judge")
    assert judge.refusals(["I'm sorry, I can't.", "Insulin lowers glucose."]) == [True, False]
    assert {s["auth"] for s in Recorder.seen} == {f"Bearer {KEY}"}


# -- a whole run --------------------------------------------------------------------------------
def test_a_run_sends_the_key_and_writes_it_nowhere(gate: Any, server: str, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    """The trust track's ethics dimension through the openai backend, a model and its candidate served
    by the local server, whose judge is asked about every high-ambiguity answer: the key reaches both."""
    from medcheck.trust.refusal import ENV

    monkeypatch.setenv("MEDCHECK_API_KEY", KEY)
    monkeypatch.setenv(ENV, "patterns")          # restored after the test: the in-process run sets it
    cache = tmp_path_factory.mktemp("key-cache")
    run = gate.run("--medcheck-backend", "openai", "--medcheck-model", f"m=openai:{server}/v1/m",
                   "--medcheck-refusal-judge", f"openai:{server}/v1/refusal-judge", "--medcheck-compression",
                   "rtn-w8", cache=cache, tiny=False, path="suites/trust/test_ethics.py")
    asked = {(s["path"], s["model"]) for s in Recorder.seen}
    assert {("/v1/models", None), ("/v1/chat/completions", "m"), ("/v1/chat/completions", "m-rtn-w8"),
            ("/v1/chat/completions", "refusal-judge")} <= asked, run.result.stdout.str()[-3000:]
    assert {s["auth"] for s in Recorder.seen if s["path"].startswith("/v1")} == {f"Bearer {KEY}"}
    report = run.report()
    assert report["runs"] and report["settings"]["backend"] == "openai"
    for score in report["scores"]:   # no teacher forcing through a chat server: recorded, never a pass
        assert "cannot teacher-force" in score["fidelity"]["fidelity_unmeasured"], score
    for verdict in report["verdicts"]:   # and where the file gates fidelity, the verdict says so
        assert (verdict.get("fidelity") or {}).get("fidelity_outcome", "not measured") == "not measured"
    written = [p for root in (run.path, cache) for p in Path(root).rglob("*") if p.is_file()]
    assert {"manifest.json", "junit.xml", "report.json", "samples.jsonl"} <= {p.name for p in written}
    assert [p for p in written if KEY.encode() in p.read_bytes()] == []
    assert KEY not in run.result.stdout.str() + run.result.stderr.str()
