"""Task kinds: one object per kind of task, chosen once per dataset from its spec's `kind`.

A kind says what a dataset's items cost and yield: the requests it makes of a backend, how an item
is scored, the record type it stores, its summary, and what enters its store key beyond the model
and the items. The evaluator, `verify` and the record ask the kind; nothing else tests a dataset's
kind. A new kind (a calibration probe, a judged free-text task) is one class here and its name in
`KINDS`.

    choice     log-likelihood of each option (medcheck.scoring.choice): SampleRecord, Summary
    generate   generated text, parsed and scored by the task (medcheck.scoring.generative):
               GenRecord, TaskScore; fidelity from a second, teacher-forced pass of each model
               over the dense model's answers (medcheck.scoring.forced), stored under its own key
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from medcheck.registry import suggest

if TYPE_CHECKING:
    from medcheck.backends import Backend, GenerationRequest
    from medcheck.backends.teacher import TeacherForcing
    from medcheck.datasets.types import Dataset
    from medcheck.fidelity import FidelitySummary
    from medcheck.prompting import Prompting
    from medcheck.results import PairResult, RunResult
    from medcheck.settings import Settings

UNREADABLE_LEVEL = 0.025   # one-sided exact test that a candidate lost readable answers (the gates' 95% tail)


class Record(Protocol):
    @property
    def item_id(self) -> str: ...

    def as_dict(self) -> dict[str, Any]: ...


class Summary(Protocol):
    n: int
    majority_baseline: float | None

    @property
    def performance(self) -> float: ...
    def as_dict(self) -> dict[str, Any]: ...


class TaskKind(Protocol):
    name: str
    unit: str            # what the progress line counts per second
    chunk: int           # items scored between two commits to the store
    needs_items: bool    # whether its summary needs the items (verify reads them again) or the records alone
    sequential: bool     # whether its datasets may be scored in looks and stopped once decided
    generates: bool      # whether its items are answered by generated text (tools that time generation ask)
    forced_pass: bool    # whether fidelity needs a teacher-forced pass over the dense answers (`forced_*`)

    def limit(self, settings: Settings) -> int | None: ...
    def strategy(self, dataset: Dataset, prompting: Prompting) -> str: ...
    def components(self, dataset: Dataset, prompting: Prompting) -> dict[str, Any]: ...
    def score(self, backend: Backend, dataset: Dataset, items: list[Any], protocol: str,
              prompting: Prompting) -> list[Record]: ...
    # what `score` would ask the backend to generate for these items (none: it generates nothing)
    def requests(self, backend: Backend, dataset: Dataset, items: list[Any],
                 prompting: Prompting) -> list[GenerationRequest]: ...
    def records(self, rows: Sequence[dict[str, Any]]) -> tuple[Any, ...]: ...
    def summarize(self, dataset: Dataset, records: Sequence[Any]) -> Any: ...
    def tokens(self, record: Any) -> int: ...
    def item_scores(self, records: Sequence[Any], summary: Any) -> tuple[float, ...] | None: ...
    def notes(self, pair_id: str, dataset_id: str, dense: bool, records: Sequence[Any], summary: Any) -> list[str]: ...
    def collapse(self, result: PairResult) -> str | None: ...
    def scores(self, result: PairResult) -> dict[str, Any]: ...
    def properties(self, result: PairResult) -> list[tuple[str, Any]]: ...
    def score_row(self, result: PairResult) -> dict[str, Any]: ...
    def fidelity(self, result: PairResult, confidence: float) -> FidelitySummary | None: ...
    def fidelity_gap(self, result: PairResult) -> str | None: ...   # why fidelity is not measured, if it is not
    def forced_key(self, reference: RunResult | None) -> dict[str, Any]: ...
    def forced_rows(self, forcing: TeacherForcing, records: Sequence[Any],
                    reference: RunResult | None) -> list[dict[str, Any]]: ...
    def with_forced(self, records: Sequence[Any], rows: dict[str, dict[str, Any]]) -> tuple[Any, ...]: ...


class NoForcedPass:
    """A kind whose fidelity reads its own records (or that has none): no second pass."""

    forced_pass = False

    def forced_key(self, reference: RunResult | None) -> dict[str, Any]:
        return {}

    def forced_rows(self, forcing: TeacherForcing, records: Sequence[Any],
                    reference: RunResult | None) -> list[dict[str, Any]]:
        return []

    def with_forced(self, records: Sequence[Any], rows: dict[str, dict[str, Any]]) -> tuple[Any, ...]:
        return tuple(records)


class Choice(NoForcedPass):
    """Multiple choice by the log-likelihood of each option."""

    name, unit, chunk = "choice", "prompt tokens", 32
    needs_items = False   # its summary reads the records alone
    sequential = True     # item means with exact paired intervals: looks may stop it early
    generates = False

    def limit(self, settings: Settings) -> int | None:
        return None

    def strategy(self, dataset: Dataset, prompting: Prompting) -> str:
        return ""

    def components(self, dataset: Dataset, prompting: Prompting) -> dict[str, Any]:
        from medcheck.scoring.choice import DIGITS, TOP_K

        # records keep each option token's top-k where the engine can (fidelity per token)
        return {"option_dists": {"top_k": TOP_K, "digits": DIGITS}}

    def score(self, backend: Backend, dataset: Dataset, items: list[Any], protocol: str,
              prompting: Prompting) -> list[Record]:
        from medcheck.backends.teacher import option_distributions
        from medcheck.prompts import requests_for
        from medcheck.scoring.choice import TOP_K, score_item

        per_item = [requests_for(item, protocol, dataset.prompt_style) for item in items]
        flat = [r for reqs in per_item for r in reqs]
        keeps = option_distributions(backend)
        if keeps is not None:
            scored = keeps.loglikelihood_dists(flat, TOP_K)
            logliks, dists = [ll for ll, _ in scored], [d for _, d in scored]
        else:
            logliks, dists = backend.loglikelihood(flat), None
        out: list[Record] = []
        at = 0
        for item, reqs in zip(items, per_item):
            chunk = slice(at, at + len(reqs))
            at += len(reqs)
            out.append(score_item(item, logliks[chunk], [len(r.continuation) for r in reqs],
                                  None if dists is None else dists[chunk]))
        return out

    def records(self, rows: Sequence[dict[str, Any]]) -> tuple[Any, ...]:
        from medcheck.scoring.choice import SampleRecord

        return tuple(SampleRecord.from_dict(_fields(SampleRecord, r)) for r in rows)

    def summarize(self, dataset: Dataset, records: Sequence[Any]) -> Any:
        from medcheck.scoring.choice import summarize

        return summarize(records)

    def tokens(self, record: Any) -> int:
        return int(record.prompt_tokens)

    def item_scores(self, records: Sequence[Any], summary: Any) -> tuple[float, ...] | None:
        return tuple(float(r.correct) for r in records)

    def notes(self, pair_id: str, dataset_id: str, dense: bool, records: Sequence[Any], summary: Any) -> list[str]:
        s, out = summary, []
        chance = 1 / len(records[0].scores)
        if dense and s.ci95[0] <= chance <= s.ci95[1]:
            out.append(f"NEAR CHANCE: {pair_id} scores {s.accuracy:.1%} on {dataset_id} (n={s.n}, 95% CI "
                       f"{s.ci95[0]:.1%}-{s.ci95[1]:.1%} holds chance {chance:.0%}): CPS there is mostly noise.")
        if s.degenerate:
            out.append(f"DEGENERATE: {pair_id} answers {s.top_answer!r} to {s.top_share:.0%} of "
                       f"{dataset_id} items (gold {s.gold_share:.0%}): its accuracy says little.")
        return out

    def collapse(self, result: PairResult) -> str | None:
        """One answer for almost every item while the dense model does not."""
        c, d = result.candidate.summary, result.dense.summary
        if c.degenerate and not d.degenerate:
            return (f"{result.pair.id} collapsed on {result.dataset.id}: answers {c.top_answer!r} for "
                    f"{c.top_share:.0%} of items (gold {c.gold_share:.0%}); the dense model does not")
        return None

    def scores(self, result: PairResult) -> dict[str, Any]:
        return {"n": result.n, "dense_accuracy": round(result.dense.score, 4),
                "accuracy": round(result.candidate.score, 4), "cps": _cps(result)}

    def properties(self, result: PairResult) -> list[tuple[str, Any]]:
        d, c = result.dense.summary, result.candidate.summary
        return [("dense_accuracy", round(d.accuracy, 4)),
                ("accuracy", round(c.accuracy, 4)), ("acc_norm", round(c.acc_norm, 4)),
                ("dense_acc_norm", round(d.acc_norm, 4)),
                ("dense_accuracy_ci95", "{:.3f}-{:.3f}".format(*d.ci95)),
                ("accuracy_ci95", "{:.3f}-{:.3f}".format(*c.ci95)),
                ("degenerate", c.degenerate), ("dense_degenerate", d.degenerate),
                ("top_answer_share", round(c.top_share, 3)), ("majority_baseline", round(c.majority_baseline or 0, 4)),
                *[(k, round(v, 4)) for k, v in c.classification.items()],
                *[(f"dense_{k}", round(v, 4)) for k, v in d.classification.items()]]

    def score_row(self, result: PairResult) -> dict[str, Any]:
        return {"acc_norm": round(result.candidate.summary.acc_norm, 4),
                "dense_acc_norm": round(result.dense.summary.acc_norm, 4), **fidelity_row(self, result)}

    def fidelity(self, result: PairResult, confidence: float) -> FidelitySummary | None:
        """Both models on every option token (their stored top-k), or where the records keep no
        top-k, their option distributions (medcheck.fidelity.choice_items says which)."""
        from medcheck import fidelity

        return fidelity.summarize(fidelity.choice_items(result.dense.records, result.candidate.records), confidence)

    def fidelity_gap(self, result: PairResult) -> str | None:
        return None   # every record holds its option log-likelihoods

    def requests(self, backend: Backend, dataset: Dataset, items: list[Any],
                 prompting: Prompting) -> list[GenerationRequest]:
        return []


class Generate:
    """Free text generated through the backend, parsed and scored by the task's own scorer."""

    name, unit, chunk = "generate", "generated tokens", 8   # generation is slower per item: commit more often
    needs_items = True    # the task's scorer reads the gold answers
    sequential = False    # corpus metrics (F1) and bootstrap intervals: scored to its size in one look
    generates = True
    forced_pass = True    # fidelity reads both models teacher-forced on the dense answers

    def limit(self, settings: Settings) -> int | None:
        return settings.generate_limit    # the smoke profile caps generation harder than scoring

    def strategy(self, dataset: Dataset, prompting: Prompting) -> str:
        return prompting.strategy(dataset).name

    def components(self, dataset: Dataset, prompting: Prompting) -> dict[str, Any]:
        return prompting.components(dataset)

    def score(self, backend: Backend, dataset: Dataset, items: list[Any], protocol: str,
              prompting: Prompting) -> list[Record]:
        from medcheck.prompting import spec_of
        from medcheck.strategies import generate_records

        return list(generate_records(backend, spec_of(dataset.id), items, prompting.strategy(dataset),
                                     prompting.prompts(dataset, items), prompting.budget(dataset),
                                     prompting.settings.seed))

    def requests(self, backend: Backend, dataset: Dataset, items: list[Any],
                 prompting: Prompting) -> list[GenerationRequest]:
        from medcheck.strategies import generation_requests

        return generation_requests(backend, prompting.strategy(dataset), prompting.prompts(dataset, items),
                                   prompting.budget(dataset), prompting.settings.seed)[1]

    def records(self, rows: Sequence[dict[str, Any]]) -> tuple[Any, ...]:
        from medcheck.scoring.generative import GenRecord

        return tuple(GenRecord.from_dict(_fields(GenRecord, r)) for r in rows)

    def summarize(self, dataset: Dataset, records: Sequence[Any]) -> Any:
        from medcheck.prompting import spec_of

        return spec_of(dataset.id).score(dataset.items, [r.parsed for r in records])   # type: ignore[arg-type]

    def tokens(self, record: Any) -> int:
        return int(record.new_tokens)

    def item_scores(self, records: Sequence[Any], summary: Any) -> tuple[float, ...] | None:
        s = summary
        if s.item_scores is None:
            return None
        return s.item_scores if s.higher_is_better else tuple(1.0 - x for x in s.item_scores)

    def notes(self, pair_id: str, dataset_id: str, dense: bool, records: Sequence[Any], summary: Any) -> list[str]:
        if not summary.unparsed:
            return []
        return [f"UNPARSED: {pair_id} gave {summary.unparsed} of {summary.n} {dataset_id} outputs no answer the "
                "parser could read; they count as wrong (texts in samples.jsonl)."]

    def collapse(self, result: PairResult) -> str | None:
        """It stopped giving answers the parser can read, beyond chance (exact one-sided test)."""
        from medcheck.stats import mcnemar_one_sided

        pairs = list(zip(result.dense.records, result.candidate.records))
        lost = sum(not a.unparsed and b.unparsed for a, b in pairs)
        found = sum(a.unparsed and not b.unparsed for a, b in pairs)
        p = mcnemar_one_sided(lost, found)
        if p <= UNREADABLE_LEVEL:
            return (f"{result.pair.id} stopped answering readably on {result.dataset.id}: {lost} items the dense "
                    f"model answered are unparsed ({found} the other way; exact p={p:.2g})")
        return None

    def scores(self, result: PairResult) -> dict[str, Any]:
        d, c = result.dense.summary, result.candidate.summary
        return {"n": result.n, "metric": d.primary, f"dense_{d.primary}": round(d.value, 4),
                d.primary: round(c.value, 4), "unparsed": c.unparsed, "dense_unparsed": d.unparsed,
                "cps": _cps(result)}

    def properties(self, result: PairResult) -> list[tuple[str, Any]]:
        d, c = result.dense.summary, result.candidate.summary
        return [("metric", c.primary), ("higher_is_better", c.higher_is_better),
                *[(f"dense_{k}", round(v, 4)) for k, v in d.metrics.items()],
                *[(k, round(v, 4)) for k, v in c.metrics.items()],
                ("majority_baseline", "" if c.majority_baseline is None else round(c.majority_baseline, 4)),
                ("unparsed", c.unparsed), ("dense_unparsed", d.unparsed),
                ("unparsed_share", round(c.unparsed_share, 4)), ("strategy", result.candidate.strategy)]

    def score_row(self, result: PairResult) -> dict[str, Any]:
        return fidelity_row(self, result)

    def fidelity(self, result: PairResult, confidence: float) -> FidelitySummary | None:
        """Both models teacher-forced on the dense answers: per-token KL over the dense top-k and the
        same-top-token rate (medcheck.scoring.forced); None where a record has no such pass."""
        from medcheck import fidelity
        from medcheck.scoring.forced import dists

        dense = {r.item_id: dists(r) for r in result.dense.records}
        cand = {r.item_id: dists(r) for r in result.candidate.records}
        if None in dense.values() or None in cand.values():
            return None
        return fidelity.summarize(fidelity.generated_items(dense, cand), confidence)   # type: ignore[arg-type]

    def fidelity_gap(self, result: PairResult) -> str | None:
        runs = (result.dense.records, result.candidate.records)
        missing = sum(r.teacher is None for records in runs for r in records)
        if missing:
            return (f"fidelity not measured on {result.dataset.id}: {missing} of {sum(map(len, runs))} records have no "
                    "teacher-forced pass (the backend that scored them cannot teacher-force; the hf backend can)")
        if self.fidelity(result, 0.95) is None:
            return f"fidelity not measured on {result.dataset.id}: no dense answer has a token to compare"
        return None

    def forced_key(self, reference: RunResult | None) -> dict[str, Any]:
        from medcheck.scoring import forced

        return forced.key(None if reference is None else reference.cache_key)

    def forced_rows(self, forcing: TeacherForcing, records: Sequence[Any],
                    reference: RunResult | None) -> list[dict[str, Any]]:
        from medcheck.scoring import forced

        return forced.rows(forcing, records, None if reference is None else {r.item_id: r for r in reference.records})

    def with_forced(self, records: Sequence[Any], rows: dict[str, dict[str, Any]]) -> tuple[Any, ...]:
        import dataclasses

        return tuple(dataclasses.replace(r, teacher={k: v for k, v in rows[r.item_id].items() if k != "item_id"})
                     if r.item_id in rows else r for r in records)


def _fields(record: type, row: dict[str, Any]) -> dict[str, Any]:
    """A stored or samples.jsonl row as its record's fields: samples rows also carry the item's text."""
    from dataclasses import fields

    names = {f.name for f in fields(record)}
    return {k: v for k, v in row.items() if k in names}


def fidelity_row(kind: TaskKind, result: PairResult) -> dict[str, Any]:
    """A dataset's fidelity in its report row (95% intervals, gated or not), or why it is not measured."""
    summary = kind.fidelity(result, 0.95)
    if summary is None:
        return {"fidelity": {"fidelity_unmeasured": kind.fidelity_gap(result) or "not measured"}}
    return {"fidelity": dict(summary.properties())}


def _cps(result: PairResult) -> float | None:
    return None if result.cps_or_none is None else round(result.cps_or_none, 4)


KINDS: dict[str, TaskKind] = {k.name: k for k in (Choice(), Generate())}


def of(kind: str) -> TaskKind:
    """The task kind named by a dataset spec's `kind`."""
    if kind not in KINDS:
        raise suggest("task kind", kind, list(KINDS))
    return KINDS[kind]
