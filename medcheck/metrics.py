"""Scores comparing a compressed medical LLM with its dense (uncompressed) baseline.

The scores follow CMedBench ("CMedBench: A Comprehensive Benchmark for
Efficient Medical Large Language Models", Gao et al., arXiv 2025; AAAI 2026),
as this project reads them:

* ``cps`` -- performance over datasets ``k``::

      CPS = mean_k log2(1 + compressed[k] / dense[k])

  1.0 means no change, < 1 a loss, > 1 a gain; always in [0, inf).
* ``ccs`` -- compression cross-combination over (model ``m``, setting ``s``)::

      CCS = mean_(m, s) log2(1 + compressed[(m, s)] / dense[m])

  As in CMedBench's Table 3 the dense setting may be listed as one of the
  settings: a ``(m, "dense")`` entry equal to ``dense[m]`` contributes 1.
* ``twy`` -- trustworthiness over (model ``m``, dimension ``t``), with
  performances as fractions in [0, 1] and one exponent ``a_t`` per dimension::

      TWY = mean_(m, t) exp(a_t * (compressed[(m, t)] - dense[(m, t)]))

* ``ces`` -- computational efficiency over (model ``m``, dimension ``t``)::

      CES = mean_(m, t) r(m, t)
      r = compressed / dense   where higher is better (e.g. tokens/s)
      r = dense / compressed   where lower is better (memory, latency, bits)

  so r > 1 always means "the compressed model is more efficient".

Every mean is an unweighted arithmetic mean over keys, summed with
``math.fsum`` (exactly rounded, hence independent of key order).  Bad input --
empty mappings, mismatched keys, NaN/inf, non-positive dense values (except
in ``twy``, where 0 is a valid fraction), negative compressed values, missing
exponents or directions -- raises ``ValueError`` naming the offending keys.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TypeVar

K = TypeVar("K")  # dataset (cps)
M = TypeVar("M")  # model
S = TypeVar("S")  # compression setting (ccs)
T = TypeVar("T")  # trust / efficiency dimension

_SHOW = 5  # at most this many offending keys are listed in an error message


def _fmt(keys: Iterable[object]) -> str:
    """Sorted reprs of at most ``_SHOW`` keys, e.g. ``['a', 'b'] (+3 more)``."""
    reprs = sorted(repr(k) for k in keys)
    more = f" (+{len(reprs) - _SHOW} more)" if len(reprs) > _SHOW else ""
    return "[" + ", ".join(reprs[:_SHOW]) + "]" + more


def _number(name: str, key: object, value: object) -> float:
    """``value`` as a finite float; bools, strings, NaN and infinities are rejected."""
    if isinstance(value, (bool, str, bytes)):
        raise ValueError(f"{name}[{key!r}] is not a number: {value!r}")
    try:
        x = float(value)  # type: ignore[arg-type]  # any object: float() decides, its TypeError is caught
    except (TypeError, ValueError):
        raise ValueError(f"{name}[{key!r}] is not a number: {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name}[{key!r}] is not finite: {x!r}")
    return x


def _values(name: str, values: Mapping, low: float, high: float = math.inf,
            low_open: bool = False) -> dict:
    """Validate every value of ``values`` against [low, high] (or (low, high])."""
    if not values:
        raise ValueError(f"{name} is empty")
    out = {k: _number(name, k, v) for k, v in values.items()}
    bad = [k for k, v in out.items() if v > high or v < low or (low_open and v == low)]
    if bad:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise ValueError(f"{name} values outside {interval} at keys {_fmt(bad)}")
    return out


def _same_keys(dense: Mapping, compressed: Mapping) -> None:
    """Raise if the two mappings are empty or do not have the same key set."""
    if not dense or not compressed:
        raise ValueError("dense is empty" if not dense else "compressed is empty")
    missing = dense.keys() - compressed.keys()
    extra = compressed.keys() - dense.keys()
    problems = []
    if missing:
        problems.append(f"keys missing from compressed: {_fmt(missing)}")
    if extra:
        problems.append(f"keys in compressed but not in dense: {_fmt(extra)}")
    if problems:
        raise ValueError("mismatched keys; " + "; ".join(problems))


def _pairs(name: str, keys: Iterable[object]) -> None:
    """Raise unless every key is a 2-tuple such as (model, setting/dimension)."""
    bad = [k for k in keys if not (isinstance(k, tuple) and len(k) == 2)]
    if bad:
        raise ValueError(f"{name} keys must be (model, ...) pairs; got {_fmt(bad)}")


def _per_dimension(name: str, table: Mapping, dims: set, kind: str) -> dict:
    """``table[t]`` for every dimension ``t`` in ``dims``; missing ones raise."""
    missing = [t for t in dims if t not in table]
    if missing:
        raise ValueError(f"no {kind} given in {name} for dimensions {_fmt(missing)}")
    return {t: table[t] for t in dims}


def _mean(terms: list[float]) -> float:
    return math.fsum(terms) / len(terms)


def cps(dense: Mapping[K, float], compressed: Mapping[K, float]) -> float:
    """Mean over keys of log2(1 + compressed[k] / dense[k]); 1.0 means no change."""
    _same_keys(dense, compressed)
    d = _values("dense", dense, 0.0, low_open=True)
    c = _values("compressed", compressed, 0.0)
    return _mean([math.log2(1.0 + c[k] / d[k]) for k in d])


def ccs(dense: Mapping[M, float], compressed: Mapping[tuple[M, S], float]) -> float:
    """Mean over (model, setting) keys of log2(1 + compressed[(m, s)] / dense[m])."""
    d = _values("dense", dense, 0.0, low_open=True)
    c = _values("compressed", compressed, 0.0)
    _pairs("compressed", c)
    orphans = [key for key in c if key[0] not in d]
    if orphans:
        raise ValueError(f"compressed keys whose model has no dense value: {_fmt(orphans)}")
    unused = d.keys() - {m for m, _ in c}
    if unused:
        raise ValueError(f"dense models with no compressed setting: {_fmt(unused)}")
    return _mean([math.log2(1.0 + v / d[m]) for (m, _), v in c.items()])


def twy(
    dense: Mapping[tuple[M, T], float],
    compressed: Mapping[tuple[M, T], float],
    exponents: Mapping[T, float],
) -> float:
    """Mean over (model, dimension) of exp(exponents[t] * (compressed - dense)).

    Performances are fractions in [0, 1]; 1.0 means no change.
    """
    _same_keys(dense, compressed)
    d = _values("dense", dense, 0.0, 1.0)
    c = _values("compressed", compressed, 0.0, 1.0)
    _pairs("dense", d)
    raw = _per_dimension("exponents", exponents, {t for _, t in d}, "exponent")
    a = {t: _number("exponents", t, v) for t, v in raw.items()}
    return _mean([math.exp(a[t] * (c[(m, t)] - d[(m, t)])) for m, t in d])


def ces(
    dense: Mapping[tuple[M, T], float],
    compressed: Mapping[tuple[M, T], float],
    higher_is_better: Mapping[T, bool],
) -> float:
    """Mean over (model, dimension) of the efficiency ratio, oriented so > 1 is better.

    compressed/dense where higher is better (tokens/s); dense/compressed where
    lower is better (memory, latency, bits).
    """
    _same_keys(dense, compressed)
    d = _values("dense", dense, 0.0, low_open=True)
    c = _values("compressed", compressed, 0.0)
    _pairs("dense", d)
    hib = _per_dimension("higher_is_better", higher_is_better, {t for _, t in d}, "direction")
    not_bool = [t for t, v in hib.items() if not isinstance(v, bool)]
    if not_bool:
        raise ValueError(f"higher_is_better must be True/False for dimensions {_fmt(not_bool)}")
    zero = [k for k, v in c.items() if v == 0.0 and not hib[k[1]]]
    if zero:
        raise ValueError(
            f"compressed value is 0 where lower is better (dense/0 undefined) at keys {_fmt(zero)}"
        )
    return _mean([c[k] / d[k] if hib[k[1]] else d[k] / c[k] for k in d])
