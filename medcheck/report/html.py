"""dashboard.html: one self-contained page (inline CSS, PNG plots as data URIs, a few lines of inline
script for the evidence filter, no URL).

Verdict first: the status, then the verdict matrix (tests x pairs, each cell its value and interval
against its floor, one click from the items behind it), the notes grouped by kind, each breach
once; then a forest plot per track, the track tables, the charts, the per-item evidence and the
run details. Built from the run record (as report.json holds it) and the samples.jsonl rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medcheck.audit import write_atomic
from medcheck.record_rows import SampleRow, VerdictRow, read_samples
from medcheck.report import evidence, plots, tables
from medcheck.report.tables import Table

if TYPE_CHECKING:
    from medcheck.record import RunRecord

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:0;background:#f4f6f9}
main{max-width:1280px;margin:0 auto;padding:14px 24px 40px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px;border-bottom:2px solid #d7dce4;padding-bottom:3px}
.status{padding:8px 14px;border-radius:6px;font-weight:700;font-size:16px;margin:6px 0}
.pass{background:#dff3e4;color:#14532d}.fail{background:#fde2e1;color:#7f1d1d}.none{background:#e8eaee}
.inconclusive{background:#fff1cc;color:#78350f}
.notes{background:#fff8e6;border-left:6px solid #e0a100;padding:6px 14px;margin:10px 0;border-radius:4px}
.notes ul{margin:4px 0;padding-left:18px}.notes li{margin:2px 0}.run{color:#4b5563;margin:2px 0}
table{border-collapse:collapse;background:#fff;margin:6px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d7dce4;padding:4px 9px;text-align:right;white-space:nowrap}
th{background:#e9edf3}td.t,th.t{text-align:left}tbody tr:nth-child(even){background:#f8f9fb}
td.bad{background:#fde2e1;color:#7f1d1d;font-weight:700}td.ok{color:#14532d}
.scroll{overflow-x:auto}
.tn{color:#4b5563;font-size:12.5px;margin:2px 0 0 0;padding-left:18px}
#matrix td{padding:2px 8px;text-align:center;font-size:12.5px;line-height:1.25}
#matrix td a{color:inherit;font-weight:700}#matrix td small{display:block;font-weight:400}
#matrix td.fails{outline:2px solid #b91c1c;outline-offset:-2px}#matrix tr.grp th{text-align:left;background:#dfe4ec}
#matrix th.t{font-weight:500}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:14px}
figure{margin:0;background:#fff;border:1px solid #d7dce4;border-radius:6px;padding:8px}
figure img{width:100%;height:auto}figcaption{color:#4b5563;font-size:12.5px}
pre{background:#fff;border:1px solid #e5b4b4;padding:8px;overflow-x:auto;font-size:12px;white-space:pre-wrap}
.kv td{text-align:left;white-space:normal;word-break:break-all}.kv td:first-child{font-weight:600;white-space:nowrap}
.missing{color:#6b7280;background:#eef0f3;border-style:dashed;align-self:start}
.cols{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
#evidence-filter{width:100%;max-width:640px;padding:6px 8px;font-size:14px;margin:6px 0}
details.ev{background:#fff;border:1px solid #d7dce4;border-radius:6px;margin:6px 0;padding:4px 10px}
.item{border-top:1px solid #e5e7eb;padding:6px 0}.item .tag{font-size:11px;font-weight:700;text-transform:uppercase}
.item.lost .tag{color:#b91c1c}.item.gained .tag{color:#15803d}.item.changed .tag{color:#d97706}
.opts td{white-space:normal}.opts tr.gold td:first-child{font-weight:700;color:#14532d}
.gen{display:grid;grid-template-columns:1fr 1fr;gap:10px}.gen h4{margin:4px 0;font-size:13px}
"""


# -- the verdict matrix ----------------------------------------------------------------------
def _num(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}" if isinstance(x, (int, float)) else str(x)


def _target(v: VerdictRow, found: dict[tuple[str, str], evidence.Block]) -> str | None:
    """The evidence block behind a verdict: its dataset's, or its datasets' with the most discordant items."""
    mine = [found[(v.pair, d)] for d in v.datasets or [v.subject] if (v.pair, d) in found]
    mine = [b for b in mine if b.discordant]
    return max(mine, key=lambda b: (len(b.lost), b.discordant)).anchor if mine else None


def _cell(v: VerdictRow, found: dict[tuple[str, str], evidence.Block]) -> str:
    kind = v.status
    cls = kind + (" fails" if kind == "inconclusive" and not v.passed else "")
    span = plots.interval(v)
    detail = ((f"[{_num(span[0])}, {_num(span[1])}] " if span else "") + f"floor {_num(v.floor)}"
              + (" · on fidelity" if v.on_fidelity else ""))   # why a straddling interval is red (or green)
    title = f"{v.test}: {kind.upper()}: {v.message}"
    target = _target(v, found)
    value = f'<a href="#{target}">{_num(v.value)}</a>' if target else f"<b>{_num(v.value)}</b>"
    return f'<td class="{cls}" title="{_e(title)}">{value}<small>{_e(detail)}</small></td>'


def matrix(record: RunRecord, found: dict[tuple[str, str], evidence.Block]) -> str:
    """Tests (grouped by track) x pairs: each cell coloured by outcome, its value, interval and floor."""
    vs = record.verdicts
    if not vs:
        return ""
    listed = [p for p in record.pairs if any(v.pair == p for v in vs)]
    columns = list(dict.fromkeys(listed + [v.pair for v in vs]))
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    rows = []
    for name, info in record.tracks.items():
        mine = tables.track_verdicts(record, name)
        if not mine:
            continue
        rows.append(f'<tr class="grp"><th colspan="{len(columns) + 1}">{_e(info.title or name)}'
                    f' ({_e(info.score or "value")})</th></tr>')
        cells = {(v.subject, v.pair): v for v in mine}
        for subject in dict.fromkeys(v.subject for v in mine):
            label = f"{name} (track)" if subject == name else tables.subject_label(subject)
            rows.append(f'<tr><th class="t" title="{_e(subject)}">{_e(label)}</th>' + "".join(
                _cell(cells[(subject, c)], found) if (subject, c) in cells else "<td></td>" for c in columns) + "</tr>")
    return ("<h2>Verdicts</h2><p class=run>Each cell: the value, its interval where paired statistics exist, and "
            "the floor it is judged against; green pass, red fail, amber inconclusive (red outline: it fails the "
            "gate); 'on fidelity': decided by fidelity to the dense model where the interval alone does not "
            "decide. Click a value for the items behind it.</p>"
            f'<div class="scroll"><table id="matrix"><thead><tr><th class="t">test</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def notes_html(notes: list[str]) -> str:
    """One line per kind of note with its count; the notes themselves one click away."""
    groups = tables.note_groups(notes)
    if not groups:
        return ""
    items = []
    for kind, members in groups.items():
        if len(members) == 1:
            items.append(f"<li>{_e(members[0])}</li>")
            continue
        first = members[0].split(":", 1)[-1].strip()
        items.append(f"<li><details><summary><b>{_e(kind)}</b> &times; {len(members)}: {_e(first[:140])}"
                     f"{'&hellip;' if len(first) > 140 else ''}</summary><ul>"
                     + "".join(f"<li>{_e(m)}</li>" for m in members) + "</ul></details></li>")
    return (f'<div class="notes"><b>Notes</b> ({len(notes)} in {len(groups)} kinds)<ul>{"".join(items)}</ul></div>')


def breaches_html(record: RunRecord) -> str:
    """Each breach once, with its message; errors of tests that are not breaches apart."""
    breaches = [v for v in record.verdicts if not v.passed]
    out = ""
    if breaches:
        items = "".join(f"<li><code>{_e(v.test)}</code>: {_e(v.message)}</li>" for v in breaches)
        out += f"<h2>Threshold breaches ({len(breaches)})</h2><ul>{items}</ul>"
    errors = tables.unbreached_errors(record)
    if errors:
        errs = "".join(f"<details open><summary><code>{_e(k)}</code></summary><pre>{_e(v)}</pre></details>"
                       for k, v in errors.items())
        out += f"<h2>Errors ({len(errors)})</h2>{errs}"
    return out


def _figures(title: str, drawn: list[tuple[str, str, str | None]]) -> str:
    if not drawn:
        return ""
    figs = "".join(f'<figure><img alt="{_e(t)}" src="data:image/png;base64,{b}"><figcaption>{_e(c)}</figcaption>'
                   "</figure>" if b else f'<figure class="missing"><b>{_e(t)}</b><p>not drawn: {_e(c)}</p></figure>'
                   for t, c, b in drawn)
    return f'<h2>{_e(title)}</h2><div class="grid">{figs}</div>'


def _e(value: Any) -> str:
    return escape(str(value))


def html_table(table: Table) -> str:
    head = "".join(f'<th class="{"t" if c.fmt == "{}" else ""}">{_e(c.title)}</th>' for c in table.columns)
    body = []
    for i in range(len(table.rows)):
        cells = []
        for j, col in enumerate(table.columns):
            text = table.text(i, j)
            cls = "t" if col.fmt == "{}" else ""
            if (i, j) in table.bad or text.startswith(("FAIL", "ERROR")):
                cls += " bad"
            elif text == "pass":
                cls += " ok"
            cells.append(f'<td class="{cls.strip()}">{_e(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    notes = "".join(f"<li>{_e(n)}</li>" for n in table.notes)
    return (f'<h2>{_e(table.title)}</h2><div class="scroll"><table id="{table.name}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div><ul class="tn">{notes}</ul>')


def _kv(title: str, data: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v if isinstance(v, str) else json.dumps(v))}</td></tr>"
                   for k, v in data.items())
    return f'<div><h3>{_e(title)}</h3><table class="kv">{rows}</table></div>'


def _rows(title: str, header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f'<th class="t">{_e(h)}</th>' for h in header)
    body = "".join("<tr>" + "".join(f'<td class="t">{_e(c)}</td>' for c in r) + "</tr>" for r in rows)
    return f"<h3>{_e(title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _details(p: RunRecord) -> str:
    parts = [_kv("runtime", p.runtime), _kv("environment", p.environment), _kv("settings", p.settings)]
    out = f'<div class="cols">{"".join(parts)}</div>'
    models = [[n, m.get("spec"), m.get("kind"), str(m.get("fingerprint"))[:16]] for n, m in p.models.items()]
    data = [[d, v.get("source"), f"{v.get('n')}/{v.get('total')}", str(v.get("sha256"))[:16], v.get("path")]
            for d, v in p.datasets.items()]
    # the load telemetry's attempts (medcheck.loading)
    attempts = [[r.pair, a.get("strategy"), "ok" if a.get("ok") else "failed", a.get("seconds"), a.get("rss_mb"),
                 a.get("peak_mb"), a.get("error") or ""]
                for r in {r.pair: r for r in p.runs if r.load.get("attempts")}.values() for a in r.load["attempts"]]
    out += _rows("models", ["model", "spec", "kind", "fingerprint"], models) if models else ""
    out += _rows("datasets", ["dataset", "source", "n / total", "sha256", "path"], data) if data else ""
    out += _rows("load attempts", ["pair", "strategy", "result", "seconds", "RSS (MB)", "peak (MB)", "error"],
                 attempts) if attempts else ""
    thr = [[t.pair, t.dataset, t.items, t.seconds, t.items_per_s] for t in p.throughput]
    out += _rows("scoring throughput", ["pair", "dataset", "items", "seconds", "items/s"], thr) if thr else ""
    return f"<h2>Run details</h2><p class=run>pairs file: {_e(p.pairs_file)}</p>{out}"


def render(record: RunRecord, samples: Iterable[SampleRow] = ()) -> str:
    """The whole dashboard as one HTML string (`samples`: samples.jsonl rows, for the per-item evidence)."""
    passed, line = tables.status(record)
    cls = "none" if passed is None else "pass" if passed else "fail"
    found = evidence.blocks(samples)
    forests, charts = plots.jobs(record)
    parts = [f"<h1>medcheck release gate report</h1><div class='status {cls}'>{_e(line)}</div>",
             f"<p class=run>{_e(tables.run_line(record))}; pairs: {_e(', '.join(record.pairs))}</p>",
             matrix(record, found), notes_html(list(record.notes)), breaches_html(record),
             _figures("Forest plots: each verdict's interval against its floor", plots.draw(record, forests))]
    parts += [html_table(t) for t in tables.tables(record)] or \
        ["<h2>Tables</h2><p>No scores were recorded in this run.</p>"]
    parts += [_figures("Charts", plots.draw(record, charts)), evidence.section(found), _details(record)]
    title = f"medcheck report: {line.split(':')[0]} ({', '.join(record.pairs)})"
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><title>{_e(title)}</title><style>{CSS}</style></head>'
            f"<body><main>{''.join(parts)}</main><script>{evidence.SCRIPT}</script></body></html>\n")


def samples_beside(folder: Path) -> list[SampleRow]:
    """samples.jsonl beside the report, if there is one (a re-render of a copied report.json has none)."""
    path = folder / "samples.jsonl"
    return read_samples(path) if path.is_file() else []


def write(record: RunRecord, folder: Path, samples: Iterable[SampleRow] | None = None) -> list[Path]:
    """dashboard.html, report.md and the CSV tables into `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "dashboard.html", folder / "report.md"]
    write_atomic(written[0], render(record, samples_beside(folder) if samples is None else samples))
    write_atomic(written[1], tables.markdown(record))
    return written + tables.write_csv(record, folder)
