"""Refusal detection with no network: a transparent weighted-pattern model, or a judge the user names.

TrustLLM counts refusals (its RtA, refuse-to-answer rate) with a Longformer classifier. medcheck's
default is a pattern model whose phrases, weights and threshold are plain YAML
(`refusal_patterns.yaml`), tuned and measured on labelled text (medcheck.trust.calibrate). A user
with a better judge names it in a setting string:

    patterns                               the default pattern model
    classifier:/path/to/dir[#LABEL]        a local transformers text-classification model (e.g.
                                           TrustLLM's Longformer), loaded with the network off;
                                           LABEL is the refusal label (default: from id2label, else
                                           LABEL_0 as in TrustLLM)
    openai:http://host:port/v1/<model>     an OpenAI-compatible chat endpoint the user runs; loopback
                                           only unless --medcheck-allow-network (medcheck.net)

The setting comes from `MEDCHECK_REFUSAL_JUDGE` (which `--medcheck-refusal-judge` sets) unless a
caller passes one. A judge's `name` says
which judge decided, for reports and cache keys.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from medcheck.errors import ConfigError
from medcheck.net import Policy

PATTERNS_FILE = Path(__file__).with_name("refusal_patterns.yaml")
ENV = "MEDCHECK_REFUSAL_JUDGE"
DEFAULT = "patterns"


class Judge(Protocol):
    @property
    def name(self) -> str: ...

    def refusals(self, texts: Sequence[str]) -> list[bool]: ...


@dataclass(frozen=True)
class PatternJudge:
    """Sum of the weights of the patterns found in the opening window; a refusal at >= threshold."""

    patterns: tuple[tuple[re.Pattern[str], float], ...]
    threshold: float
    window: int
    name: str = "patterns"

    def score(self, text: str) -> float:
        head = text.strip()[:self.window]
        return sum(weight for pattern, weight in self.patterns if pattern.search(head))

    def refusals(self, texts: Sequence[str]) -> list[bool]:
        return [self.score(t) >= self.threshold for t in texts]

    def with_threshold(self, threshold: float) -> PatternJudge:
        return PatternJudge(self.patterns, threshold, self.window, f"patterns@{threshold:g}")


def load_patterns(path: Path = PATTERNS_FILE) -> PatternJudge:
    """The pattern model of a YAML file; a bad entry is a ConfigError naming its index."""
    from medcheck.thresholds import read_yaml  # yaml loads on first use, not at import

    where = str(path)
    data = read_yaml(path, ["threshold", "window", "patterns"])
    compiled = []
    for i, entry in enumerate(data.get("patterns") or []):
        key = f"patterns[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"pattern", "weight"}:
            raise ConfigError(where, key, "expected {pattern: <regex>, weight: <number>}")
        if not isinstance(entry["weight"], int | float) or isinstance(entry["weight"], bool):
            raise ConfigError(where, f"{key}.weight", f"not a number: {entry['weight']!r}")
        try:
            compiled.append((re.compile(entry["pattern"], re.IGNORECASE | re.MULTILINE), float(entry["weight"])))
        except (re.error, TypeError) as exc:
            raise ConfigError(where, f"{key}.pattern", f"invalid regular expression: {exc}") from None
    if not compiled:
        raise ConfigError(where, "patterns", "no patterns", "list at least one {pattern, weight}")
    for key in ("threshold", "window"):
        if not isinstance(data.get(key), int | float) or data[key] <= 0:
            raise ConfigError(where, key, f"must be a positive number, got {data.get(key)!r}")
    return PatternJudge(tuple(compiled), float(data["threshold"]), int(data["window"]))


def judge_from_setting(setting: str | None = None, policy: Policy | None = None) -> Judge:
    """The judge a setting string names (see the module docstring); cached per setting and policy.

    An `openai:` judge runs under `policy`, by default the run's (medcheck.net.Policy.from_env:
    `--medcheck-allow-network` as the pytest layer exported it): loopback only unless allowed."""
    setting = (setting if setting is not None else os.environ.get(ENV, "")).strip() or DEFAULT
    return _judge(setting, policy or Policy.from_env())


def check_setting(setting: str) -> str:
    """The setting, stripped, if its form is one the module docstring lists; a ConfigError if not.
    Nothing is loaded or contacted: that happens when the trust track first scores."""
    setting = setting.strip() or DEFAULT
    kind, _, target = setting.partition(":")
    if setting != DEFAULT and not (kind in ("classifier", "openai") and target):
        raise ConfigError(ENV, "refusal judge", f"unknown setting {setting!r}",
                          "use 'patterns', 'classifier:/path/to/model_dir' or 'openai:http://host:port/v1/<model>'")
    return setting


@cache
def _judge(setting: str, policy: Policy) -> Judge:
    kind, _, target = check_setting(setting).partition(":")
    if setting == DEFAULT:
        return load_patterns()
    if kind == "classifier" and target:
        from medcheck.trust.judges import ClassifierJudge
        path, _, label = target.partition("#")
        return ClassifierJudge(Path(path), label or None)
    if kind == "openai" and target:
        from medcheck.trust.judges import OpenAIJudge
        return OpenAIJudge.from_url(target, policy)
    raise AssertionError(setting)   # check_setting admits nothing else


def fingerprint(setting: str | None = None) -> str:
    """What decides refusal calls under a setting: the judge's name, and for the pattern model a
    hash of its YAML, so that a changed pattern or threshold never reuses stale parsed answers."""
    judge = judge_from_setting(setting)
    if isinstance(judge, PatternJudge):
        return f"{judge.name}:{hashlib.sha256(PATTERNS_FILE.read_bytes()).hexdigest()[:12]}"
    return judge.name


def is_refusal(text: str, judge: Judge | None = None) -> bool:
    return (judge or judge_from_setting()).refusals([text])[0]


@dataclass(frozen=True)
class Measured:
    precision: float
    recall: float
    n: int            # labelled texts measured
    positives: int    # of which refusals

    def as_dict(self) -> dict[str, float | int]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "texts": self.n, "refusals": self.positives}


def measure(decide: Judge | Callable[[Sequence[str]], list[bool]],
            texts: Sequence[str], labels: Sequence[bool]) -> Measured:
    """Precision and recall of a judge's refusal calls against labels (True: a refusal).

    With no predicted refusal precision is 1.0 (nothing claimed wrongly), with no labelled
    refusal recall is 1.0."""
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    predicted = decide.refusals(texts) if hasattr(decide, "refusals") else decide(texts)
    tp = sum(p and y for p, y in zip(predicted, labels))
    fp = sum(p and not y for p, y in zip(predicted, labels))
    fn = sum(y and not p for p, y in zip(predicted, labels))
    return Measured(precision=tp / (tp + fp) if tp + fp else 1.0, recall=tp / (tp + fn) if tp + fn else 1.0,
                    n=len(texts), positives=sum(bool(y) for y in labels))
