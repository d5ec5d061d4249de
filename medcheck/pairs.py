"""Pairs files: which models and which compressions a run gates.

    # suites/pairs/default.yaml
    protocol: option-text            # letter | option-text
    models:
      smollm2-135m: embedded:smollm2-135m
    compressions: [bnb-nf4, bnb-int8]

Every model is crossed with every compression; `dense` is the implicit reference of each model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medcheck.compression import DENSE, RECIPES, check_name
from medcheck.errors import ConfigError, did_you_mean
from medcheck.prompts import PROTOCOLS
from medcheck.registry import UnknownNameError
from medcheck.yamlfile import read_yaml

KEYS = {"protocol", "models", "compressions", "trust_remote_code", "cross_datasets", "strategy"}
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class Pair:
    model: str            # short name, used in test ids
    spec: str             # model spec (see medcheck.models)
    compression: str

    @property
    def id(self) -> str:
        return f"{self.model}/{self.compression}"


@dataclass(frozen=True)
class PairsFile:
    path: str
    protocol: str
    models: dict[str, str]
    compressions: tuple[str, ...]
    trust_remote_code: tuple[str, ...] = ()
    cross_datasets: tuple[str, ...] = ()      # where CCS is measured (default: MMLU health)
    strategy: str = "zero-shot"               # prompting strategy of generative tasks (medcheck.strategies)

    def pairs(self) -> list[Pair]:
        return [Pair(m, s, c) for m, s in self.models.items() for c in self.compressions]


def _fail(path: str, key: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(path, key, problem, fix)


def _check_compression(where: str, key: str, name: Any) -> str:
    if not isinstance(name, str):
        raise _fail(where, key, f"expected a compression name, got {name!r}", "use a name such as bnb-nf4")
    if name == DENSE:
        raise _fail(where, key, "'dense' is the reference, not a candidate",
                    "list only compressed settings; the dense model is always evaluated")
    if name not in RECIPES:
        try:
            check_name(name)
        except UnknownNameError as exc:
            raise _fail(where, key, f"unknown compression {name!r}",
                        f"known: {', '.join(sorted(exc.known))}{did_you_mean(name, exc.known)}") from None
    return name


def _looks_like_spec(text: str) -> bool:
    return text.startswith(("embedded:", "hf:")) or "/" in text or text.endswith(".gguf") or Path(text).exists()


def _name_for(spec: str) -> str:
    """A test-id-safe name for a bare spec: its last path or id component, lowercased."""
    base = spec.removeprefix("embedded:").removeprefix("hf:").split("@")[0].rstrip("/").rsplit("/", 1)[-1]
    base = base.removesuffix(".gguf").lower()
    return re.sub(r"[^a-z0-9._-]+", "-", base).strip("-") or "model"


def load(path: Path, *, models: tuple[str, ...] = (), compressions: tuple[str, ...] = (),
         protocol: str | None = None) -> PairsFile:
    """Read and validate a pairs file, then apply the command-line narrowing/overrides."""
    where = str(path)
    raw = read_yaml(Path(path), "pairs file", "pass --medcheck-pairs FILE with an existing YAML file")
    if not isinstance(raw, dict):
        raise _fail(where, "", "expected a mapping with models and compressions", "see suites/pairs/default.yaml")
    for key in raw:
        if key not in KEYS:
            raise _fail(where, str(key), "unknown key", f"allowed keys: {', '.join(sorted(KEYS))}")
    proto = protocol or raw.get("protocol", "letter")
    if proto not in PROTOCOLS:
        raise _fail(where, "protocol", f"unknown protocol {proto!r}", f"use one of {', '.join(PROTOCOLS)}")
    file_models = raw.get("models")
    if not isinstance(file_models, dict) or not file_models:
        raise _fail(where, "models", "expected a non-empty mapping name -> model spec",
                    "e.g. models: {smollm2-135m: embedded:smollm2-135m}")
    for name, spec in file_models.items():
        if not isinstance(name, str) or not NAME.match(name):
            raise _fail(where, f"models.{name}", "model names are lowercase letters, digits, '.', '_', '-'",
                        "rename the model")
        if not isinstance(spec, str):
            raise _fail(where, f"models.{name}", f"expected a model spec string, got {spec!r}",
                        "e.g. embedded:smollm2-135m, /path/to/checkpoint, hf:org/name")
    comps = raw.get("compressions")
    if not isinstance(comps, list) or not comps:
        raise _fail(where, "compressions", "expected a non-empty list", "e.g. compressions: [bnb-nf4, bnb-int8]")
    comps = [_check_compression(where, f"compressions[{i}]", c) for i, c in enumerate(comps)]
    chosen = dict(file_models)
    if models:
        chosen = {}
        for entry in models:
            name, _, spec = entry.partition("=")
            if spec:                                  # name=spec adds a model
                if not NAME.match(name):
                    raise _fail("--medcheck-model", entry, "model names are lowercase letters, digits, '.', '_', '-'",
                                "e.g. --medcheck-model mymodel=/path/to/checkpoint")
                chosen[name] = spec
            elif name in file_models:                 # a name narrows to it
                chosen[name] = file_models[name]
            elif _looks_like_spec(name):              # a bare spec adds a model named after it
                chosen[_name_for(name)] = name
            else:
                raise _fail("--medcheck-model", name, f"not a model of {where} nor a model spec",
                            f"known: {', '.join(file_models)}{did_you_mean(name, file_models)}")
    if compressions:
        comps = [_check_compression("--medcheck-compression", c, c) for c in compressions]
    trusted = raw.get("trust_remote_code", [])
    if not isinstance(trusted, list) or any(not isinstance(t, str) or t not in file_models for t in trusted):
        raise _fail(where, "trust_remote_code", f"expected a list of model names from models, got {trusted!r}",
                    "list the models whose own code may run, e.g. trust_remote_code: [mymodel]")
    from medcheck.datasets import MMLU_IDS, dataset_ids

    cross = raw.get("cross_datasets", list(MMLU_IDS))
    if not isinstance(cross, list) or not cross or any(d not in dataset_ids() for d in cross):
        raise _fail(where, "cross_datasets", f"expected a list of dataset ids, got {cross!r}",
                    f"known: {', '.join(dataset_ids())}")
    from medcheck.strategies import STRATEGIES

    strategy = raw.get("strategy", "zero-shot")
    if strategy not in STRATEGIES:
        raise _fail(where, "strategy", f"unknown strategy {strategy!r}", f"use one of {', '.join(STRATEGIES)}")
    return PairsFile(where, proto, chosen, tuple(dict.fromkeys(comps)), tuple(trusted), tuple(cross), strategy)
