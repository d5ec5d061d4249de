"""One network policy for every request medcheck sends: model servers, refusal judges, hub downloads.

By default only this machine is reached: loopback hosts (127.0.0.0/8, ::1, `localhost`), no
proxies from the environment (`http_proxy`, ...), no redirects followed. `--medcheck-allow-network`
(`Settings.allow_network`) lifts all three. The pytest layer exports the setting as
`MEDCHECK_ALLOW_NETWORK` so that code that has no Settings at hand (the refusal judge, which is
named by an environment variable too) and xdist workers apply the same policy. A refused request
fails before any socket is opened or name looked up, naming the host and the option.

An OpenAI-compatible server that wants a key gets `Authorization: Bearer <key>`, the key read
from `MEDCHECK_API_KEY`, else `OPENAI_API_KEY` (a judge's own `MEDCHECK_JUDGE_API_KEY` first).
It goes only to the URL's own host (never forwarded on a redirect) and is never logged, put in an
error message or written to a record: `redact` scrubs it from any text that came back from a
server. Standard library only (urllib).
"""

from __future__ import annotations

import ipaddress
import os
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from medcheck.errors import ConfigError

OPTION = "--medcheck-allow-network"
ENV_ALLOW = "MEDCHECK_ALLOW_NETWORK"
KEY_VARIABLES = ("MEDCHECK_API_KEY", "OPENAI_API_KEY")
LOOPBACK = "127.0.0.0/8, ::1, localhost"


class NetworkRefused(ConfigError):
    """A request the network policy does not allow; raised before any socket is opened."""


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:   # a name: not resolved here (a lookup is a request too)
        return False


def api_key(*first: str) -> str | None:
    """The API key from the first set of `first` (e.g. a judge's own variable), then KEY_VARIABLES."""
    return next((os.environ[v] for v in (*first, *KEY_VARIABLES) if os.environ.get(v)), None)


def redact(text: str, *first: str) -> str:
    """`text` with every configured key replaced by `***` (a server may echo the header back)."""
    for variable in (*first, *KEY_VARIABLES):
        if key := os.environ.get(variable):
            text = text.replace(key, "***")
    return text


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        raise NetworkRefused(req.full_url, "redirect", f"the server redirects to {newurl}; redirects are not "
                             "followed while network access is off (requests go only to the URL given)",
                             f"give the final URL instead, or pass {OPTION} to follow redirects")


@dataclass(frozen=True)
class Policy:
    """What may be reached; see the module docstring."""

    allow_network: bool = False

    @classmethod
    def from_env(cls) -> Policy:
        """The policy the pytest layer exported (MEDCHECK_ALLOW_NETWORK); loopback only when unset."""
        return cls(os.environ.get(ENV_ALLOW, "").strip().lower() in ("1", "true", "yes"))

    def check(self, url: str, what: str, key: str | None = None) -> SplitResult:
        """The URL's parts if the policy allows a request to it; a NetworkRefused naming the host if not.
        `what` and `key` (default: the URL) locate the setting the URL came from."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(what, key or url, "not an http(s) URL with a host", "write http://HOST:PORT/...")
        if not self.allow_network and not is_loopback(parts.hostname):
            raise NetworkRefused(what, key or url, f"{parts.hostname} is not this machine (loopback: {LOOPBACK}) "
                                 "and network access is off",
                                 f"pass {OPTION} to let medcheck send requests to {parts.hostname}")
        return parts

    def hand_off(self, url: str, what: str, key: str | None = None) -> None:
        """Before a third-party client (huggingface_hub) makes requests with its own proxy and redirect
        rules, which this module cannot govern: allowed only with network access, even to loopback."""
        if not self.allow_network:
            host = urlsplit(url).hostname or url
            raise NetworkRefused(what, key or url, f"downloading from {host} needs network access, which is off",
                                 f"pass {OPTION}, or download it yourself and give its local folder")

    def open(self, url: str, what: str, *, body: bytes | None = None, headers: dict[str, str] | None = None,
             key_variables: tuple[str, ...] = (), send_key: bool = False, timeout: float = 60.0) -> Any:
        """urlopen under the policy. With `send_key`, the API key (module docstring) goes as a bearer
        token to this URL's host only. Raises what urllib raises for the request itself."""
        parts = self.check(url, what)
        request = urllib.request.Request(url, data=body, headers=dict(headers or {}),
                                         method="GET" if body is None else "POST")
        if send_key and (key := api_key(*key_variables)):
            request.add_unredirected_header("Authorization", f"Bearer {key}")
        return self._opener(parts.hostname or "").open(request, timeout=timeout)

    def _opener(self, host: str) -> urllib.request.OpenerDirector:
        handlers: list[Any] = []
        if not self.allow_network or is_loopback(host):   # a proxy never stands between us and loopback
            handlers.append(urllib.request.ProxyHandler({}))
        if not self.allow_network:
            handlers.append(_NoRedirect())
        return urllib.request.build_opener(*handlers)
