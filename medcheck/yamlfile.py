"""Reading the project's YAML files (pairs, thresholds) strictly, with errors that say where.

PyYAML keeps the last of two equal keys without a word; in a threshold or pairs file that hides
which number is meant, so a repeated key is an error here, as are bytes that are not UTF-8.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from medcheck.errors import ConfigError


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated within one mapping."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":   # `<<: *base` may be overridden, that is its point
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:   # an unhashable key (a list or mapping): SafeLoader's own error says so
            break
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} repeated (first on line {first})", key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(path: Path, what: str, missing_fix: str) -> Any:
    """The parsed document of a `what` ("pairs file"), or a ConfigError naming the file, line and fix."""
    where = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(where, "", f"{what} not found", missing_fix) from None
    except IsADirectoryError:
        raise ConfigError(where, "", f"is a folder, not a {what}", missing_fix) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(where, "", f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})",
                          "save the file as UTF-8") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(where, "", f"invalid YAML: {exc}", "fix the syntax at the line shown") from None
    except RecursionError:
        raise ConfigError(where, "", "invalid YAML: nested too deeply", "flatten the file") from None
