"""The hf backend's teacher-forced distributions equal a plain full forward's log-softmax."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from medcheck.backends.hf import HFBackend
from medcheck.backends.prefixes import families
from medcheck.backends.teacher import TokenDists, teacher_forcing
from medcheck.fidelity import generated_item


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    return model, tokenizer


REQUESTS = [
    ("Question: Which organ filters blood?\nAnswer:", " The kidney, mostly."),
    ("<|im_start|>user\nIs aspirin an NSAID? Answer yes or no.<|im_end|>\n<|im_start|>assistant\n", "yes"),
    ("Abstract: A short trial.\nQuestion: Did it work?\nAnswer:", " maybe, the trial was small and underpowered"),
    ("Say nothing.", ""),
]
HEAD = ("<|im_start|>system\nYou are a careful clinician. Answer briefly and cite no sources.<|im_end|>\n"
        "<|im_start|>user\n")
SHARED = [   # one family: the head is computed once, each member's own tokens on top of it
    (HEAD + "Is aspirin an NSAID?<|im_end|>\n<|im_start|>assistant\n", "Yes, it is."),
    (HEAD + "Which organ filters blood?<|im_end|>\n<|im_start|>assistant\n", " The kidney"),
    (HEAD + "Name a beta blocker.<|im_end|>\n<|im_start|>assistant\n", "Metoprolol, for one."),
]


def reference(model, tokenizer, prompt: str, continuation: str, k: int):
    """One full forward of prompt + answer tokens, log_softmax, the answer positions."""
    ctx = tokenizer(prompt, add_special_tokens=False).input_ids
    cont = tokenizer(continuation, add_special_tokens=False).input_ids if continuation else []
    with torch.no_grad():
        logprobs = torch.log_softmax(model(torch.tensor([ctx + cont])).logits[0].float(), -1)
    rows = logprobs[len(ctx) - 1:len(ctx) - 1 + len(cont)]
    return cont, rows, rows.topk(k, -1)


@pytest.mark.parametrize("batch_tokens", [16, 8192])
@pytest.mark.parametrize("requests", [REQUESTS, SHARED + REQUESTS], ids=["apart", "shared-prefix"])
def test_matches_full_forward(tiny, batch_tokens, requests):
    model, tokenizer = tiny
    backend = HFBackend(model, tokenizer, batch_tokens=batch_tokens)
    assert teacher_forcing(backend) is backend
    got = backend.token_distributions(requests, top_k=5)
    assert len(got) == len(requests)
    heads = families([tokenizer(p, add_special_tokens=False).input_ids for p, _ in requests[:3]])
    one_family = requests[0][0].startswith(HEAD)
    assert (len({h for h, _ in heads}), heads[0][1] > 16) == ((1, True) if one_family else (3, False))
    for (prompt, continuation), d in zip(requests, got):
        cont, rows, (top_lp, top_id) = reference(model, tokenizer, prompt, continuation, 5)
        assert list(d.tokens) == cont
        if not cont:
            assert d.top_ids == () and d.context_tokens > 0
            continue
        target = rows.gather(1, torch.tensor(cont)[:, None])[:, 0]
        assert d.logprobs == pytest.approx(target.tolist(), abs=1e-4)
        assert [list(r) for r in d.top_ids] == top_id.tolist()
        assert [x for r in d.top_logprobs for x in r] == pytest.approx(top_lp.flatten().tolist(), abs=1e-4)


def test_extra_ids_report_exact_logprobs(tiny):
    model, tokenizer = tiny
    backend = HFBackend(model, tokenizer)
    prompt, continuation = REQUESTS[0]
    cont, rows, _ = reference(model, tokenizer, prompt, continuation, 3)
    extra = [[11, 12, 13]] * len(cont)
    (d,) = backend.token_distributions([(prompt, continuation)], top_k=3, extra_ids=[extra])
    for t, (ids, lps) in enumerate(zip(d.top_ids, d.top_logprobs)):
        assert len(ids) == len(set(ids)) and {11, 12, 13} <= set(ids)
        for i, lp in zip(ids, lps):
            assert lp == pytest.approx(rows[t, i].item(), abs=1e-4)


def test_a_model_against_itself_is_perfectly_faithful(tiny):
    model, tokenizer = tiny
    backend = HFBackend(model, tokenizer)
    (d,) = backend.token_distributions(REQUESTS[2:3], top_k=5)
    f = generated_item("x", d, d)
    assert f is not None and f.kl == 0.0 and f.same_top and f.token_same_top == 1.0
    assert isinstance(d, TokenDists)


def test_long_requests_keep_the_tail_of_the_prompt(tiny):
    model, tokenizer = tiny
    backend = HFBackend(model, tokenizer, max_length=32)
    (d,) = backend.token_distributions([("word " * 100, " and the answer")], top_k=2)
    assert d.context_tokens + len(d.tokens) <= 32 and len(d.tokens) > 0
