"""Power of the gate: how often a rule blocks a harmless candidate, how often it catches damage.

``python -m medcheck power RUN_DIR`` calls ``main(run_dir, runs, seed)``. From a finished run it
takes each dataset or track verdict's recorded dense per-item outcomes, its observed flip rate,
its floor and its decision rule, and simulates candidates:

* noise only -- each item flips independently; P(right -> wrong) and P(wrong -> right) are set
  per dataset so that the expected flip rate is the observed one and the expected accuracy is
  the dense accuracy: with accuracy a, flip rate f and loss k = 0,
  ``a * p = (f + k) / 2`` and ``(1 - a) * q = (f - k) / 2``.
* a loss of k accuracy points (0.02, 0.05, 0.10) -- the same formulas with k > 0, so the flip
  rate stays f in expectation; a loss needs at least k flips, so f is raised to k when smaller.
  Probabilities are clipped to [0, 1] (at a = 0 or 1 one direction is impossible).

Each simulated candidate goes through exactly what ``decision.decide_cps`` does (the exact
bounds of medcheck.paired_exact from its cell counts), vectorised over runs.
Reported shares: ``fail`` (a false alarm under noise, a detection under a loss),
``inconclusive``, ``passed`` and ``fails_run`` (fail, plus inconclusive where the rule says so).

``items_needed`` answers "how many items per dataset would this rule need" by a normal
approximation instead of a search by simulation (fast, and monotone in n): the CPS estimate
has delta-method standard error SE = sigma / sqrt(m) with m items per dataset and
``sigma^2 = sum_s f / (a_s (1 + r_s) ln 2)^2 / S^2`` (S datasets, r_s = (a_s - k) / a_s the
candidate/dense ratio), and the run fails with probability Phi((floor - mu) / SE + shift), where
mu is the true CPS (1 under noise, mean_s log2(1 + r_s) under a loss) and shift is -z_high for an
interval rule whose inconclusive straddle passes, +z_low where it fails the run, 0 for ``point``.
z_low and z_high are the exact interval's effective normal quantiles: each bound adds two
Clopper-Pearson margins of about equal size (root 2 times their root-sum-square) at the level the
Bonferroni split leaves it (alpha_side / 2 below, / 3 above, alpha_side = (1 - confidence) / 2 / S).
The answer is the smallest m with P(fails_run | noise) <= 5% and P(fails_run | 5-point loss)
>= 90%; None when no m works (the floor tolerates a 5-point loss, or sits at or above parity).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from medcheck import stats
from medcheck.decision import Rule, rule_from_yaml
from medcheck.errors import MedcheckError

if TYPE_CHECKING:
    from medcheck.record import RunRecord
    from medcheck.record_rows import VerdictRow

LOSSES = (0.02, 0.05, 0.10)
_PASS, _FAIL, _INCONCLUSIVE = 0, 1, 2


class RunRecordError(MedcheckError):
    """RUN_DIR/samples.jsonl or report.json is missing or malformed; names the file and line."""

    def __init__(self, path: Path | str, problem: str, *, line: int | None = None, fix: str = "") -> None:
        self.path, self.problem, self.line = Path(path), problem, line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}" + (f"\n  {fix}" if fix else ""))


@dataclass(frozen=True)
class Simulation:
    scenario: str          # "noise" or "loss 5 pts"
    loss: float
    flip_rate: float       # the flip rate simulated: max(observed, loss)
    runs: int
    fail: float            # shares of simulated runs by outcome
    inconclusive: float
    passed: float
    fails_run: float       # fail, plus inconclusive where the rule fails the run on it


def _loss(scenario: str | float) -> float:
    if scenario == "noise":
        return 0.0
    if isinstance(scenario, bool) or not isinstance(scenario, (int, float)) or not 0.0 <= scenario < 1.0:
        raise ValueError(f"scenario must be 'noise' or a loss in [0, 1) accuracy points, got {scenario!r}")
    return float(scenario)


def candidates(paired: stats.Paired, loss: float, runs: int, seed: int = 0) -> Any:
    """Simulated candidate 0/1 outcomes, shape (runs, n), around the dense record (see module doc)."""
    import numpy as np

    if not all(v in (0.0, 1.0) for v in paired.dense):
        raise ValueError("simulation needs 0/1 dense outcomes")
    dense = np.asarray(paired.dense)
    labels = np.asarray(paired.strata)
    f = max(paired.flip_rate, loss)
    prob = np.zeros(paired.n)
    for name in paired.names:
        idx = labels == name
        a = float(dense[idx].mean())
        p = (f + loss) / (2.0 * a) if a > 0.0 else 0.0
        q = (f - loss) / (2.0 * (1.0 - a)) if a < 1.0 else 0.0
        prob[idx] = np.where(dense[idx] == 1.0, min(max(p, 0.0), 1.0), min(max(q, 0.0), 1.0))
    rng = np.random.default_rng(seed)
    flips = rng.random((runs, paired.n)) < prob
    return np.where(flips, 1.0 - dense, dense)


def outcomes(paired: stats.Paired, cands: Any, floor: float, rule: Rule,
             resamples: int = 2000, seed: int = 0, confidence: float | None = None) -> Any:
    """Outcome codes (0 pass, 1 fail, 2 inconclusive) of ``decide_cps`` for each row of ``cands``.

    ``paired`` supplies the dense record (0/1) and strata; ``cands`` holds 0/1 candidate rows. The
    exact bounds (medcheck.paired_exact) are computed from per-stratum cell counts for all rows at
    once. ``resamples`` and ``seed`` are kept for callers (the bootstrap they served is gone);
    ``confidence`` overrides the rule's (a sequential look).
    """
    import numpy as np

    from medcheck.metrics import cps
    from medcheck.paired_exact import cps_bounds

    conf = rule.confidence if confidence is None else confidence
    dense_means, _ = paired.stratum_means()
    cps(dense_means, dense_means)                      # raises when a dense mean is 0
    cands = np.asarray(cands, dtype=np.float64)
    dense = np.asarray(paired.dense, dtype=np.float64)
    labels = np.asarray(paired.strata)
    d_obs = np.array([dense_means[s] for s in paired.names])
    c_obs = np.stack([cands[:, labels == s].mean(axis=1) for s in paired.names], axis=-1)
    value = stats.cps_rows(d_obs, c_obs)
    if rule.mode == "point":
        return np.where(value >= floor, _PASS, _FAIL)
    lost, won = (dense[None, :] > cands), (cands > dense[None, :])
    cells = np.stack([np.stack([np.full(len(cands), float((labels == s).sum())),
                                np.full(len(cands), float(dense[labels == s].sum())),
                                lost[:, labels == s].sum(axis=1), won[:, labels == s].sum(axis=1)], axis=-1)
                      for s in paired.names], axis=1)                     # (runs, S, 4)
    low, high = cps_bounds(cells, conf)
    low, high = np.minimum(low, value), np.maximum(high, value)
    codes = np.where(low >= floor, _PASS, np.where(high < floor, _FAIL, _INCONCLUSIVE))
    # as decide_cps: a fail needs the exact McNemar test to show a loss too
    b, c = lost.sum(axis=1), won.sum(axis=1)
    level = (1.0 - conf) / 2.0
    for row in np.flatnonzero(codes == _FAIL):
        if stats.mcnemar_one_sided(int(b[row]), int(c[row])) > level:
            codes[row] = _INCONCLUSIVE
    return codes


def simulate(paired: stats.Paired, floor: float, rule: Rule, *, scenario: str | float = "noise",
             runs: int = 1000, seed: int = 0, resamples: int = 2000, bootstrap_seed: int = 0) -> Simulation:
    """Shares of outcomes over ``runs`` simulated candidates (noise only, or a loss in points)."""
    import numpy as np

    loss = _loss(scenario)
    codes = outcomes(paired, candidates(paired, loss, runs, seed), floor, rule, resamples, bootstrap_seed)
    share = {k: float(np.mean(codes == k)) for k in (_PASS, _FAIL, _INCONCLUSIVE)}
    blocked = share[_FAIL] + (share[_INCONCLUSIVE] if rule.inconclusive_fails else 0.0)
    name = "noise" if scenario == "noise" else f"loss {loss * 100:g} pts"
    return Simulation(name, loss, max(paired.flip_rate, loss), runs, share[_FAIL], share[_INCONCLUSIVE],
                      share[_PASS], blocked)


def loss_cps(paired: stats.Paired, loss: float) -> float:
    """The CPS of a candidate ``loss`` points below dense in every dataset."""
    dense_means, _ = paired.stratum_means()
    return math.fsum(stats.mde_cps(loss, a) for a in dense_means.values()) / len(dense_means)


def items_needed(paired: stats.Paired, floor: float, rule: Rule, *, loss: float = 0.05,
                 false_alarm: float = 0.05, power: float = 0.9) -> int | None:
    """Items per dataset for <= ``false_alarm`` blocked harmless candidates and >= ``power``
    blocked candidates with a ``loss``; None when unattainable (normal approximation, module doc)."""
    dense_means, _ = paired.stratum_means()
    accs = list(dense_means.values())
    if min(accs) <= 0.0:
        raise ValueError("CPS is undefined: a dense accuracy is 0")
    norm = NormalDist()
    s = len(accs)
    side = (1.0 - rule.confidence) / 2.0 / s
    z_low, z_high = (math.sqrt(2.0) * norm.inv_cdf(1.0 - side / k) for k in (2.0, 3.0))
    shift = 0.0 if rule.mode == "point" else (z_low if rule.inconclusive_fails else -z_high)

    def sigma(k: float) -> float:
        f = max(paired.flip_rate, k)
        return math.sqrt(math.fsum(f / (a * (2.0 - k / a) * math.log(2.0)) ** 2 for a in accs)) / s

    bounds = []
    # harmless: Phi((floor - 1) / SE + shift) <= false_alarm
    need = shift - norm.inv_cdf(false_alarm)
    if floor >= 1.0:
        if not (floor == 1.0 and need <= 0.0):
            return None
    elif need > 0.0:
        bounds.append((need * sigma(0.0) / (1.0 - floor)) ** 2)
    # damaged: Phi((floor - mu) / SE + shift) >= power
    mu = loss_cps(paired, loss)
    need = norm.inv_cdf(power) - shift
    if floor <= mu:
        return None
    if need > 0.0:
        bounds.append((need * sigma(loss) / (floor - mu)) ** 2)
    return max(1, math.ceil(max(bounds, default=1.0)))


# -- the command -------------------------------------------------------------------------------


def _read_samples(path: Path, generated: dict[tuple[str, str], list[dict[str, Any]]] | None = None
                  ) -> dict[tuple[str, str], dict[str, float]]:
    """{(pair, dataset): {item: correct}} of choice rows; generated rows (no ``correct``, see
    medcheck.power_runs) go to ``generated`` as they are, to be rescored."""
    from medcheck.power_runs import GEN_KEYS

    if not path.is_file():
        raise RunRecordError(path, "missing", fix="run the gate with a report directory first; it writes samples.jsonl")
    out: dict[tuple[str, str], dict[str, float]] = {}
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RunRecordError(path, f"not JSON: {exc.msg}", line=line_no) from None
            if not isinstance(row, dict):
                raise RunRecordError(path, "expected a JSON object", line=line_no)
            gen = "correct" not in row and all(k in row for k in GEN_KEYS)
            missing = [k for k in ("pair", "dataset", "item_id", *(() if gen else ("correct",))) if k not in row]
            if missing:
                raise RunRecordError(path, f"missing key(s) {', '.join(missing)}", line=line_no,
                                     fix="each line needs pair, dataset, item_id and correct (or, generated, "
                                         "texts and parsed)")
            if gen:
                if generated is not None:
                    generated.setdefault((str(row["pair"]), str(row["dataset"])), []).append(row)
                continue
            correct = row["correct"]
            if correct not in (True, False, 0, 1):
                raise RunRecordError(path, f"correct must be true or false, got {correct!r}", line=line_no)
            pair, dataset, item = str(row["pair"]), str(row["dataset"]), str(row["item_id"])
            if "/" not in pair:
                raise RunRecordError(path, f"pair {pair!r} is not '<model>/<compression>'", line=line_no)
            items = out.setdefault((pair, dataset), {})
            if item in items:
                raise RunRecordError(path, f"item {item!r} of {dataset} appears twice for {pair}", line=line_no)
            items[item] = float(correct)
    return out


def _read_record(path: Path) -> tuple[RunRecord, list[tuple[VerdictRow, Rule]]]:
    """The run record and its CPS verdicts over paired items, each with its decision rule."""
    from medcheck.record import load_record

    if not path.is_file():
        raise RunRecordError(path, "missing", fix="run the gate with a report directory first; it writes report.json")
    record = load_record(path)
    # CPS verdicts over items; the efficiency, CCS and TWY verdicts are no CPS of paired items
    return record, [(v, rule_from_yaml(str(path), f"verdicts[{i}].decision_rule", v.decision_rule))
                    for i, v in enumerate(record.verdicts) if v.metric == "CPS" and v.datasets]


def _paired(samples: dict, verdict: VerdictRow, path: Path) -> stats.Paired:
    model, _, _ = verdict.pair.partition("/")
    dense_pair = f"{model}/dense"
    dense, cand, strata = [], [], []
    for ds in verdict.datasets:
        for pair in (dense_pair, verdict.pair):
            if (pair, ds) not in samples:
                raise RunRecordError(path, f"no records of {pair} on {ds}, needed by {verdict.test}")
        d, c = samples[(dense_pair, ds)], samples[(verdict.pair, ds)]
        if d.keys() != c.keys():
            raise RunRecordError(path, f"{ds}: {dense_pair} and {verdict.pair} scored different items "
                                       f"({len(d.keys() - c.keys())} only dense, {len(c.keys() - d.keys())} only "
                                       f"candidate); a paired test needs the same items")
        dense += [d[k] for k in d]
        cand += [c[k] for k in d]
        strata += [ds] * len(d)
    return stats.Paired(tuple(dense), tuple(cand), tuple(strata))


def main(run_dir: Path, runs: int = 500, seed: int = 0) -> int:
    """Print the simulated power of every dataset/track verdict of RUN_DIR, and of the run; 0 on success."""
    from medcheck.power_runs import binary, generative_scores, per_run

    run_dir = Path(run_dir)
    samples_path, report_path = run_dir / "samples.jsonl", run_dir / "report.json"
    record, verdicts = _read_record(report_path)
    generated: dict[tuple[str, str], list[dict[str, Any]]] = {}
    samples = _read_samples(samples_path, generated)
    scored_as, unreadable = {}, {}
    for (pair, ds), gen_rows in sorted(generated.items()):
        try:
            samples[(pair, ds)], scored_as[ds] = generative_scores(record, ds, gen_rows)
        except (KeyError, ValueError, ImportError) as exc:   # the items as run are not on this machine
            unreadable[ds] = f"{type(exc).__name__}: {exc}"
    rows, needs, simulated = [], [], []
    undefined, skipped = [], []
    for v, rule in verdicts:
        if v.pair.endswith("/dense"):
            continue
        if v.value is None:   # CPS undefined (dense scored 0): nothing to simulate
            undefined.append(v.test)
            continue
        if any(ds in unreadable for ds in v.datasets):
            skipped.append(f"{v.test} ({'; '.join(unreadable[d] for d in v.datasets if d in unreadable)})")
            continue
        paired = binary(_paired(samples, v, samples_path), seed)
        floor = float(v.floor)
        try:
            noise = simulate(paired, floor, rule, scenario="noise", runs=runs, seed=seed)
        except ValueError as exc:      # CPS undefined in the simulation (no dense-right item)
            skipped.append(f"{v.test} ({exc})")
            continue
        simulated.append((v, rule, paired))
        losses = [simulate(paired, floor, rule, scenario=k, runs=runs, seed=seed) for k in LOSSES]
        detect = [f"{s.fail:.1%}" + (f" ({s.fails_run:.0%})" if rule.inconclusive_fails else "") for s in losses]
        rows.append([v.test, rule.label + ("/inc-fails" if rule.inconclusive_fails else ""), f"{floor:.3f}",
                     str(paired.n), f"{paired.flip_rate:.3f}", f"{noise.fail:.1%}", f"{noise.inconclusive:.1%}",
                     f"{noise.fails_run:.1%}", *detect])
        need = items_needed(paired, floor, rule)
        per = paired.n / len(paired.names)
        if need is None:
            mu = loss_cps(paired, 0.05)
            why = (f"never: floor {floor:.3f} is at or above parity" if floor >= 1.0 else
                   f"never: a 5-point loss gives CPS {mu:.3f} >= floor {floor:.3f}" if mu >= floor else "never")
        else:
            why = f"{need}" + (" (enough)" if need <= per else "")
        needs.append([v.test, ",".join(paired.names), f"{per:.0f}", why])
    print(f"medcheck power: {run_dir} -- {runs} simulated candidates per scenario, seed {seed}")
    print("noise: items flip at the observed flip rate, accuracy unchanged in expectation; "
          "loss k: k points lower, same flip rate.")
    print("false alarm / inconclusive / blocked: shares of noise-only candidates that fail / straddle / "
          "fail the run; detect: shares of damaged candidates that fail (in parentheses, under an "
          "inc-fails rule: the share that fails the run).\n")
    print(_table(["test", "rule", "floor", "n", "flip", "false alarm", "inconclusive", "blocked",
                  *(f"detect {k * 100:g}pt" for k in LOSSES)], rows, left=2))
    if simulated:
        run_rows = []
        for name, loss in (("noise", 0.0), *((f"loss {k * 100:g} pts", k) for k in LOSSES)):
            fail, block = per_run(simulated, loss, runs, seed)
            run_rows.append([name, f"{fail:.1%}", f"{block:.1%}"])
        print(f"\nper run ({len(simulated)} tests, each pair's candidates simulated once over all its datasets): "
              "the share of runs in which some test fails / some test fails the run. Each test is simulated "
              "at its own level (one-sided (1 - confidence) / 2 on an exact interval); the gate's "
              "multiplicity rule (medcheck.family: a fail must also hold at the Bonferroni level of the "
              "tests of its track for its candidate) only removes fails, so these rates bound the gate's.\n")
        print(_table(["candidate", "some test fails", "run fails"], run_rows))
    print("\nitems needed per dataset for <= 5% of harmless candidates blocked and >= 90% of 5-point losses "
          "blocked (normal approximation at the observed flip rate):\n")
    print(_table(["test", "datasets", "items/dataset now", "needed"], needs, left=2))
    for ds, how in sorted(scored_as.items()):
        print(f"generated rows of {ds}: scored by {how}")
    if undefined:
        print(f"\nnot simulated, CPS undefined (the dense model scored 0 of its items): {', '.join(undefined)}")
    if skipped:
        print(f"\nnot simulated: {'; '.join(skipped)}")
    return 0


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    """Plain-text columns: the first ``left`` left-aligned, the rest right-aligned."""
    if not rows:
        return "(no dataset or track verdicts)"
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.ljust(w) if i < left else c.rjust(w)   # noqa: E731
                              for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, rows)])
