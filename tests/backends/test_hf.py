"""The hf backend's packed scoring equals the plain one-sequence-per-continuation computation."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from medcheck.backends.hf import HFBackend
from medcheck.backends.teacher import option_distributions
from medcheck.prompts import Request


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    return model, tokenizer


def naive(model, tokenizer, request: Request) -> tuple[float, bool]:
    """One full forward per request, lm-eval's split of context and continuation."""
    context = request.context.rstrip(" ")
    continuation = request.context[len(context):] + request.continuation
    ctx = tokenizer(context, add_special_tokens=False).input_ids
    whole = tokenizer(context + continuation, add_special_tokens=False).input_ids
    with torch.no_grad():
        logprobs = torch.log_softmax(model(torch.tensor([whole])).logits[0].float(), -1)
    positions = range(len(ctx), len(whole))
    total = sum(logprobs[k - 1, whole[k]].item() for k in positions)
    greedy = all(logprobs[k - 1].argmax().item() == whole[k] for k in positions)
    return total, greedy


REQUESTS = [
    Request("The following makes sense: \nQ: Which organ filters blood?\nA: ", option)
    for option in ("The kidney", "The small intestine and the colon", "Lung", "Skin")
] + [
    Request("Question: Which vitamin is fat-soluble?\nA. C\nB. B12\nC. D\nD. B1\nAnswer:", f" {letter}")
    for letter in "ABCD"
] + [Request("Abstract: A short trial.\nQuestion: Did it work?\nAnswer:", " maybe")]


@pytest.mark.parametrize("batch_tokens", [256, 8192])
@pytest.mark.parametrize("pack", [True, False])
def test_matches_naive(tiny, batch_tokens, pack):
    model, tokenizer = tiny
    backend = HFBackend(model, tokenizer, batch_tokens=batch_tokens)
    backend.pack = pack
    got = backend.loglikelihood(REQUESTS)
    for request, result in zip(REQUESTS, got):
        expected, greedy = naive(model, tokenizer, request)
        assert result.logprob == pytest.approx(expected, abs=1e-4), request
        assert result.greedy == greedy
        assert result.tokens >= 1


@pytest.mark.parametrize("pack", [True, False])
def test_option_token_distributions_come_from_the_same_pass(tiny, pack):
    """loglikelihood_dists: the same log-likelihoods, and per option token the full forward's top-k."""
    model, tokenizer = tiny
    backend = HFBackend(model, tokenizer, batch_tokens=256)
    backend.pack = pack
    assert option_distributions(backend) is backend
    plain = backend.loglikelihood(REQUESTS)
    kept = backend.loglikelihood_dists(REQUESTS, top_k=4)
    assert [ll for ll, _ in kept] == plain
    for request, (ll, d) in zip(REQUESTS, kept):
        context = request.context.rstrip(" ")
        ctx = tokenizer(context, add_special_tokens=False).input_ids
        whole = tokenizer(context + request.context[len(context):] + request.continuation,
                          add_special_tokens=False).input_ids
        with torch.no_grad():
            logprobs = torch.log_softmax(model(torch.tensor([whole])).logits[0].float(), -1)
        rows = logprobs[len(ctx) - 1:len(whole) - 1]
        top_lp, top_id = rows.topk(4, -1)
        assert list(d.tokens) == whole[len(ctx):] and len(d.tokens) == ll.tokens
        assert sum(d.logprobs) == pytest.approx(ll.logprob, abs=1e-5)
        assert [list(r) for r in d.top_ids] == top_id.tolist()
        assert [x for r in d.top_logprobs for x in r] == pytest.approx(top_lp.flatten().tolist(), abs=1e-4)
    with pytest.raises(ValueError, match="top_k"):
        backend.loglikelihood_dists(REQUESTS, top_k=0)


def test_progress_counts_every_request(tiny):
    model, tokenizer = tiny
    seen = []
    HFBackend(model, tokenizer, batch_tokens=256).loglikelihood(REQUESTS, progress=seen.append)
    assert sum(seen) == len(REQUESTS)


def test_long_context_is_truncated_from_the_left(tiny):
    model, tokenizer = tiny
    backend = HFBackend(model, tokenizer, max_length=32)
    long = Request("word " * 200 + "\nAnswer:", " yes")
    (result,) = backend.loglikelihood([long])
    assert result.context_tokens <= 32
    assert result.logprob < 0


def test_describe_names_dtype_and_device(tiny):
    model, tokenizer = tiny
    info = HFBackend(model, tokenizer).describe()
    assert info["dtype"] == "float32" and info["device"] == "cpu" and info["packed"] is True
