"""Fidelity on generated items: both models teacher-forced on the dense answer (medcheck.scoring.forced).

On tiny random Llamas the test builds (the dense one sharpened so that its top-k holds most of
the mass, the candidate the same weights with noise added): the per-token KL the records give is
the KL over the dense top-k plus one bucket, computed here again from a plain full forward; it never
exceeds the full-vocabulary KL and keeps most of it where the top-k holds the mass; the same-top
rate is the argmax agreement. Through the evaluator: both passes are stored (the candidate's keyed on
the dense records it read) and reused; records without a pass say so in the verdict; a candidate whose
answers moved fails on fidelity with that reason."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from medcheck import task_kinds
from medcheck.backends.hf import HFBackend
from medcheck.decision import Rule
from medcheck.fidelity import generated_item
from medcheck.pairs import Pair
from medcheck.results_trust import TrustResult
from medcheck.scoring import forced
from medcheck.scoring.generative import GenRecord
from medcheck.store import cache_key
from medcheck.thresholds import FidelityFloor, Floor, judge
from tests.generation.test_generative_eval import evaluator

SHARPEN = 20.0   # logits x20: the top 10 hold ~98% of the mass (a random tiny model is otherwise near uniform)
ANSWERS = [("<|im_start|>user\nIs aspirin an NSAID?<|im_end|>\n<|im_start|>assistant\n", "Yes, it is an NSAID."),
           ("Question: Which organ filters blood?\nAnswer:", " The kidney filters the blood, mostly."),
           ("Say a word.", "")]


@pytest.fixture(scope="module")
def models(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    dense = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    with torch.no_grad():
        dense.model.norm.weight.mul_(SHARPEN)
    candidate = copy.deepcopy(dense)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in candidate.model.layers.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=gen))
    return tokenizer, dense, candidate


def _records() -> list[GenRecord]:
    return [GenRecord(f"i{k}", prompt, (text,), None, 0, 8, 8, False, "eos")
            for k, (prompt, text) in enumerate(ANSWERS)]


def _passes(tokenizer, dense, candidate):
    records = _records()
    own = {r["item_id"]: r for r in forced.rows(HFBackend(dense, tokenizer), records, None)}
    kind = task_kinds.of("generate")
    dense_records = {r.item_id: r for r in kind.with_forced(records, own)}
    theirs = {r["item_id"]: r for r in forced.rows(HFBackend(candidate, tokenizer), records, dense_records)}
    return dense_records, {r.item_id: r for r in kind.with_forced(records, theirs)}


def _reference(model, tokenizer, prompt: str, answer: str) -> tuple[list[int], torch.Tensor]:
    ctx = tokenizer(prompt, add_special_tokens=False).input_ids
    cont = tokenizer(answer, add_special_tokens=False).input_ids
    with torch.no_grad():
        logprobs = torch.log_softmax(model(torch.tensor([ctx + cont])).logits[0].float(), -1)
    return cont, logprobs[len(ctx) - 1:len(ctx) - 1 + len(cont)]


def test_the_kl_is_the_dense_top_k_plus_one_bucket_of_a_full_forward(models):
    tokenizer, dense, candidate = models
    dense_records, cand_records = _passes(tokenizer, dense, candidate)
    for (prompt, answer), item_id in zip(ANSWERS, dense_records):
        d, c = forced.dists(dense_records[item_id]), forced.dists(cand_records[item_id])
        assert d is not None and c is not None
        f = generated_item(item_id, d, c)
        if not answer:
            assert f is None and d.tokens == ()   # nothing to compare; the item is left out, not counted as agreeing
            continue
        cont, p = _reference(dense, tokenizer, prompt, answer)
        _, q = _reference(candidate, tokenizer, prompt, answer)
        assert list(d.tokens) == cont == list(c.tokens)
        coarse, full, same, held = [], [], [], []
        for t, token in enumerate(cont):
            ids = list(dict.fromkeys([*p[t].topk(forced.TOP_K).indices.tolist(), token]))
            pk, qk = p[t, ids].exp(), q[t, ids].exp()
            p_other, q_other = 1 - pk.sum(), (1 - qk.sum()).clamp_min(1e-6)
            bucket = p_other * (p_other / q_other).log() if p_other > 1e-6 else 0.0
            coarse.append(float((pk * (pk.log() - qk.log())).sum() + bucket))
            full.append(float((p[t].exp() * (p[t] - q[t])).sum()))
            same.append(bool(p[t].argmax() == q[t].argmax()))
            held.append(float(pk.sum()) >= 0.995)
        assert f is not None and f.positions == len(cont)
        assert f.kl == pytest.approx(sum(coarse) / len(cont), rel=1e-3, abs=1e-4)
        assert f.kl <= sum(full) / len(cont) + 1e-4            # a lower bound of the full-vocabulary KL
        assert sum(full) / len(cont) > 0.01 and any(held)
        for c, k, h in zip(coarse, full, held):                 # ... that keeps most of it where the top-k holds
            assert c <= k + 1e-5 and (not h or c >= 0.5 * k)    # the mass (the tail's share is what it loses)
        assert f.token_same_top == pytest.approx(sum(same) / len(cont)) and f.same_top == all(same)


def test_a_model_forced_against_itself_agrees_everywhere(models):
    tokenizer, dense, _ = models
    dense_records, again = _passes(tokenizer, dense, dense)
    for item_id, record in dense_records.items():
        f = generated_item(item_id, forced.dists(record), forced.dists(again[item_id]))  # type: ignore[arg-type]
        assert f is None or (f.kl == pytest.approx(0.0, abs=1e-4) and f.same_top and f.token_same_top == 1.0)


def test_a_candidate_record_reports_its_top_token_and_the_dense_top_k(models):
    tokenizer, dense, candidate = models
    dense_records, cand_records = _passes(tokenizer, dense, candidate)
    d, c = forced.dists(dense_records["i1"]), forced.dists(cand_records["i1"])
    assert d is not None and c is not None
    for t in range(len(d.tokens)):
        assert len(d.top_ids[t]) == forced.TOP_K
        assert set(d.top_ids[t]) <= set(c.top_ids[t]) and len(c.top_ids[t]) <= forced.TOP_K + 1
    stored = dense_records["i1"].teacher
    assert stored is not None and all(round(x, forced.DIGITS) == x for x in stored["logprobs"])


def test_without_the_dense_pass_a_candidate_gets_none(models):
    tokenizer, _, candidate = models
    records = _records()
    bare = {r.item_id: dataclasses.replace(r, teacher=None) for r in records}
    assert forced.rows(HFBackend(candidate, tokenizer), records, bare) == []


# -- through the evaluator and the verdict ------------------------------------------------------
@pytest.fixture(scope="module")
def scored(tmp_path_factory, tiny_model_dir):
    tmp = tmp_path_factory.mktemp("forced")
    ev = evaluator(tmp, tiny_model_dir)
    pairs = {c: Pair("tiny", str(tiny_model_dir), c) for c in ("rtn-w8", "rtn-w2")}
    return tmp, ev, {c: ev.evaluate(pair, "trust_advglue") for c, pair in pairs.items()}


def test_the_evaluator_stores_both_passes_and_a_rerun_reuses_them(scored, tiny_model_dir):
    tmp, ev, results = scored
    result = results["rtn-w8"]
    assert all(r.teacher is not None for run in (result.dense, result.candidate) for r in run.records)
    summary = result.fidelity(0.95)
    assert summary is not None and result.fidelity_gap() is None and summary.token_same_top is not None
    # the candidate's pass is stored under the records' components plus the dense records it read
    components = ev.components(ev.model("tiny"), "rtn-w8", result.dataset)
    key = cache_key({**components, "forced_pass": forced.key(result.dense.cache_key)})
    assert set(ev.store.get(key)) == {i.id for i in result.dataset.items}
    again = evaluator(tmp, tiny_model_dir)
    rerun = again.evaluate(Pair("tiny", str(tiny_model_dir), "rtn-w8"), "trust_advglue")
    assert not again.load_info and rerun.fidelity(0.95) == summary   # nothing loaded: every pass was stored


def test_records_without_a_pass_say_fidelity_is_not_measured(scored):
    _, _, results = scored
    result = results["rtn-w8"]
    bare = dataclasses.replace(result.candidate, records=tuple(dataclasses.replace(r, teacher=None)
                                                               for r in result.candidate.records))
    unmeasured = dataclasses.replace(result, candidate=bare)
    assert unmeasured.fidelity(0.95) is None
    assert "cannot teacher-force" in (unmeasured.fidelity_gap() or "")
    floor = Floor("TWY", 0.5, "t", FidelityFloor(0.05, 0.6, "trust.yaml: fidelity.default"))
    verdict = judge(floor, Rule("catch-damage"), _trust(unmeasured))
    assert verdict.fidelity.outcome == "not measured" and verdict.outcome == verdict.decision.outcome
    assert dict(verdict.properties())["fidelity_unmeasured"].startswith("fidelity not measured on trust_advglue")


def _trust(result):
    return TrustResult(result.pair, "robustness", (result,), {"robustness": ("trust_advglue",)}, {"robustness": 2.0})


def test_a_candidate_that_moved_its_answers_fails_on_fidelity_with_that_reason(scored):
    _, _, results = scored
    damaged, mild = _trust(results["rtn-w2"]), _trust(results["rtn-w8"])
    fidelity = damaged.fidelity(0.95)
    assert fidelity is not None and fidelity.kl > mild.fidelity(0.95).kl   # type: ignore[union-attr]
    floor = Floor("robustness TWY", 0.01, "t", FidelityFloor(fidelity.kl_low / 2, 0.6, "trust.yaml: fidelity.default"))
    verdict = judge(floor, Rule("catch-damage"), damaged)
    assert verdict.decision.outcome != "fail"        # the score alone: a floor of 0.01 TWY fails nothing
    assert verdict.fidelity.outcome == "fail" and verdict.outcome == "fail" and not verdict.passed
    assert "fidelity to the dense model fails: mean KL" in verdict.message
    props = dict(verdict.properties())
    assert props["fidelity_outcome"] == "fail" and props["accuracy_outcome"] == verdict.decision.outcome
    assert float(props["fidelity_token_same_top"]) <= 1.0 and props["fidelity_method"]
