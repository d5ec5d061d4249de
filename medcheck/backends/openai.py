"""OpenAI-compatible server backend: a model someone already serves (vLLM, llama.cpp, TGI, ...).

Model spec `openai:http://host:port/v1/<model>`. Requests go through medcheck.net, the one network
policy: a host other than loopback is refused, and no proxies from the environment or redirects
are used, unless network access is allowed (`--medcheck-allow-network`). A server that wants a key
gets it from MEDCHECK_API_KEY (else OPENAI_API_KEY) as a bearer token, never written anywhere.

* Log-likelihood: `/v1/completions` with `echo: true, logprobs: 1, max_tokens: 1` returns the
  prompt tokens' log-probabilities and each position's top token; the continuation is the tokens
  that end past the context (lm-eval's split: the context's trailing spaces go to the
  continuation). A server without prompt log-probabilities gets an error naming the capability.
* Generation: `/v1/completions`, streamed, so time to first token is measured where it arrives.
* Bounded concurrency (threads), a timeout per request, retries with exponential backoff on
  connection errors, 429 and 5xx.
* Compressions: the server cannot compress; the candidate of compression C is the model the same
  URL serves as `<model>-C` (a router in front of several servers, or vLLM's
  `--served-model-name`). The fingerprint covers every model the server lists.

What the server holds in memory is not observable from here: the efficiency track's memory and
bits need an in-process engine (hf or vllm).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import urllib.error
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from medcheck.backends import Footprint, Generation, GenerationRequest, Loaded, LogLik, OnToken
from medcheck.errors import ConfigError, MedcheckError, ModelLoadError
from medcheck.net import Policy, is_loopback, redact
from medcheck.prompts import Request

if TYPE_CHECKING:
    from medcheck.compression import LoadOptions
    from medcheck.models import ResolvedModel

PREFIX = "openai:"
CLIENT_VERSION = "2"          # bump when the requests this client sends change (2: chat through the server)
CHAT_HEADER = "[the server applies the model's chat template to this user turn]\n"
CONCURRENCY = 4               # requests in flight at once
TIMEOUT_S = 120.0             # per request (a CPU server under load is slow)
RETRIES = 3                   # after the first attempt
BACKOFF_S = 0.5               # doubled after every failed attempt
RETRY_STATUS = (429, 500, 502, 503, 504)


class ServerError(MedcheckError):
    """The server answered with an error, or not at all."""


@dataclass(frozen=True)
class Endpoint:
    base: str     # http://host:port/v1
    model: str

    @property
    def url(self) -> str:
        return f"{self.base}/{self.model}"


def parse_spec(spec: str, *, allow_network: bool = False) -> Endpoint:
    """`openai:http://host:port/v1/<model>` -> Endpoint; refuses other hosts than loopback by default."""
    url = spec.removeprefix(PREFIX)
    parts = urlsplit(url)
    base, sep, model = url.partition("/v1/")
    if parts.scheme not in ("http", "https") or not parts.hostname or not sep or not model.strip("/"):
        raise ConfigError("model spec", spec, "not an OpenAI-compatible server URL",
                          "write openai:http://HOST:PORT/v1/MODEL (MODEL as the server's /v1/models lists it)")
    Policy(allow_network).check(url, "model spec", key=spec)
    return Endpoint(base + "/v1", model.strip("/"))


def policy_for(endpoint: Endpoint) -> Policy:
    """The policy a backend of a resolved model runs under: resolve() refused a host other than
    loopback unless network access was allowed, so such a host here means it was; a loopback
    server keeps the strict policy (no proxies, no redirects)."""
    return Policy(allow_network=not is_loopback(urlsplit(endpoint.base).hostname or ""))


class Client:
    """JSON over HTTP to one endpoint under a network policy (medcheck.net), with timeouts and retries."""

    def __init__(self, endpoint: Endpoint, *, timeout: float = TIMEOUT_S, retries: int = RETRIES,
                 backoff: float = BACKOFF_S, policy: Policy | None = None) -> None:
        self.endpoint, self.timeout, self.retries, self.backoff = endpoint, timeout, retries, backoff
        self.policy = policy or Policy()

    def _open(self, path: str, body: dict[str, Any] | None) -> Any:
        url = f"{self.endpoint.base}{path}"
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(self.retries + 1):
            try:
                return self.policy.open(url, f"OpenAI-compatible server {self.endpoint.base}", body=data,
                                        headers={"Content-Type": "application/json"}, send_key=True,
                                        timeout=self.timeout)
            except urllib.error.HTTPError as exc:
                detail = redact(exc.read().decode(errors="replace")[:500])
                if exc.code not in RETRY_STATUS or attempt == self.retries:
                    hint = "\n  set MEDCHECK_API_KEY (or OPENAI_API_KEY) to the server's key" \
                        if exc.code in (401, 403) else ""
                    raise ServerError(f"{url}: HTTP {exc.code}: {detail}{hint}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == self.retries:
                    raise ServerError(f"{url}: no answer after {attempt + 1} attempts ({redact(str(exc))})\n"
                                      "  is the server running and listening there?") from None
            time.sleep(self.backoff * 2 ** attempt)
        raise AssertionError("unreachable")

    def get(self, path: str) -> Any:
        with self._open(path, None) as response:
            return json.loads(response.read())

    def post(self, path: str, body: dict[str, Any]) -> Any:
        with self._open(path, body) as response:
            return json.loads(response.read())

    def stream(self, path: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Server-sent events of a streamed request, one JSON object each."""
        with self._open(path, {**body, "stream": True}) as response:
            for raw in response:
                line = raw.decode().strip()
                if not line.startswith("data:"):
                    continue
                payload = line.removeprefix("data:").strip()
                if payload == "[DONE]":
                    return
                yield json.loads(payload)


def _entry(entry: dict[str, Any]) -> dict[str, Any]:
    # `created` is the time of the request on some servers: not part of the identity.
    return {k: v for k, v in entry.items() if k not in ("created", "permission")}


def identity(endpoint: Endpoint, client: Client | None = None, *, allow_network: bool = False) -> dict[str, Any]:
    """What the server says about the model, every model it serves and itself: enters the
    fingerprint (so a changed candidate behind the same URL is never taken for the old one)."""
    client = client or Client(endpoint, retries=1, policy=Policy(allow_network))
    listed = [_entry(m) for m in client.get("/models").get("data", [])]
    entry = next((m for m in listed if m.get("id") == endpoint.model), None)
    if entry is None:
        raise ModelLoadError(f"{endpoint.base} does not serve {endpoint.model!r}\n"
                             f"  it serves: {', '.join(str(m.get('id')) for m in listed) or 'nothing'}")
    found: dict[str, Any] = {**entry, "served": sorted(listed, key=lambda m: str(m.get("id")))}
    root = Client(Endpoint(endpoint.base.removesuffix("/v1"), endpoint.model), retries=0, policy=client.policy)
    with contextlib.suppress(ServerError, ValueError, AttributeError):   # not every server has /version
        found["server_version"] = root.get("/version").get("version")
    return found


def candidate(endpoint: Endpoint, compression: str) -> Endpoint:
    """The served model that stands for `compression`: `<model>-<compression>` behind the same URL."""
    return Endpoint(endpoint.base, f"{endpoint.model}-{compression}")


def fingerprint(endpoint: Endpoint, found: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps({"url": endpoint.url, **found}, sort_keys=True).encode()).hexdigest()


class OpenAIBackend:
    """Scores and generates through an OpenAI-compatible server; see the module docstring."""

    name = "openai"

    @staticmethod
    def version() -> str:
        return f"openai-compatible client {CLIENT_VERSION} (the server's identity is in the model fingerprint)"

    @staticmethod
    def runtime(dtype: str, device: str) -> tuple[str, str]:
        return "server", "server"   # the server decides both

    @classmethod
    def load(cls, label: str, model: ResolvedModel, compression: str, options: LoadOptions, *,
             batch_tokens: int = 8192) -> Loaded:
        from medcheck.compression import DENSE

        if model.kind != "openai":
            raise ConfigError("model spec", model.spec, "the openai backend talks to a server",
                              "give the model as openai:http://HOST:PORT/v1/MODEL, or use --medcheck-backend hf")
        endpoint = parse_spec(model.spec, allow_network=True)   # resolve() already checked the host
        if compression != DENSE:
            endpoint = candidate(endpoint, compression)
        t0 = time.perf_counter()
        backend = cls(endpoint, concurrency=int(options.extra.get("concurrency", CONCURRENCY)),
                      timeout=float(options.extra.get("timeout_s", TIMEOUT_S)), policy=policy_for(endpoint))
        try:
            backend.server = identity(endpoint, backend.client)
        except ModelLoadError as exc:
            if compression == DENSE:
                raise
            raise ConfigError("compression", compression, f"no served model stands for it ({exc})",
                              f"serve the {compression} model as {endpoint.model!r} behind {endpoint.base} "
                              "(vLLM: --served-model-name), or use --medcheck-backend hf or vllm") from None
        return Loaded(backend, {"seconds": round(time.perf_counter() - t0, 2), "strategy": "openai server",
                                "fallback": False, "attempts": [], "server": backend.server, "url": endpoint.url})

    def __init__(self, endpoint: Endpoint, *, concurrency: int = CONCURRENCY, timeout: float = TIMEOUT_S,
                 retries: int = RETRIES, backoff: float = BACKOFF_S, policy: Policy | None = None) -> None:
        self.endpoint = endpoint
        self.client = Client(endpoint, timeout=timeout, retries=retries, backoff=backoff, policy=policy)
        self.concurrency = max(1, concurrency)
        self.server: dict[str, Any] = {}
        self._chats: dict[str, str] = {}        # prompt returned by chat() -> its user turn
        self._template: bool | None = None      # whether the server renders a chat template

    def _map(self, fn: Callable[[int], Any], n: int) -> list[Any]:
        with ThreadPoolExecutor(max_workers=min(self.concurrency, max(n, 1))) as pool:
            return list(pool.map(fn, range(n)))

    # -- scoring --------------------------------------------------------------------------------
    def loglikelihood(self, requests: Sequence[Request],
                      progress: Callable[[int], None] | None = None) -> list[LogLik]:
        def one(i: int) -> LogLik:
            result = self._score(requests[i])
            if progress:
                progress(1)
            return result

        return self._map(one, len(requests))

    def _score(self, request: Request) -> LogLik:
        context = request.context.rstrip(" ")
        prompt = context + request.context[len(context):] + request.continuation
        body = {"model": self.endpoint.model, "prompt": prompt, "max_tokens": 1, "temperature": 0.0,
                "echo": True, "logprobs": 1}
        try:
            answer = self.client.post("/completions", body)
        except ServerError as exc:
            raise self._missing(f"the server refused the request ({exc})") from None
        choice = (answer.get("choices") or [{}])[0]
        lp = choice.get("logprobs") or {}
        tokens, values = lp.get("tokens") or [], lp.get("token_logprobs") or []
        offsets, tops = lp.get("text_offset") or [], lp.get("top_logprobs") or []
        n = (answer.get("usage") or {}).get("prompt_tokens") or sum(o < len(prompt) for o in offsets)
        if not (tokens and offsets and tops and len(values) >= n > 1):
            raise self._missing("the answer has no log-probabilities for the prompt tokens")
        # Continuation: the prompt tokens that end past the context (at least the last one).
        start = next((k for k in range(n) if offsets[k] + len(tokens[k]) > len(context)), n - 1)
        start = max(start, 1)   # the first prompt token has no log-probability
        total, greedy = 0.0, True
        for k in range(start, n):
            if values[k] is None:
                raise self._missing(f"prompt token {k} has no log-probability")
            total += values[k]
            best = max((tops[k] or {}).values(), default=values[k])
            greedy = greedy and values[k] >= best - 1e-6
        return LogLik(total, greedy, n - start, start)

    def _missing(self, why: str) -> ServerError:
        return ServerError(
            f"{self.endpoint.url}: log-likelihood scoring needs prompt log-probabilities from /v1/completions "
            f"(echo: true, logprobs: 1, max_tokens: 1); {why}\n"
            "  serve the model with a server that offers them (vLLM's OpenAI server does), "
            "or score it in process with --medcheck-backend hf or vllm")

    # -- generation -----------------------------------------------------------------------------
    def generate(self, requests: Sequence[GenerationRequest], on_token: OnToken | None = None) -> list[Generation]:
        return self._map(lambda i: self._generate(i, requests[i], on_token), len(requests))

    def _generate(self, index: int, request: GenerationRequest, on_token: OnToken | None) -> Generation:
        user = self._chats.get(request.prompt)
        path, where = ("/chat/completions", {"messages": [{"role": "user", "content": user}]}) if user is not None \
            else ("/completions", {"prompt": request.prompt})
        body: dict[str, Any] = {"model": self.endpoint.model, **where,
                                "max_tokens": request.max_new_tokens, "temperature": request.temperature,
                                "top_p": request.top_p, "seed": request.seed,
                                "stream_options": {"include_usage": True}}
        if request.stop:
            body["stop"] = list(request.stop)
        if request.min_new_tokens:
            body["min_tokens"] = request.min_new_tokens   # a vLLM extension; others may refuse it
        text: list[str] = []
        chunks, first, finish = 0, None, None
        usage: dict[str, Any] = {}
        stop_reason: Any = "unreported"   # vLLM reports the matched stop string, or None for eos
        t0 = time.perf_counter()
        try:
            for event in self.client.stream(path, body):
                usage = event.get("usage") or usage
                for choice in event.get("choices") or []:
                    now = time.perf_counter()
                    piece = choice.get("text") if user is None else (choice.get("delta") or {}).get("content")
                    if piece:
                        text.append(piece)
                        chunks += 1
                        first = first or now
                        if on_token:
                            on_token(index, now)
                    finish = choice.get("finish_reason") or finish
                    stop_reason = choice.get("stop_reason", stop_reason)
        except ServerError as exc:
            extra = " (min_tokens is a vLLM extension of the API)" if request.min_new_tokens else ""
            raise ServerError(f"{self.endpoint.url}: generation failed{extra}: {exc}") from None
        seconds = time.perf_counter() - t0
        if finish == "length":
            kind = "length"
        elif stop_reason == "unreported":   # the API does not say whether a stop string or eos ended it
            kind = "stop" if request.stop else "eos"
        else:
            kind = "stop" if isinstance(stop_reason, str) else "eos"
        new = usage.get("completion_tokens") or chunks
        if kind == "eos" and new > chunks:   # the end-of-sequence token is counted but has no text
            new -= 1
        return Generation("".join(text), int(new), int(usage.get("prompt_tokens") or 0), kind, seconds,
                          None if first is None else first - t0)

    def chat(self, user: str) -> tuple[str, bool]:
        """The user turn for the server to render with the model's chat template (generation then goes
        through /v1/chat/completions); where the server has no template, the plain Question/Answer
        prompt through /v1/completions, as the transformers backend does for a model without one.
        The returned prompt is what the record keeps: it says that the server applied the template."""
        from medcheck.backends.hf_generate import chat

        if not self._has_template():
            return chat(None, user)
        prompt = f"{CHAT_HEADER}{user}"
        self._chats[prompt] = user
        return prompt, True

    def _has_template(self) -> bool:
        """Asked once: whether the served model answers a chat request (a base model without a chat
        template is refused with HTTP 400 by vLLM and most servers)."""
        if self._template is None:
            try:
                self.client.post("/chat/completions", {"model": self.endpoint.model, "max_tokens": 1,
                                                       "messages": [{"role": "user", "content": "Hello"}]})
                self._template = True
            except ServerError as exc:
                if "HTTP 4" not in str(exc):
                    raise
                self._template = False
        return self._template

    # -- what the efficiency track measures -----------------------------------------------------
    def footprint(self) -> Footprint:
        raise ServerError(f"{self.endpoint.url}: a server's memory and weight bits are not observable over its "
                          "API\n  measure efficiency in process with --medcheck-backend hf or vllm")

    def peak_memory(self, run: Callable[[], object]) -> tuple[int, str]:
        return self.footprint().weight_bytes, ""

    def describe(self) -> dict[str, object]:
        return {"backend": self.name, "url": self.endpoint.url, "client": CLIENT_VERSION,
                "concurrency": self.concurrency, "timeout_s": self.client.timeout, "server": self.server}

    def close(self) -> None: ...
