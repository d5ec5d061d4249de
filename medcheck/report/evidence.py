"""Per-item evidence: the items on which a compressed model and its dense model disagree.

Read from samples.jsonl rows alone (medcheck.record_rows.SampleRow; each row's fields are its
task kind's record and the item's text). A multiple-choice item is discordant when one model answers it
correctly and the other does not (the items the paired statistics count); a generated item when
the two parsed answers differ (its score may be a corpus metric, so no per-item right or wrong).
Each item shows what a reviewer needs to judge it: the question and options with both models'
option probabilities, or both generated texts and their parses.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from medcheck.record_rows import SampleRow
from medcheck.report.tables import DENSE, pair_parts

SHOWN = 100   # items rendered per (pair, dataset); the counts always cover all of them


@dataclass
class Block:
    pair: str
    dataset: str
    paired: int = 0                                     # items both models answered
    lost: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = field(default_factory=list)   # dense right, cand. wrong
    gained: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = field(default_factory=list)
    changed: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = field(default_factory=list)  # generated: parse differs

    @property
    def discordant(self) -> int:
        return len(self.lost) + len(self.gained) + len(self.changed)

    @property
    def anchor(self) -> str:
        return anchor(self.pair, self.dataset)


def anchor(pair: str, dataset: str) -> str:
    return "ev-" + re.sub(r"[^A-Za-z0-9_-]", "_", f"{pair}--{dataset}")


def blocks(samples: Iterable[SampleRow]) -> dict[tuple[str, str], Block]:
    """(candidate pair, dataset) -> its discordant items against the dense model, in item order."""
    runs: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = {}
    for row in samples:
        runs.setdefault((row.pair, row.dataset), {})[row.item_id] = row.fields
    out: dict[tuple[str, str], Block] = {}
    for (pair, dataset), rows in runs.items():
        model, compression = pair_parts(pair)
        dense = runs.get((f"{model}/{DENSE}", dataset))
        if compression == DENSE or dense is None:
            continue
        block = out[(pair, dataset)] = Block(pair, dataset)
        for item_id, c in rows.items():
            d = dense.get(item_id)
            if d is None:
                continue
            block.paired += 1
            if "correct" in c and "correct" in d:
                if d["correct"] and not c["correct"]:
                    block.lost.append((d, c))
                elif c["correct"] and not d["correct"]:
                    block.gained.append((d, c))
            elif json.dumps(d.get("parsed"), sort_keys=True) != json.dumps(c.get("parsed"), sort_keys=True):
                block.changed.append((d, c))
    return out


def _e(value: Any) -> str:
    return escape(str(value))


def probabilities(scores: list[float]) -> list[float]:
    """Option probabilities from summed log-likelihoods (softmax over the options offered)."""
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    return [w / sum(weights) for w in weights]


def _choice(d: Mapping[str, Any], c: Mapping[str, Any]) -> str:
    options = c.get("options") or []
    labels = c.get("labels") or [str(i + 1) for i in range(len(c.get("scores") or []))]
    pd, pc = probabilities(list(d["scores"])), probabilities(list(c["scores"]))
    rows = []
    for k, label in enumerate(labels):
        marks = ("gold " if label == c.get("gold") else "") + ("dense " if label == d.get("prediction") else "") + \
            ("candidate" if label == c.get("prediction") else "")
        text = options[k] if k < len(options) else ""
        rows.append(f'<tr class="{"gold" if label == c.get("gold") else ""}"><td>{_e(label)}</td>'
                    f'<td class="t">{_e(text)}</td><td>{pd[k]:.3f}</td><td>{pc[k]:.3f}</td>'
                    f"<td class=t>{_e(marks.strip())}</td></tr>")
    question = c.get("question")
    head = _e(question) if question else "<i>question text not recorded in samples.jsonl (an older run)</i>"
    context = f"<details><summary>context</summary><p>{_e(c['context'])}</p></details>" if c.get("context") else ""

    def said(r: Mapping[str, Any]) -> str:
        return f"{_e(r['prediction'])} ({'right' if r['correct'] else 'wrong'})"

    return (f'<p class="q"><b>{_e(c["item_id"])}</b> {head}</p>{context}'
            f"<p>gold {_e(c.get('gold'))}; dense {said(d)} &rarr; candidate {said(c)}</p>"
            '<table class="opts"><thead><tr><th>option</th><th class="t">text</th><th>dense p</th>'
            f'<th>candidate p</th><th class="t">chosen by</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _generated(d: Mapping[str, Any], c: Mapping[str, Any]) -> str:
    def side(name: str, r: Mapping[str, Any]) -> str:
        parsed = "unparsed" if r.get("parsed") is None else json.dumps(r["parsed"])
        texts = "".join(f"<pre>{_e(t)}</pre>" for t in r.get("texts") or [])
        return f'<div><h4>{name}: parsed {_e(parsed)}</h4>{texts}</div>'

    reference = f"<p>reference: {_e(json.dumps(c['reference']))}</p>" if "reference" in c else ""
    return (f'<p class="q"><b>{_e(c["item_id"])}</b></p>{reference}<details><summary>prompt</summary>'
            f'<pre>{_e(c.get("prompt", ""))}</pre></details><div class="gen">{side("dense", d)}'
            f'{side("candidate", c)}</div>')


def render_block(block: Block) -> str:
    items = [("lost", pair) for pair in block.lost] + [("gained", pair) for pair in block.gained] + \
        [("changed", pair) for pair in block.changed]
    body = "".join(f'<div class="item {kind}"><span class="tag">{kind}</span>'
                   f'{_choice(d, c) if "correct" in c else _generated(d, c)}</div>'
                   for kind, (d, c) in items[:SHOWN])
    more = f"<p>{len(items) - SHOWN} more in samples.jsonl</p>" if len(items) > SHOWN else ""
    counts = (f"{len(block.changed)} answers changed" if block.changed else
              f"{len(block.lost)} lost, {len(block.gained)} gained")
    return (f'<details class="ev" id="{block.anchor}"><summary><b>{_e(block.pair)}</b> on <b>{_e(block.dataset)}'
            f"</b>: {counts} of {block.paired} paired items</summary>{body}{more}</details>")


def section(found: dict[tuple[str, str], Block]) -> str:
    """The evidence section: a text filter and one collapsible block per (pair, dataset) that disagrees."""
    shown = [b for b in found.values() if b.discordant]
    if not found:
        return ("<h2 id=evidence>Per-item evidence</h2><p>No samples.jsonl beside this report: per-item evidence "
                "is shown when the dashboard is rendered in its report dir.</p>")
    blocks_html = "".join(render_block(b) for b in shown) or "<p>No discordant items: every candidate answered "\
        "every item as its dense model did.</p>"
    return ("<h2>Per-item evidence: where each candidate and its dense model disagree</h2>"
            '<p class=run>lost: the dense model was right and the candidate wrong; gained: the reverse; changed: '
            "a generated answer parsed differently. p: each option's probability (softmax of its log-likelihood)."
            '</p><input id="evidence-filter" type="search" placeholder="filter items: words of a question, option, '
            f'answer or item id" aria-label="filter items"><div id="evidence">{blocks_html}</div>')


SCRIPT = """
const filter=document.getElementById('evidence-filter');
if(filter)filter.addEventListener('input',()=>{const q=filter.value.toLowerCase();
 document.querySelectorAll('#evidence details.ev').forEach(d=>{let hits=0;
  d.querySelectorAll('.item').forEach(i=>{const hit=!q||i.textContent.toLowerCase().includes(q);
   i.hidden=!hit;hits+=hit;});
  d.hidden=Boolean(q)&&!hits;if(q&&hits)d.open=true;});});
function openTarget(){const id=decodeURIComponent(location.hash.slice(1));const t=id&&document.getElementById(id);
 if(t&&t.tagName==='DETAILS'){t.open=true;t.scrollIntoView();}}
window.addEventListener('hashchange',openTarget);openTarget();
"""
