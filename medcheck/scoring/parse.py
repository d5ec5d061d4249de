"""Answer parsers: the answer read from a model's free text, or None when none can be read.

Small models wrap their answers in prose, markdown, code fences and repeats; these parsers look for
the answer the way a careful reader would, in a fixed order, and give up (None) rather than guess.
The evaluator has already cut the text to what follows the last "Answer:" when that marker occurs.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence

_EDGE = r"(?<![A-Za-z0-9])"            # a letter or label not glued to a word before it
_END = r"(?![A-Za-z0-9])"


def letter(text: str, letters: Sequence[str] = ("A", "B", "C", "D", "E")) -> str | None:
    """An option letter: "Answer: C", "The answer is (C)", "(C)", "C.", "C) text", or a bare "C".

    Only capital letters count outside an answer cue, so the article "a" is never read as option A."""
    allowed = "".join(re.escape(x) for x in letters)
    cues = (rf"(?i:answer|option|choice)\s*(?i:is|would be|:|=)?\s*(?i:option\s*)?[\(\[\*]*([{allowed}]){_END}",
            rf"^[\s\*\#>]*[\(\[]?([{allowed}])(?:[\)\]\.:]|\s*$|\s+[-\u2013])",
            rf"[\(\[]([{allowed}])[\)\]]")
    for pattern in cues:
        match = re.search(pattern, text, flags=re.MULTILINE)
        if match:
            return match.group(1)
    # "answer: b." -- a lower-case letter only right after an answer cue and closed off
    match = re.search(r"answer\s*(?:is|:)\s*\(?([a-z])\)?(?:[.)]|\s*$)", text, flags=re.IGNORECASE)
    return match.group(1).upper() if match and match.group(1).upper() in letters else None


def decision(text: str, choices: Sequence[str] = ("yes", "no", "maybe")) -> str | None:
    """yes / no / maybe: after an answer cue if there is one, else the first such word."""
    words = "|".join(re.escape(c) for c in choices)
    for pattern in (rf"answer\s*(?:is|:)?\s*[\*\"']*({words}){_END}", rf"{_EDGE}({words}){_END}"):
        match = re.search(pattern, text, flags=re.IGNORECASE)
        if match:
            return match.group(1).lower()
    return None


def json_object(text: str) -> dict | None:
    """The first JSON object in the text, tolerant of code fences, trailing text and a trailing comma."""
    start = text.find("{")
    while start != -1:
        depth, in_string, escaped = 0, False, False
        for end in range(start, len(text)):
            ch = text[end]
            if in_string:           # braces inside strings do not count
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
                continue
            if ch == '"':
                in_string = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    candidate = re.sub(r",\s*}", "}", text[start:end + 1])
                    try:
                        value = json.loads(candidate)
                    except json.JSONDecodeError:
                        break
                    return value if isinstance(value, dict) else None
        start = text.find("{", start + 1)
    return None


def label_map(text: str, labels: Sequence[str]) -> tuple[str, ...] | None:
    """The labels a JSON label map marks 1 ({"Treatment": 1, "Diagnosis": 0, ...}), in `labels` order.

    Keys match case-insensitively; values 1, true, "1" and "yes" count as set. Where the object is
    not valid JSON (blank values, single quotes), "label": value pairs are read one by one."""
    lower = {lab.lower(): lab for lab in labels}
    pairs: dict[str, object] = {}
    obj = json_object(text)
    if obj is not None:
        pairs = {str(k).strip().lower(): v for k, v in obj.items()}
    else:
        for key, value in re.findall(r"[\"']([^\"'\n]+)[\"']\s*:\s*([^,}\n]*)", text):
            pairs[key.strip().lower()] = value.strip().strip("\"'")
    known = {k: v for k, v in pairs.items() if k in lower}
    if not known:
        return None
    chosen = {lower[k] for k, v in known.items() if str(v).strip().lower() in ("1", "true", "yes", "1.0")}
    return tuple(lab for lab in labels if lab in chosen)


def label(text: str, labels: Sequence[str], aliases: dict[str, str] | None = None) -> str | None:
    """One label of a closed set: the first mention in the text, the longest label where several
    start there ("DDI-int" rather than "int"); case-insensitive, whole words only."""
    found = _mentions(text, labels, aliases)
    return found[0] if found else None


def labels(text: str, labels_: Sequence[str], aliases: dict[str, str] | None = None) -> tuple[str, ...] | None:
    """Several labels of a closed set (multi-label): a JSON label map where there is one, else every
    label named in the text; "none" alone is the empty set. Returned in the closed set's order."""
    mapped = label_map(text, labels_)
    if mapped is not None:
        return mapped
    found = set(_mentions(text, labels_, aliases))
    if found:
        return tuple(lab for lab in labels_ if lab in found)
    if re.fullmatch(r"[\s\W]*(none|no labels?|n/?a)[\s\W]*", text, flags=re.IGNORECASE):
        return ()
    return None


MAX_MENTION_WORDS = 6      # a longer "entity" is prose: the model wrote sentences, not names
_TAG = re.compile(r"<\s*(span|mark|b|strong|em|i|u|font|entity|chem|chemical|disease|e)\b[^>]*>(.*?)<\s*/\s*\1\s*>",
                  flags=re.IGNORECASE | re.DOTALL)
_NONE = re.compile(r"(none( found)?|n/?a|nil|-|\[\]|(there (are|is) )?no\b[\w\s]*)\.?", flags=re.IGNORECASE)
_PREFIX = re.compile(r"^(?:[A-Za-z][\w ]{0,40}?(?:entities|entity|chemicals?|diseases?|mentions?|output|answer)"
                     r"\s*(?:are|is)?\s*:)\s*", flags=re.IGNORECASE)


def entities(text: str, sentence: str = "") -> list[str] | None:
    """Entity strings: HTML highlights (the releases' prompts ask for an HTML with the entities
    highlighted), else one per line or comma / semicolon separated, bullets and numbering stripped.
    "None", "[]", an empty answer or the input `sentence` echoed without highlights is the empty
    list; a JSON list of strings is read as such. Prose (every candidate longer than
    `MAX_MENTION_WORDS` words, or a sentence rewritten without highlights) is unreadable: None."""
    if not isinstance(text, str):
        return None
    tagged = re.search(r"<\s*/?\s*[a-zA-Z][^>]*>", text)
    if sentence and not tagged and _squash(sentence) in _squash(text):
        return []                   # the sentence echoed with nothing highlighted
    if tagged:
        return [m for m in (_clean(html.unescape(re.sub(r"<[^>]+>", "", t.group(2)))) for t in _TAG.finditer(text))
                if re.search(r"\w", m)]
    body = re.sub(r"```[a-z]*", "", text).strip()
    if body.startswith("["):
        try:
            value = json.loads(body)
            if isinstance(value, list) and all(isinstance(x, str) for x in value):
                return [_clean(x) for x in value if _clean(x)]
        except json.JSONDecodeError:
            body = body.strip("[]")
    out: list[str] = []
    prose = False
    for line in body.splitlines():
        line = _PREFIX.sub("", re.sub(r"^\s*(?:[-*\u2022+]|\d+[.)])\s+", "", line)).strip()
        if not line or _NONE.fullmatch(line) or line.endswith(":"):
            continue
        parts = [part for part in (_clean(p) for p in re.split(r"[,;]\s+|[,;]$", line)) if part]
        if any(len(part.split()) > MAX_MENTION_WORDS for part in parts):
            prose = True            # a line with a sentence in it is not a list of names
        else:
            out.extend(parts)
    return None if prose and not out else out


def _squash(text: str) -> str:
    return "".join(text.split()).casefold()


def _clean(mention: str) -> str:
    return mention.strip().strip("\"'`*").strip()


def _mentions(text: str, labels: Sequence[str], aliases: dict[str, str] | None) -> list[str]:
    names = {lab.lower(): lab for lab in labels}
    names.update({a.lower(): lab for a, lab in (aliases or {}).items()})
    pattern = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return [names[m.group(1).lower()] for m in re.finditer(rf"{_EDGE}({pattern}){_END}", text, flags=re.IGNORECASE)]
