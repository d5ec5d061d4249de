"""The dashboard's plots, drawn with matplotlib's Agg canvas (imported here and only here).

Each plot draws on a figure and returns its caption, or draws nothing and returns why. Per track:
a forest plot of its verdicts (value, interval, floor, parity at 1.0) and, where its layout has
one (`TRACK_CHARTS`), a chart of its dimensions or tasks. Then the run-wide plots (`PLOTS`).
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Mapping
from statistics import mean
from typing import TYPE_CHECKING, Any

from medcheck.record_rows import ScoreRow, TrackSection, VerdictRow
from medcheck.report import tables
from medcheck.report.tables import DENSE, DIMENSIONS, MB, pair_parts

if TYPE_CHECKING:
    from medcheck.record import RunRecord

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
OUTCOME_COLORS = {"pass": "#15803d", "fail": "#b91c1c", "inconclusive": "#d97706"}
Plot = Callable[["RunRecord", Any], "str | None"]
MEASURED = "efficiency"   # the table layout whose tracks' rows are efficiency measurements (memory, timings)


def _memory(p: RunRecord) -> tuple[dict[str, float], str]:
    """pair id (dense as 'model/dense') -> memory in MB, and which memory that is."""
    out: dict[str, float] = {}
    measured = tables.layout_rows(p, MEASURED)
    for e in measured:
        for pid, side in ((f"{pair_parts(e['pair'])[0]}/{DENSE}", e.get("dense") or {}),
                          (e["pair"], e.get("candidate") or {})):
            if side.get("memory_bytes") is not None:
                out.setdefault(pid, side["memory_bytes"] / MB)
    if out:
        return out, "; ".join(dict.fromkeys(e.get("memory_kind", "?") for e in measured))
    for run in p.runs:
        if run.load.get("weight_bytes"):
            out.setdefault(run.pair, run.load["weight_bytes"] / MB)
    return out, "weight bytes from the load telemetry"


def _accuracy_memory(p: RunRecord, fig: Any) -> str | None:
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


def _grouped(ax: Any, groups: list[str], series: Mapping[str, Mapping[str, float | None]],
             floors: dict[str, dict[str, float]] | None = None,
             errors: dict[str, dict[str, tuple[float, float]]] | None = None) -> None:
    """Grouped bars: one group per x label, one bar per series, a dashed floor tick where given."""
    width = 0.8 / max(1, len(series))
    floor_label = "floor"
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        keep = [(x, v, k) for x, k in zip(xs, groups) if (v := values.get(k)) is not None]
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


def _cps_tracks(p: RunRecord) -> list[str]:
    return [name for name, info in p.tracks.items() if info.score == "CPS"]


def _cps(p: RunRecord, fig: Any) -> str | None:
    pairs = tables.pairs_of(p)
    if not pairs:
        return "no scores in this run"
    names = _cps_tracks(p)
    ids = [d for t in names for d in tables.datasets_of(p, t)]
    series: dict[str, dict[str, float | None]] = {pair: {} for pair in pairs}
    for s in p.scores:
        if s.dataset in ids:
            series[s.pair][tables.short(s.dataset)] = s.cps
    groups, computed = [tables.short(d) for d in ids], False
    floors: dict[str, dict[str, float]] = {}
    for t in names:
        _, values, was_computed = tables.track_cps(p, t)
        if not values:
            continue
        computed |= was_computed
        groups.append(f"{t} (track)")
        for (pair, _), v in values.items():
            series.setdefault(pair, {})[f"{t} (track)"] = v
        for row in tables.track_verdicts(p, t):
            key = f"{t} (track)" if row.subject == t else tables.short(row.subject)
            floors.setdefault(row.pair, {})[key] = row.floor
    if not groups:
        return "no CPS scores in this run"
    ax = fig.subplots()
    _grouped(ax, groups, series, floors)
    ax.set(title="CPS per dataset and track" + (" (track CPS computed)" if computed else ""),
           xlabel="dataset / track", ylabel="CPS (unitless; 1.0 = parity)")
    return "bars: CPS = log2(1 + accuracy / dense accuracy); dashed ticks: the pair's threshold floor"


def _efficiency(p: RunRecord, fig: Any) -> str | None:
    entries = tables.layout_rows(p, MEASURED)
    if not entries:
        return "no efficiency track in this run"
    dims = [(key, title) for key, title, *_ in DIMENSIONS if any(key in (e.get("ratios") or {}) for e in entries)]
    groups = [title for _, title in dims] + ["CES"]
    series: dict[str, dict[str, Any]] = {}
    spans: dict[str, dict[str, tuple[float, float]]] = {}
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


def _load(p: RunRecord, fig: Any) -> str | None:
    loads: dict[str, Mapping[str, Any]] = {}
    for run in p.runs:
        load = run.load   # the load telemetry (medcheck.loading)
        if "seconds" in load and not load.get("cached"):
            loads.setdefault(run.pair, load)
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


def interval(v: VerdictRow) -> tuple[float, float] | None:
    """The verdict's interval where paired statistics exist (an infinite bound is clipped by the plot)."""
    st = v.stats or {}
    try:
        lo, hi = float(st["ci_low"]), float(st["ci_high"])
    except (KeyError, TypeError, ValueError):
        return None
    return None if math.isnan(lo) or math.isnan(hi) else (lo, hi)


def _label(p: RunRecord, v: VerdictRow) -> str:
    single = len({pair_parts(x)[0] for x in p.pairs}) <= 1
    who = pair_parts(v.pair)[1] if single and pair_parts(v.pair)[1] else v.pair
    return f"{who} · {tables.subject_label(v.subject)}"


def forest_rows(p: RunRecord, track: str) -> list[VerdictRow]:
    return [v for v in tables.track_verdicts(p, track) if v.value is not None]


def forest(p: RunRecord, track: str, info: TrackSection, fig: Any) -> str | None:
    """One line per verdict: its value, its interval, its floor (black bar), parity (1.0) dashed."""
    from matplotlib.lines import Line2D

    rows = forest_rows(p, track)
    if not rows:
        return "no verdict of this track has a value"
    ax = fig.subplots()
    finite = [x for v in rows for x in (v.value, v.floor, *(interval(v) or ())) if x is not None
              and math.isfinite(x)]
    lo_x, hi_x = min(finite + [1.0]), max(finite + [1.0])
    pad = (hi_x - lo_x) * 0.08 or 0.05
    for i, v in enumerate(rows):
        y, color = len(rows) - 1 - i, OUTCOME_COLORS[v.status]
        span = interval(v)
        if span:
            ax.hlines(y, max(span[0], lo_x - pad), min(span[1], hi_x + pad), color=color, linewidth=2.4)
        ax.plot([v.value], [y], "o", color=color, markersize=6)
        ax.plot([v.floor], [y], marker="|", color="black", markersize=13, markeredgewidth=2)
    ax.axvline(1.0, color="#555", linestyle="--", linewidth=1)
    ax.set_xlim(lo_x - pad, hi_x + pad)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_yticks(range(len(rows)), [_label(p, v) for v in reversed(rows)], fontsize=8)
    score = info.score or "value"
    ax.set(title=f"{info.title or track}: {score} per test", xlabel=f"{score} (1.0 = parity with dense)")
    ax.grid(axis="x", alpha=0.3)
    handles = [Line2D([], [], color=c, marker="o", linewidth=2.4, label=k) for k, c in OUTCOME_COLORS.items()]
    handles += [Line2D([], [], color="black", marker="|", linestyle="none", markersize=12, markeredgewidth=2,
                       label="floor"), Line2D([], [], color="#555", linestyle="--", label="parity (1.0)")]
    fig.legend(handles=handles, fontsize=7, loc="outside lower center", ncols=5)
    with_ci = sum(interval(v) is not None for v in rows)
    line = (f"line: its paired interval ({with_ci} of {len(rows)} tests have one)" if with_ci else
            "no interval: these verdicts are judged on the value itself")
    return f"dot: the value; {line}; black bar: the floor it is judged against"


def _series(p: RunRecord, scores: list[ScoreRow], groups: dict[str, list[str]]) -> dict[str, Any]:
    """dense and each pair -> group -> mean score over the group's datasets (every one of them scored)."""
    out: dict[str, dict[str, float]] = {}
    for dense in (True, False):
        for pair in tables.pairs_of(p):
            name = f"{pair_parts(pair)[0]}/{DENSE}" if dense else pair
            for g, members in groups.items():
                got = [s.dense_score if dense else s.score for s in scores if s.pair == pair and s.dataset in members]
                if got and len(got) == len(members):
                    out.setdefault(name, {})[g] = sum(got) / len(got)
    return out


def dimension_chart(p: RunRecord, track: str, info: TrackSection, fig: Any) -> str | None:
    """Per dimension: P (mean performance over its datasets, higher is better), dense and compressed."""
    scores = [s for s in p.scores if s.track == track]
    present = {s.dataset for s in scores}
    dims = {d: [x for x in m if x in present] for d, m in info.dimensions.items()}
    series = _series(p, scores, {d: m for d, m in dims.items() if m})
    if not series:
        return None
    ax = fig.subplots()
    _grouped(ax, [d for d in dims if any(d in v for v in series.values())], series)
    ax.set(title=f"{info.title or track}: performance per dimension", xlabel="dimension",
           ylabel="P (fraction; higher is better)")
    return "P: mean over the dimension's datasets of each one's performance; TWY and its floor: the forest plot"


def task_chart(p: RunRecord, track: str, info: TrackSection, fig: Any) -> str | None:
    """Per task of a track scored on generated answers: its primary metric, dense and compressed."""
    scores = [s for s in p.scores if s.track == track]
    if not tables.generated(scores):
        return None   # multiple-choice tracks: the CPS chart shows them
    ids = tables.datasets_of(p, track)
    series = _series(p, scores, {tables.short(d): [d] for d in ids})
    if not series:
        return None
    ax = fig.subplots()
    _grouped(ax, [tables.short(d) for d in ids], series)
    metrics = ", ".join(dict.fromkeys(str(s.fields["metric"]) for s in scores if s.fields.get("metric")))
    ax.set(title=f"{info.title or track}: primary metric per task", xlabel="task",
           ylabel="primary metric (fraction)")
    return f"primary metric per task ({metrics}); the line at 1.0 is the metric's maximum here"


TrackPlot = Callable[["RunRecord", str, TrackSection, Any], "str | None"]
TRACK_CHARTS: dict[str, tuple[str, TrackPlot]] = {"trust": ("per dimension", dimension_chart),   # by table layout
                                                  "choice": ("per task", task_chart)}
PLOTS: tuple[tuple[str, Plot, tuple[float, float]], ...] = (
    ("CPS per dataset and track", _cps, (7.0, 4.4)), ("Accuracy vs memory", _accuracy_memory, (7.0, 4.4)),
    ("Efficiency per dimension", _efficiency, (7.0, 4.4)), ("Load telemetry", _load, (7.0, 4.4)))


Job = tuple[str, Plot, tuple[float, float]]   # title, drawer, figure size in inches


def _bind(plot: TrackPlot, track: str, info: TrackSection) -> Plot:
    def bound(p: RunRecord, fig: Any) -> str | None:
        return plot(p, track, info, fig)
    return bound


def jobs(p: RunRecord) -> tuple[list[Job], list[Job]]:
    """(forest plots, charts): a forest plot per track with verdicts; its chart; the run-wide plots."""
    forests: list[Job] = []
    charts: list[Job] = []
    for name, info in p.tracks.items():
        n = len(forest_rows(p, name))
        if n:
            forests.append((f"Forest plot: {info.title or name}", _bind(forest, name, info),
                            (7.0, 2.0 + 0.24 * n)))
        if info.table in TRACK_CHARTS:
            what, chart = TRACK_CHARTS[info.table]
            charts.append((f"{info.title or name}: {what}", _bind(chart, name, info), (7.0, 4.4)))
    return forests, charts + list(PLOTS)


def draw(p: RunRecord, plots: list[Job]) -> list[tuple[str, str, str | None]]:
    """(title, caption, base64 PNG) per plot; a plot not drawn has no PNG and says why; a track chart
    that does not apply (None, no axes) is left out."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return [("Plots", "matplotlib is not installed (pip install matplotlib)", None)]
    out: list[tuple[str, str, str | None]] = []
    for title, plot, size in plots:
        fig = Figure(figsize=size, dpi=110, layout="constrained")
        FigureCanvasAgg(fig)
        try:
            caption = plot(p, fig)
        except Exception as exc:   # one bad plot must not cost the page
            out.append((title, f"could not be drawn ({type(exc).__name__}: {exc})", None))
            continue
        if not fig.axes:
            if caption is not None:
                out.append((title, caption, None))
            continue
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        out.append((title, caption or "", base64.b64encode(buf.getvalue()).decode("ascii")))
    return out
