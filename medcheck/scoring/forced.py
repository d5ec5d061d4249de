"""The teacher-forced pass of generated items: what fidelity to the dense model reads on free text.

Neither model generates here. Each reads the dense model's own answer (its first text) after the
prompt exactly as generation was fed it, one prefill per item (medcheck.backends.teacher):

* dense: its next-token distribution at every answer position, as its top TOP_K ids;
* candidate: its own top token, the forced token, and its exact log-probabilities at the dense
  record's TOP_K ids (the hf engine reports any id). medcheck.fidelity.token_kl then runs over
  the dense top-k plus one bucket for all other tokens: a lower bound of the full-vocabulary KL,
  tight where those ids hold most of the dense mass. Candidate ids beyond its top one would not
  enter that KL, so it reports only the first.

Both sides come from the same computation, so a model against itself gives KL 0 and every top
token the same. Log-probabilities are stored rounded to DIGITS decimals: the gate and `verify`
compute from the same numbers. `key` is what the pass adds to the store key of its records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from medcheck.backends.teacher import DEFAULT_TOP_K, TeacherForcing, TokenDists
from medcheck.scoring.generative import GenRecord

TOP_K = DEFAULT_TOP_K
VERSION = 1    # bump when the requests or the stored fields change: part of the store key
DIGITS = 5     # 1e-5 nats: well below any floor (0.05), and keeps a record at ~10 bytes a number


def key(reference_key: str | None) -> dict[str, Any]:
    """Store-key fields of the pass: the dense pass reads its own answers; a candidate's reads the
    answers (and top-k ids) of the dense records under `reference_key`."""
    if reference_key is None:
        return {"version": VERSION, "answers": "own", "top_k": TOP_K, "digits": DIGITS}
    return {"version": VERSION, "answers": reference_key, "top_k": 1, "reference_top_k": TOP_K, "digits": DIGITS}


def _answer(record: GenRecord) -> str:
    return record.texts[0] if record.texts else ""


def rows(forcing: TeacherForcing, records: Sequence[GenRecord],
         reference: Mapping[str, GenRecord] | None) -> list[dict[str, Any]]:
    """One stored row per record (`item_id` and the TokenDists fields). `reference`: the dense
    records by item id, or None for the dense model's own pass; a candidate's record whose dense
    record has no pass of its own gets no row (its fidelity is reported as not measured)."""
    if reference is None:
        dists = forcing.token_distributions([(r.prompt, _answer(r)) for r in records], top_k=TOP_K)
    else:
        records = [r for r in records if reference[r.item_id].teacher is not None]
        dense = [reference[r.item_id] for r in records]
        extra = [[list(ids[:TOP_K]) for ids in d.teacher["top_ids"]] for d in dense]   # type: ignore[index]
        dists = forcing.token_distributions([(d.prompt, _answer(d)) for d in dense], top_k=1, extra_ids=extra)
    return [{"item_id": r.item_id, **rounded(d)} for r, d in zip(records, dists)]


def rounded(d: TokenDists) -> dict[str, Any]:
    return d.rounded(DIGITS)


def dists(record: GenRecord) -> TokenDists | None:
    """A record's pass as TokenDists; None where it has none (the backend cannot teacher-force)."""
    return None if record.teacher is None else TokenDists.from_dict(record.teacher)
