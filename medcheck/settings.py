"""Run settings: one immutable, validated object with named profiles.

smoke (10 items a dataset, 5 of a generative one: the README's quick run, short on a 2-core CPU), ci (up to 200
in sequential looks), standard (up to every item in sequential looks; the default) and full (the same and the
fuller efficiency measurement, `full_measurement` in thresholds/efficiency.yaml). Items are taken in a fixed
seeded order; a sequential run scores multiple-choice datasets in looks of 10, 20, 40, ... items and stops
each as soon as its verdict is decided (medcheck.sequential).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medcheck.errors import ConfigError
from medcheck.prompts import PROTOCOLS
from medcheck.registry import suggest

DTYPES = ("auto", "float32", "bfloat16", "float16")
DEVICES = ("auto", "cpu", "cuda")

# Named bundles of defaults; explicit options override them.
PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {"limit": 10, "generate_limit": 5, "efficiency": "quick"},
    "ci": {"budget": 200, "sequential": True, "efficiency": "quick"},
    "standard": {"limit": None, "sequential": True, "efficiency": "quick"},
    "full": {"limit": None, "sequential": True, "efficiency": "full"},
}
EFFICIENCY_SIZES = ("quick", "full")


def default_data_dir() -> Path | None:
    """$MEDCHECK_DATA_DIR, or None: the bundled sample sets."""
    env = os.environ.get("MEDCHECK_DATA_DIR")
    return Path(env).expanduser() if env else None


def default_cache_dir() -> Path:
    if env := os.environ.get("MEDCHECK_CACHE_DIR"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "medcheck"


@dataclass(frozen=True)
class Settings:
    profile: str = "standard"
    data_dir: Path | None = None
    limit: int | None = None
    generate_limit: int | None = None    # a further cap on generative datasets (generation is slow)
    sequential: bool = False             # score in looks (10, 20, 40, ...) and stop a dataset once decided
    budget: int | None = None            # items per dataset a sequential run may score at most
    budget_seconds: float | None = None  # seconds of scoring per dataset and pair after which no further look starts
    protocol: str | None = None          # None: the pairs file decides
    dtype: str = "auto"
    device: str = "auto"
    batch_tokens: int = 8192             # tokens per forward batch (padding included)
    seed: int = 1234
    cache_dir: Path = field(default_factory=default_cache_dir)
    report_dir: Path = Path("reports")
    use_cache: bool = True
    allow_network: bool = False
    allow_pickle: bool = False
    pairs_file: Path | None = None
    models: tuple[str, ...] = ()         # narrow to these model names (or add specs)
    compressions: tuple[str, ...] = ()   # narrow to / override with these compressions
    backend: str = "hf"                   # inference engine (medcheck.backends.BACKENDS)
    efficiency: str = "quick"             # efficiency measurement size: quick | full
    strategy: str | None = None           # prompting strategy of generative tasks; None: the pairs file decides
    shots: int = 3                        # few-shot examples
    samples: int = 5                      # self-consistency draws
    temperature: float = 0.7              # self-consistency sampling temperature

    def __post_init__(self) -> None:
        where = "settings"
        if self.profile not in PROFILES:
            raise suggest("profile", self.profile, list(PROFILES))
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 1):
            raise ConfigError(where, "limit", f"must be a positive integer, got {self.limit!r}",
                              "pass --medcheck-limit N with N >= 1, or leave it out for all items")
        if self.budget is not None and (not isinstance(self.budget, int) or self.budget < 1):
            raise ConfigError(where, "budget", f"must be a positive integer, got {self.budget!r}",
                              "pass --medcheck-budget N with N >= 1 (items per dataset)")
        if self.budget_seconds is not None and (isinstance(self.budget_seconds, bool) or
                                                not isinstance(self.budget_seconds, (int, float)) or
                                                not self.budget_seconds > 0):
            raise ConfigError(where, "budget_seconds", f"must be a positive number, got {self.budget_seconds!r}",
                              "pass --medcheck-budget 600s (seconds per dataset), alone or with items: 200,600s")
        if self.protocol is not None and self.protocol not in PROTOCOLS:
            raise suggest("protocol", self.protocol, list(PROTOCOLS))
        from medcheck.backends import BACKENDS

        if self.efficiency not in EFFICIENCY_SIZES:
            raise suggest("efficiency size", self.efficiency, list(EFFICIENCY_SIZES))

        BACKENDS.check(self.backend)
        if self.strategy is not None:
            from medcheck.strategies import Strategy

            Strategy(self.strategy, shots=self.shots, samples=self.samples, temperature=self.temperature)
        if self.dtype not in DTYPES:
            raise suggest("dtype", self.dtype, list(DTYPES))
        if self.device not in DEVICES:
            raise suggest("device", self.device, list(DEVICES))
        if self.batch_tokens < 256:
            raise ConfigError(where, "batch_tokens", f"must be at least 256, got {self.batch_tokens}",
                              "a batch must hold at least one prompt; try 8192")
        if self.data_dir is not None and not Path(self.data_dir).is_dir():
            raise ConfigError(where, "data_dir", f"{self.data_dir} is not a directory",
                              "pass --medcheck-data-dir DIR (or MEDCHECK_DATA_DIR) naming a folder "
                              "that holds the benchmarks' folders (mmlu/, medqa/, medmcqa/, ...) in their "
                              "release layouts")

    @classmethod
    def from_profile(cls, profile: str = "standard", **overrides: Any) -> Settings:
        if profile not in PROFILES:
            raise suggest("profile", profile, list(PROFILES))
        given = {k: v for k, v in overrides.items() if v is not None}
        values = {**PROFILES[profile], **given}
        if "limit" in given and "generate_limit" not in given:   # an explicit limit is every dataset's limit
            values.pop("generate_limit", None)
        if "budget" in given or "budget_seconds" in given:
            values["sequential"] = True
        elif "limit" in given:          # an explicit limit asks for exactly that many items: one look
            values.update(sequential=False, budget=None)
        return cls(profile=profile, **values)

    def as_record(self) -> dict[str, Any]:
        """JSON-ready view for reports."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}


def parse_budget(text: str) -> tuple[int | None, float | None]:
    """``--medcheck-budget``: ``200`` (items per dataset), ``600s`` (seconds of scoring per dataset and
    pair), or both, ``200,600s``."""
    items: int | None = None
    seconds: float | None = None
    for part in (p.strip() for p in str(text).split(",")):
        try:
            if part.endswith("s") and seconds is None:
                seconds = float(part[:-1])
            elif part.isdigit() and items is None:
                items = int(part)
            else:
                raise ValueError(part)
        except ValueError:
            raise ConfigError("--medcheck-budget", part or "(empty)", f"not a budget in {text!r}",
                              "give items (200), seconds (600s) or both (200,600s)") from None
    return items, seconds
