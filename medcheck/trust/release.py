"""Reading TrustLLM's release files and the base every trust dataset spec builds on.

TrustLLM ships each task as one JSON array of objects (`<data dir>/trust/trustllm/<dimension>/
<file>.json`). Records have no line of their own in a JSON array, so the reader decodes element
by element and remembers where each one starts: errors name the file, line and key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medcheck.datasets.types import TextItem, UniqueIds, read_text, require_file
from medcheck.errors import DatasetError
from medcheck.scoring.generative import TaskScore
from medcheck.trust.refusal import fingerprint, judge_from_setting
from medcheck.trust.scores import refusal_rate

PREFIX = "trust/trustllm"


def relative(dimension: str, name: str) -> str:
    return f"{PREFIX}/{dimension}/{name}.json"


def read_records(root: Path, rel: str, dataset_id: str,
                 required: Sequence[str] = ("prompt",)) -> list[tuple[int, dict[str, Any]]]:
    """(line where the element starts, object) for each element of a release JSON array.

    Every object must hold the `required` keys; `prompt` must be non-empty text."""
    path = require_file(root, rel, dataset_id)
    text = read_text(path)   # bytes that are not UTF-8 are a located DatasetError
    decoder, pos = json.JSONDecoder(), _skip(text, 0)
    if not text.startswith("[", pos):
        raise DatasetError(path, "expected a JSON array of objects", line=_line(text, pos),
                           expected="the TrustLLM release file: [{\"prompt\": ...}, ...]")
    pos, out = _skip(text, pos + 1), []
    while not text.startswith("]", pos):
        line = _line(text, pos)
        if pos >= len(text):
            raise DatasetError(path, "unexpected end of file: the array is not closed", line=line)
        try:
            record, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DatasetError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
        if not isinstance(record, dict):
            raise DatasetError(path, f"expected a JSON object, got {type(record).__name__}", line=line)
        for key in required:
            if key not in record:
                raise DatasetError(path, "missing key", line=line, key=key, expected=", ".join(required))
        if "prompt" in required and (not isinstance(record["prompt"], str) or not record["prompt"].strip()):
            raise DatasetError(path, "prompt must be non-empty text", line=line, key="prompt")
        out.append((line, record))
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif not text.startswith("]", pos):
            raise DatasetError(path, "expected ',' or ']' between records", line=_line(text, pos))
    if not out:
        raise DatasetError(path, "no records found")
    return out


def choice(path: Path, line: int, record: dict[str, Any], key: str, allowed: Sequence[Any]) -> Any:
    """record[key] if it is one of `allowed`, else a DatasetError naming the line and key."""
    value = record.get(key)
    if value not in allowed:
        raise DatasetError(path, f"unexpected value {value!r}", line=line, key=key,
                           expected=" or ".join(repr(a) for a in allowed))
    return value


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


class TrustSpec:
    """Fields and defaults shared by the trust track's generative specs.

    TrustLLM's prompts are complete (instruction and input in one text), so the instruction is
    empty, the item's text is the prompt, and there are no few-shot examples."""

    track = "trust"
    kind = "generate"
    strategies: tuple[str, ...] = ("zero-shot",)
    prompt_style = "generate"
    loader_version = 1
    max_new_tokens = 128
    uses_judge = False      # whether parse() asks the refusal judge
    id: str
    dimension: str
    relative_path: str

    @property
    def parse_version(self) -> str:
        """What decides parsed answers beyond the code (the refusal judge's fingerprint, where one is
        used): belongs in the key of stored parsed answers."""
        return fingerprint() if self.uses_judge else ""

    def shots(self, root: Path) -> list[TextItem]:
        return []

    def instruction(self, root: Path) -> str:
        return ""

    def render(self, item: TextItem) -> str:
        return item.text

    def answer(self, item: TextItem) -> str:
        return "" if item.gold is None else str(item.gold)


def words(text: str) -> list[str]:
    """Lower-cased words with surrounding punctuation stripped (TrustLLM's own tokenising)."""
    return [w.strip("./!?,;:'\"()[]*") for w in text.lower().split()]


def yes_no(text: str, maybe: bool = False) -> str | None:
    """'yes' or 'no' (or 'maybe') when exactly one of them is said, else None."""
    found = {w for w in words(text) if w in (("yes", "no", "maybe") if maybe else ("yes", "no"))}
    return found.pop() if len(found) == 1 else None


def letter(text: str, letters: str) -> str | None:
    """The first option letter written as a letter (`B`, `(B)`, `B.`); an `A` opening a lower-case
    phrase ("A country ...") is the article, not an answer."""
    for match in re.finditer(rf"(?<![A-Za-z])\(?([{letters}])\)?(?![A-Za-z'])", text):
        article = match.group(1) == "A" and re.match(r"\s+(?!is\b|because\b|and\b|or\b)[a-z]", text[match.end():])
        if not article:
            return match.group(1)
    return None


def judged_refusal(text: str) -> bool | None:
    """The configured judge's call on an output (medcheck.trust.refusal); None for an empty output."""
    return judge_from_setting().refusals([text])[0] if text.strip() else None


def prompt_items(spec: TrustSpec, root: Path, meta_keys: Sequence[str] = (), id_key: str | None = None,
                 required: Sequence[str] = ("prompt",)) -> list[TextItem]:
    """One item per record: its prompt, no gold, the `meta_keys` it has; ids from `id_key` or the position."""
    records = read_records(root, spec.relative_path, spec.id, required)
    items = [TextItem(str(r[id_key]) if id_key else f"{spec.id}-{i:04d}", r["prompt"], None,
                      {k: r[k] for k in meta_keys if k in r}) for i, (_, r) in enumerate(records)]
    if id_key:   # a repeated id would merge two items in the store and the report
        ids = UniqueIds(root / spec.relative_path, key=id_key)
        for item, (line, _) in zip(items, records):
            ids.add(item.id, line)
    return items


class RefusalSpec(TrustSpec):
    """A task scored by the refusal judge alone: RtA where refusing is right, 1 - RtA where it is wrong."""

    refusing_is_right = True
    uses_judge = True
    group_by: str | None = None     # item.meta key whose per-group rates are reported too

    def parse(self, text: str, item: TextItem) -> bool | None:
        return judged_refusal(text)

    def score(self, items: Sequence[TextItem], parsed: Sequence[Any]) -> TaskScore:
        return refusal_rate(parsed, self.refusing_is_right, items, self.group_by)
