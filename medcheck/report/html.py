"""dashboard.html: one self-contained page (inline CSS, PNG plots as data URIs, no script, no URL).

Built from the report.json payload only. Plots are drawn with matplotlib's Agg canvas, imported
here and only here; without matplotlib the page still has every table and says why plots are missing.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from html import escape
from pathlib import Path
from statistics import mean
from typing import Any

from medcheck.audit import write_atomic
from medcheck.report import tables
from medcheck.report.tables import DENSE, DIMENSIONS, MB, Table, pair_parts

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:0;background:#f4f6f9}
main{max-width:1280px;margin:0 auto;padding:18px 24px 40px}
h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:26px 0 8px;border-bottom:2px solid #d7dce4;padding-bottom:3px}
.status{padding:10px 14px;border-radius:6px;font-weight:700;font-size:16px;margin:10px 0}
.pass{background:#dff3e4;color:#14532d}.fail{background:#fde2e1;color:#7f1d1d}.none{background:#e8eaee}
.notes{background:#fff4d6;border-left:6px solid #e0a100;padding:8px 14px;margin:10px 0;border-radius:4px}
.notes li{margin:4px 0}.run{color:#4b5563}
table{border-collapse:collapse;background:#fff;margin:6px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d7dce4;padding:4px 9px;text-align:right;white-space:nowrap}
th{background:#e9edf3}td.t,th.t{text-align:left}tbody tr:nth-child(even){background:#f8f9fb}
td.bad{background:#fde2e1;color:#7f1d1d;font-weight:700}td.ok{color:#14532d}
.tn{color:#4b5563;font-size:12.5px;margin:2px 0 0 0;padding-left:18px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:14px}
figure{margin:0;background:#fff;border:1px solid #d7dce4;border-radius:6px;padding:8px}
figure img{width:100%;height:auto}figcaption{color:#4b5563;font-size:12.5px}
pre{background:#fff;border:1px solid #e5b4b4;padding:8px;overflow-x:auto;font-size:12px}
.kv td{text-align:left;white-space:normal;word-break:break-all}.kv td:first-child{font-weight:600;white-space:nowrap}
.missing{color:#6b7280;background:#eef0f3;border-style:dashed;align-self:start}
.cols{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
"""
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


# -- plots: each draws on `fig` and returns its caption, or returns why it drew nothing ---------
def _memory(p: dict[str, Any]) -> tuple[dict[str, float], str]:
    """pair id (dense as 'model/dense') -> memory in MB, and which memory that is."""
    out: dict[str, float] = {}
    for e in p.get("efficiency") or []:
        for pid, side in ((f"{pair_parts(e['pair'])[0]}/{DENSE}", e.get("dense")), (e["pair"], e.get("candidate"))):
            if (side or {}).get("memory_bytes") is not None:
                out.setdefault(pid, side["memory_bytes"] / MB)
    if out:
        return out, "; ".join(dict.fromkeys(e.get("memory_kind", "?") for e in p["efficiency"]))
    for run in p.get("runs") or []:
        if (run.get("load") or {}).get("weight_bytes"):
            out.setdefault(run["pair"], run["load"]["weight_bytes"] / MB)
    return out, "weight bytes from the load telemetry"


def _accuracy_memory(p: dict[str, Any], fig: Any) -> str | None:
    acc, (mem, kind) = tables.accuracies(p), _memory(p)
    points = [(pid, mem[pid], mean(acc[pid].values())) for pid in acc if pid in mem and acc[pid]]
    if not points:
        return "no memory measurement (no efficiency track, and every model load came from the results cache)"
    ax = fig.subplots()
    models = list(dict.fromkeys(pair_parts(pid)[0] for pid, _, _ in points))
    for i, (pid, x, y) in enumerate(points):
        dense = pair_parts(pid)[1] == DENSE
        ax.scatter([x], [y], s=90, marker="o" if dense else "s", label=pid,
                   color=COLORS[i % len(COLORS)], edgecolors="black" if dense else "none")
        ax.annotate(pair_parts(pid)[1] if len(models) == 1 else pid, (x, y), xytext=(6, 5), textcoords="offset points")
    ax.set_xlim(0, max(x for _, x, _ in points) * 1.2)
    ax.set_ylim(0, min(1.0, max(y for _, _, y in points) * 1.25) or 1.0)
    ax.set(title="Accuracy vs memory", xlabel="memory (MB)", ylabel="mean accuracy over the datasets (fraction)")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    return f"memory: {kind}"


def _grouped(ax: Any, groups: list[str], series: dict[str, dict[str, float]],
             floors: dict[str, dict[str, float]] | None = None,
             errors: dict[str, dict[str, tuple[float, float]]] | None = None) -> None:
    """Grouped bars: one group per x label, one bar per series, a dashed floor tick where given."""
    width = 0.8 / max(1, len(series))
    floor_label = "floor"
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        keep = [(x, values[k], k) for x, k in zip(xs, groups) if values.get(k) is not None]
        if not keep:
            continue
        err = None
        if errors:
            spans = [errors.get(name, {}).get(k) for _, _, k in keep]
            nan = float("nan")   # no whisker where no spread was measured
            err = [[v - s[0] if s else nan for (_, v, _), s in zip(keep, spans)],
                   [s[1] - v if s else nan for (_, v, _), s in zip(keep, spans)]] if any(spans) else None
        bars = ax.bar([x for x, _, _ in keep], [v for _, v, _ in keep], width * 0.92, label=name,
                      color=COLORS[i % len(COLORS)], yerr=err, capsize=3 if err else 0)
        if len(series) * len(groups) <= 24:
            ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
        for x, _, k in keep:
            f = (floors or {}).get(name, {}).get(k)
            if f is not None:
                ax.hlines(f, x - width / 2, x + width / 2, colors="black", linestyles="dashed", label=floor_label)
                floor_label = "_nolegend_"
    tilt = len(groups) > 4
    ax.set_xticks(range(len(groups)), groups, rotation=25 if tilt else 0, ha="right" if tilt else "center")
    ax.axhline(1.0, color="#555", linewidth=1.2, label="1.0 (parity with dense)")
    ax.set_ylim(0, max([1.0] + [v for s in series.values() for v in s.values() if v is not None]) * 1.12)
    ax.grid(axis="y", alpha=0.3)
    ax.figure.legend(loc="outside lower center", ncols=min(4, len(series) + 2), fontsize=8)


def _cps(p: dict[str, Any], fig: Any) -> str | None:
    pairs = tables.pairs_of(p)
    if not pairs:
        return "no scores in this run"
    ids = tables.datasets_of(p)
    tracks, track_values, computed = tables.track_cps(p)
    track_name = {t: "track" if computed else f"{t} (track)" for t in tracks}
    names = [d.removeprefix("mmlu_") for d in ids] + list(track_name.values())
    series: dict[str, dict[str, float]] = {pair: {} for pair in pairs}
    for s in p.get("scores") or []:
        series[s["pair"]][s["dataset"].removeprefix("mmlu_")] = s.get("cps")
    for (pair, t), v in track_values.items():
        series.setdefault(pair, {})[track_name[t]] = v
    floors: dict[str, dict[str, float]] = {}
    for v in p.get("verdicts") or []:
        if v.get("kind") in ("dataset", "track") and v.get("floor") is not None:
            key = f"{v['subject']} (track)" if v["kind"] == "track" else v["subject"].removeprefix("mmlu_")
            floors.setdefault(v["pair"], {})[key] = v["floor"]
    ax = fig.subplots()
    _grouped(ax, names, series, floors)
    ax.set(title="CPS per dataset and track" + (" (track CPS computed)" if computed else ""),
           xlabel="dataset / track", ylabel="CPS (unitless; 1.0 = parity)")
    return "bars: CPS = log2(1 + accuracy / dense accuracy); dashed ticks: the pair's threshold floor"


def _efficiency(p: dict[str, Any], fig: Any) -> str | None:
    entries = p.get("efficiency") or []
    if not entries:
        return "no efficiency track in this run"
    dims = [(key, title) for key, title, *_ in DIMENSIONS if any(key in (e.get("ratios") or {}) for e in entries)]
    groups = [title for _, title in dims] + ["CES"]
    series, spans = {}, {}
    for e in entries:
        ratios, spread = e.get("ratios") or {}, e.get("spread") or {}
        series[e["pair"]] = {title: ratios.get(key) for key, title in dims} | {"CES": e.get("ces")}
        spans[e["pair"]] = {}
        for key, title, *_, higher in DIMENSIONS:
            d, c = (spread.get(key) or {}).get("dense"), (spread.get(key) or {}).get("candidate")
            if d and c and min(d + c) > 0 and ratios.get(key) is not None:
                lo, hi = (c[0] / d[1], c[1] / d[0]) if higher else (d[0] / c[1], d[1] / c[0])
                spans[e["pair"]][title] = (min(lo, ratios[key]), max(hi, ratios[key]))
    ax = fig.subplots()
    _grouped(ax, groups, series, errors=spans)
    ax.set(title="Efficiency per dimension (compressed vs dense)", xlabel="dimension",
           ylabel="oriented ratio (x; > 1 = more efficient)")
    return ("ratio = dense/compressed for memory, bits and latency, compressed/dense for TPS; "
            "whiskers: min-max over repeats")


def _load(p: dict[str, Any], fig: Any) -> str | None:
    loads: dict[str, dict[str, Any]] = {}
    for run in p.get("runs") or []:
        load = run.get("load") or {}
        if "seconds" in load and not load.get("cached"):
            loads.setdefault(run["pair"], load)
    if not loads:
        return "no model was loaded in this run (every result came from the results cache)"
    names = list(loads)
    single = len({pair_parts(n)[0] for n in names}) == 1
    labels = [pair_parts(n)[1] if single else n for n in names]
    ax1, ax2 = fig.subplots(1, 2)
    for label, fallback, color in (("first strategy", False, "#1f77b4"), ("fallback strategy", True, "#d62728")):
        mine = [(x, n) for x, n in enumerate(names) if bool(loads[n].get("fallback")) == fallback]
        bars = ax1.bar([x for x, _ in mine], [loads[n]["seconds"] for _, n in mine], color=color, label=label)
        ax1.bar_label(bars, [str(loads[n].get("strategy", "?")) for _, n in mine], fontsize=7, padding=2)
    ax1.set_xticks(range(len(names)), labels, rotation=20, ha="right")
    ax1.set_ylim(0, max(loads[n]["seconds"] for n in names) * 1.25)
    ax1.set(title="Load time per pair", xlabel="pair", ylabel="load time (s)")
    ax1.legend(fontsize=8, loc="upper left")
    bits = [(label, loads[n].get("bits_per_weight")) for label, n in zip(labels, names)
            if loads[n].get("bits_per_weight") is not None]
    if bits:
        bars = ax2.bar(range(len(bits)), [b for _, b in bits], color="#2ca02c", label="bits per weight")
        ax2.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
        ax2.set_xticks(range(len(bits)), [n for n, _ in bits], rotation=20, ha="right")
        ax2.legend(fontsize=8, loc="upper right")
    ax2.set(title="Bits per weight", xlabel="pair", ylabel="bits per weight (bits)")
    return "red: the preferred loader failed and a fallback strategy loaded the model; labels: the strategy used"


PLOTS: tuple[tuple[str, Callable[[dict[str, Any], Any], str | None], tuple[float, float]], ...] = (
    ("Accuracy vs memory", _accuracy_memory, (7.0, 4.4)), ("CPS per dataset and track", _cps, (7.0, 4.4)),
    ("Efficiency per dimension", _efficiency, (7.0, 4.4)), ("Load telemetry", _load, (7.0, 4.4)))


def figures(payload: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(title, caption, base64 PNG) per plot; a plot not drawn has no PNG and says why in its caption."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return [("Plots", "matplotlib is not installed (pip install matplotlib)", None)]
    out: list[tuple[str, str, str | None]] = []
    for title, plot, size in PLOTS:
        fig = Figure(figsize=size, dpi=110, layout="constrained")
        FigureCanvasAgg(fig)
        try:
            caption = plot(payload, fig)
        except Exception as exc:   # one bad plot must not cost the page
            out.append((title, f"could not be drawn ({type(exc).__name__}: {exc})", None))
            continue
        if not fig.axes:
            out.append((title, caption or "no data", None))
            continue
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        out.append((title, caption or "", base64.b64encode(buf.getvalue()).decode("ascii")))
    return out


# -- HTML ------------------------------------------------------------------------------------
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
    return (f'<h2>{_e(table.title)}</h2><table id="{table.name}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table><ul class="tn">{notes}</ul>')


def _kv(title: str, data: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v if isinstance(v, str) else json.dumps(v))}</td></tr>"
                   for k, v in data.items())
    return f'<div><h3>{_e(title)}</h3><table class="kv">{rows}</table></div>'


def _rows(title: str, header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f'<th class="t">{_e(h)}</th>' for h in header)
    body = "".join("<tr>" + "".join(f'<td class="t">{_e(c)}</td>' for c in r) + "</tr>" for r in rows)
    return f"<h3>{_e(title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _details(p: dict[str, Any]) -> str:
    parts = [_kv("runtime", p.get("runtime") or {}), _kv("environment", p.get("environment") or {}),
             _kv("settings", p.get("settings") or {})]
    out = f'<div class="cols">{"".join(parts)}</div>'
    models = [[n, m.get("spec"), m.get("kind"), str(m.get("fingerprint"))[:16]]
              for n, m in (p.get("models") or {}).items()]
    data = [[d, v.get("source"), f"{v.get('n')}/{v.get('total')}", str(v.get("sha256"))[:16], v.get("path")]
            for d, v in (p.get("datasets") or {}).items()]
    attempts = [[r["pair"], a.get("strategy"), "ok" if a.get("ok") else "failed", a.get("seconds"), a.get("rss_mb"),
                 a.get("peak_mb"), a.get("error") or ""]
                for r in {r["pair"]: r for r in p.get("runs") or [] if (r.get("load") or {}).get("attempts")}.values()
                for a in r["load"]["attempts"]]
    out += _rows("models", ["model", "spec", "kind", "fingerprint"], models) if models else ""
    out += _rows("datasets", ["dataset", "source", "n / total", "sha256", "path"], data) if data else ""
    out += _rows("load attempts", ["pair", "strategy", "result", "seconds", "RSS (MB)", "peak (MB)", "error"],
                 attempts) if attempts else ""
    thr = [[t["pair"], t["dataset"], t["items"], t["seconds"], t["items_per_s"]] for t in p.get("throughput") or []]
    out += _rows("scoring throughput", ["pair", "dataset", "items", "seconds", "items/s"], thr) if thr else ""
    return f"<h2>Run details</h2><p class=run>pairs file: {_e(p.get('pairs_file', '-'))}</p>{out}"


def render(payload: dict[str, Any]) -> str:
    """The whole dashboard as one HTML string."""
    passed, line = tables.status(payload)
    cls = "none" if passed is None else "pass" if passed else "fail"
    notes = "".join(f"<li><b>{_e(n)}</b></li>" for n in payload.get("notes") or [])
    found = tables.tables(payload)
    parts = [f"<h1>medcheck release gate report</h1><div class='status {cls}'>{_e(line)}</div>",
             f"<p class=run>{_e(tables.run_line(payload))}; pairs: {_e(', '.join(payload.get('pairs') or []))}</p>"]
    if notes:
        parts.append(f'<div class="notes"><b>Read this first</b><ul>{notes}</ul></div>')
    breaches = [v for v in payload.get("verdicts") or [] if not v.get("passed")]
    if breaches:
        items = "".join(f"<li><code>{_e(v['test'])}</code>: {_e(v['message'])}</li>" for v in breaches)
        parts.append(f"<h2>Threshold breaches</h2><ul>{items}</ul>")
    if payload.get("errors"):
        errs = "".join(f"<details open><summary><code>{_e(k)}</code></summary><pre>{_e(v)}</pre></details>"
                       for k, v in payload["errors"].items())
        parts.append(f"<h2>Errors</h2>{errs}")
    parts += [html_table(t) for t in found] or ["<h2>Tables</h2><p>No scores were recorded in this run.</p>"]
    figs = "".join(f'<figure><img alt="{_e(t)}" src="data:image/png;base64,{b}"><figcaption>{_e(c)}</figcaption>'
                   "</figure>" if b else f'<figure class="missing"><b>{_e(t)}</b><p>not drawn: {_e(c)}</p></figure>'
                   for t, c, b in figures(payload))
    parts.append(f'<h2>Plots</h2><div class="grid">{figs}</div>')
    parts.append(_details(payload))
    title = f"medcheck report: {line.split(':')[0]} ({', '.join(payload.get('pairs') or [])})"
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><title>{_e(title)}</title><style>{CSS}</style></head>'
            f"<body><main>{''.join(parts)}</main></body></html>\n")


def write(payload: dict[str, Any], folder: Path) -> list[Path]:
    """dashboard.html, report.md and the CSV tables into `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "dashboard.html", folder / "report.md"]
    write_atomic(written[0], render(payload))
    write_atomic(written[1], tables.markdown(payload))
    return written + tables.write_csv(payload, folder)
