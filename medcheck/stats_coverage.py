"""Coverage of the gate's CPS interval (medcheck.paired_exact) by simulation.

    python -m medcheck.stats_coverage [--reps 2000] [--seed 0] [--confidence 0.95]

prints, for n = 5, 10, 40, 200, 1000 items, three dense accuracies and four kinds of candidate
(identical: b = c = 0 always; noise: 10% of dense-right items flip, as many come back; rare loss:
3% of dense-right items lost, none gained, so small samples mostly show b = c = 0; damage: 30%
lost, 5% of dense-wrong gained), the share of simulated runs whose interval covers the true CPS,
and each one-sided miss (true CPS below the lower bound: a false pass risk; above the upper bound:
a false fail risk). A gate decides on one side, so each miss must stay <= (1 - confidence) / 2.
By default one line per kind: per n the lowest coverage / the worst one-sided miss over the
accuracies and the track (the largest share of runs with b = c = 0); ``--full`` every scenario.
Track rows hold three datasets (dense 0.3, 0.6, 0.9) with the same candidate kind in each.
Runs where the dense model gets no item right (CPS undefined, the gate decides nothing) are left
out and counted in `undef`.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any

NS = (5, 10, 40, 200, 1000)
ACCURACIES = (0.3, 0.6, 0.9)
KINDS = ("identical", "noise", "rare loss", "damage")


def cell_probs(dense: float, kind: str) -> tuple[float, float, float, float]:
    """(p11, p10, p01, p00) of a candidate kind beside a dense model of accuracy ``dense``."""
    lam, gam = {"identical": (0.0, 0.0), "noise": (0.1, 0.1 * dense / (1.0 - dense)),
                "rare loss": (0.03, 0.0), "damage": (0.3, 0.05)}[kind]
    return dense * (1 - lam), dense * lam, (1 - dense) * gam, (1 - dense) * (1 - gam)


def true_cps(probs: list[tuple[float, float, float, float]]) -> float:
    return math.fsum(math.log2(1.0 + (p11 + p01) / (p11 + p10)) for p11, p10, p01, _ in probs) / len(probs)


@dataclass(frozen=True)
class Row:
    label: str
    n: int                 # items per dataset
    cps: float             # the true CPS
    runs: int              # defined runs
    undefined: int
    coverage: float
    miss_low: float        # true CPS < lower bound
    miss_high: float       # true CPS > upper bound
    zero_discordance: float   # share of runs with b = c = 0 in every dataset


def simulate(probs: list[tuple[float, float, float, float]], n: int, reps: int, confidence: float,
             rng: Any, label: str) -> Row:
    import numpy as np

    from medcheck.paired_exact import cps_bounds

    draws = np.stack([rng.multinomial(n, p, size=reps) for p in probs], axis=1)   # (reps, S, 4)
    n11, n10, n01 = draws[..., 0], draws[..., 1], draws[..., 2]
    cells = np.stack([np.full(n11.shape, n), n11 + n10, n10, n01], axis=-1).astype(float)
    defined = (cells[..., 1] > 0).all(axis=-1)
    low, high = cps_bounds(cells[defined], confidence)
    truth = true_cps(probs)
    below, above = truth < low - 1e-12, truth > high + 1e-12
    runs = int(defined.sum())

    def share(x: Any) -> float:
        return float(x.mean()) if runs else math.nan

    zero = ((n10 + n01)[defined] == 0).all(axis=-1)
    return Row(label, n, truth, runs, reps - runs, share(~(below | above)), share(below), share(above), share(zero))


def table(reps: int = 2000, seed: int = 0, confidence: float = 0.95, ns: tuple[int, ...] = NS) -> list[Row]:
    """Every scenario of the module doc, ``reps`` runs each, one seeded stream."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for n in ns:
        for kind in KINDS:
            for acc in ACCURACIES:
                rows.append(simulate([cell_probs(acc, kind)], n, reps, confidence, rng, f"{kind}, dense {acc:g}"))
            rows.append(simulate([cell_probs(a, kind) for a in ACCURACIES], n, reps, confidence, rng,
                                 f"{kind}, track of 3"))
    return rows


def _lines(head: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]

    def line(cols: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths)) + " |"

    return [line(head), line(["-" * w for w in widths]), *map(line, body)]


def render(rows: list[Row], confidence: float, full: bool = False) -> str:
    """Markdown: every row with ``full``, else per scenario kind and n the lowest coverage and the
    worst one-sided miss over the dense accuracies and the track (with the share of runs at b = c = 0)."""
    if full:
        body = [[str(r.n), r.label, f"{r.cps:.3f}", str(r.runs), str(r.undefined), f"{r.zero_discordance:.0%}",
                 f"{r.coverage:.3f}", f"{r.miss_low:.3f}", f"{r.miss_high:.3f}"] for r in rows]
        lines = _lines(["n", "scenario", "true CPS", "runs", "undef", "b=c=0", "coverage", "miss low", "miss high"],
                       body)
    else:
        ns = sorted({r.n for r in rows})
        body = []
        for kind in KINDS:
            cells = []
            for n in ns:
                mine = [r for r in rows if r.n == n and r.label.startswith(kind + ",") and r.runs]
                worst = max(max(r.miss_low, r.miss_high) for r in mine)
                zero = max(r.zero_discordance for r in mine)
                cells.append(f"{min(r.coverage for r in mine):.3f} / {worst:.3f} ({zero:.0%})")
            body.append([kind, *cells])
        lines = _lines(["candidate", *(f"n = {n}" for n in ns)], body)
    valid = [r for r in rows if r.runs]
    worst = max(max(r.miss_low, r.miss_high) for r in valid)
    lowest = min(r.coverage for r in valid)
    return "\n".join([*lines, "", f"nominal {confidence:g}; each one-sided miss should be <= "
                      f"{(1 - confidence) / 2:g}; worst one-sided miss {worst:.3f}; lowest coverage {lowest:.3f}"])


def sequential(runs: int = 2000, seed: int = 0, floor: float = 0.85, budget: int = 640) -> str:
    """Error rates of medcheck.sequential under optional stopping (looks at 10, 20, ..., budget)."""
    from medcheck.sequential import Schedule, simulate

    rho = 2 ** floor - 1
    body = []
    for spending in ("pocock", "obf"):
        schedule = Schedule.doubling(budget, spending=spending)
        for dense in (0.3, 0.8):
            gam = 0.05
            cases = {"identical": (0.0, 0.0), "noise": (0.1, 0.1 * dense / (1 - dense)),
                     "at the floor": (1 - rho + gam * (1 - dense) / dense, gam), "damage": (0.5, 0.02)}
            for name, (lam, g) in cases.items():
                p = (dense * (1 - lam), dense * lam, (1 - dense) * g, (1 - dense) * (1 - g))
                r = simulate(schedule, p, floor, runs, seed)
                body.append([spending, f"{dense:g}", name, f"{true_cps([p]):.3f}", f"{r['pass']:.3f}",
                             f"{r['fail']:.3f}", f"{r['inconclusive']:.3f}", f"{r['mean_items']:.0f}"])
    head = ["spending", "dense", "candidate", "true CPS", "pass", "fail", "inconclusive", "mean items"]
    return "\n".join([*_lines(head, body), "", f"floor {floor:g}, looks {Schedule.doubling(budget).looks}, "
                      f"alpha 0.05: a wrong pass (true CPS < floor) or a wrong fail (>= floor) must stay <= 0.025"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m medcheck.stats_coverage", description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=2000, help="simulated runs per scenario (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--full", action="store_true", help="every scenario, not the worst per kind and n")
    parser.add_argument("--sequential", action="store_true", help="error rates of the sequential rule instead")
    args = parser.parse_args(argv)
    if args.sequential:
        print(sequential(args.reps, args.seed))
        return 0
    print(render(table(args.reps, args.seed, args.confidence), args.confidence, args.full))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
