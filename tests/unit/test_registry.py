"""Registry: lazy "module:attr" imports, suggestions for unknown names, Mapping behaviour."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from medcheck.registry import Registry, UnknownNameError, suggest


def test_entries_resolve_to_objects() -> None:
    registry = Registry("codec", {"dumps": "json:dumps", "loads": "json:loads"})
    assert registry["dumps"] is json.dumps and registry["loads"] is json.loads


def test_import_happens_on_first_use_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = "medcheck_lazy_probe_mod"
    (tmp_path / f"{module}.py").write_text("IMPORTS = []\nIMPORTS.append(1)\nclass Thing:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    registry = Registry("thing", {"thing": f"{module}:Thing", "other": f"{module}_missing:X"})
    assert module not in sys.modules                      # building the registry imports nothing
    assert "thing" in registry and len(registry) == 2 and sorted(registry) == ["other", "thing"]
    assert module not in sys.modules                      # nor does `in`, len or iteration
    first = registry["thing"]
    assert module in sys.modules and first.__name__ == "Thing"
    assert registry["thing"] is first and sys.modules[module].IMPORTS == [1]
    monkeypatch.delitem(sys.modules, module)


@pytest.mark.parametrize(("name", "suggestion"), [("dumsp", "dumps"), ("load", "loads"), ("Dumps", "dumps")])
def test_unknown_name_suggests(name: str, suggestion: str) -> None:
    registry = Registry("codec", {"dumps": "json:dumps", "loads": "json:loads"})
    with pytest.raises(UnknownNameError) as info:
        registry[name]
    message = str(info.value)
    assert message.startswith(f"unknown codec {name!r}") and "known: dumps, loads" in message
    assert suggestion in info.value.suggestions and f"did you mean {suggestion}" in message
    assert isinstance(info.value, KeyError) and info.value.name == name


def test_unknown_name_without_a_near_match() -> None:
    registry = Registry("codec", {"dumps": "json:dumps"})
    with pytest.raises(UnknownNameError) as info:
        registry.check("zzzzzz")
    assert info.value.suggestions == [] and "did you mean" not in str(info.value)
    assert not str(info.value).startswith('"')           # not quoted like a plain KeyError


def test_mapping_behaviour() -> None:
    registry = Registry("codec", {"dumps": "json:dumps"})
    assert "dumps" in registry and "loads" not in registry and 3 not in registry
    assert registry.get("nope") is None and registry.get("dumps") is json.dumps
    assert registry.check("dumps") == "dumps" and dict(registry) == {"dumps": json.dumps}


def test_register_adds_and_replaces() -> None:
    registry = Registry("codec", {"x": "json:dumps"})
    assert registry["x"] is json.dumps
    registry.register("x", "json:loads")
    assert registry["x"] is json.loads                    # cached object dropped on re-register
    registry.register("y", "json:JSONDecodeError")
    assert len(registry) == 2 and registry["y"] is json.JSONDecodeError


def test_suggest_helper() -> None:
    error = suggest("dataset", "medqaa", ["medqa", "pubmed_qa"])
    assert isinstance(error, UnknownNameError) and error.suggestions[0] == "medqa"
    assert error.known == ["medqa", "pubmed_qa"]
