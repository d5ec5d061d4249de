"""The hf backend's generation: greedy equals a hand-rolled argmax loop; sampling is seeded;
stop sequences, token limits, batching and the streaming hook behave as the interface says."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from medcheck.backends import GenerationRequest
from medcheck.backends.hf import HFBackend
from medcheck.compression import LoadOptions
from medcheck.models import ResolvedModel

PROMPTS = ["Question: Which organ filters blood?\nAnswer:", "The kidney is", "Aspirin inhibits"]


@pytest.fixture(scope="module")
def backend(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    return HFBackend(model, tokenizer)


def greedy_reference(backend: HFBackend, prompt: str, steps: int) -> list[int]:
    ids = backend.tokenizer(prompt, add_special_tokens=False, return_tensors="pt").input_ids
    out = []
    with torch.no_grad():
        for _ in range(steps):
            nxt = int(backend.model(ids).logits[0, -1].argmax())
            out.append(nxt)
            ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
    return out


def test_greedy_matches_an_argmax_loop(backend):
    (gen,) = backend.generate([GenerationRequest(PROMPTS[0], max_new_tokens=6, min_new_tokens=6)])
    expected = backend.tokenizer.decode(greedy_reference(backend, PROMPTS[0], 6), skip_special_tokens=True)
    assert gen.text == expected and gen.new_tokens == 6 and gen.finish == "length"
    assert gen.ttft_s is not None and 0 < gen.ttft_s <= gen.seconds


def test_batched_equals_one_at_a_time(backend):
    requests = [GenerationRequest(p, max_new_tokens=5, min_new_tokens=5) for p in PROMPTS]
    together = backend.generate(requests)
    alone = [backend.generate([r])[0] for r in requests]
    assert [g.text for g in together] == [g.text for g in alone]
    assert [g.prompt_tokens for g in together] == [g.prompt_tokens for g in alone]


def test_batches_hold_a_token_budget_and_keep_the_order():
    from medcheck.backends.hf_generate import batches

    assert batches([300] * 10, 64, 8, 8192) == [list(range(8)), [8, 9]]          # short prompts: 8 at a time
    assert batches([3000] * 5, 64, 8, 8192) == [[0, 1], [2, 3], [4]]             # 2 x 3064 fits, 3 x does not
    assert batches([100, 9000, 100, 100], 64, 8, 8192) == [[0], [1], [2, 3]]     # too long alone: alone
    assert batches([], 64, 8, 8192) == []


@pytest.mark.parametrize("device, cap", [("cpu", 2048), (torch.device("cpu"), 2048), ("cuda", 8192)])
def test_scoring_runs_bound_padding_and_a_cpu_forward(device, cap):
    from medcheck.backends.hf_generate import scoring_runs

    lengths = [300, 290, 280, 100, 95, 90, 30, 29] + [20] * 200   # sorted longest first, as the callers sort
    runs = scoring_runs(lengths, device, 8192)
    assert [i for run in runs for i in run] == list(range(len(lengths)))   # consecutive, every row once
    for run in runs:
        padded, own = len(run) * max(lengths[i] for i in run), sum(lengths[i] for i in run)
        assert len(run) == 1 or (padded <= 1.1 * own and padded <= cap)
    tail = [run for run in runs if lengths[run[0]] == 20]
    assert len(tail) == (2 if cap == 2048 else 1)   # 200 x 20 tokens: split on a CPU, one batch elsewhere


def test_a_small_token_budget_changes_batches_not_answers(backend):
    requests = [GenerationRequest(p, max_new_tokens=5, min_new_tokens=5) for p in PROMPTS]
    narrow = HFBackend(backend.model, backend.tokenizer, batch_tokens=16).generate(requests)   # one at a time
    assert [g.text for g in narrow] == [g.text for g in backend.generate(requests)]


def test_sampling_is_seeded(backend):
    def sample(seed: int) -> str:
        request = GenerationRequest(PROMPTS[1], max_new_tokens=8, min_new_tokens=8, temperature=1.5, seed=seed)
        return backend.generate([request])[0].text

    assert sample(3) == sample(3)
    assert len({sample(s) for s in range(6)}) > 1   # a random 2-layer model at T=1.5 varies


def test_stop_sequence_cuts_the_text(backend):
    (full,) = backend.generate([GenerationRequest(PROMPTS[2], max_new_tokens=12, min_new_tokens=12)])
    stop = full.text[3:6]
    assert stop and stop in full.text
    (cut,) = backend.generate([GenerationRequest(PROMPTS[2], max_new_tokens=12, min_new_tokens=12, stop=(stop,))])
    assert cut.finish == "stop" and cut.text == full.text[:full.text.index(stop)]


def test_streaming_hook_sees_every_token(backend):
    seen: list[tuple[int, float]] = []
    requests = [GenerationRequest(p, max_new_tokens=4, min_new_tokens=4) for p in PROMPTS[:2]]
    backend.generate(requests, on_token=lambda i, t: seen.append((i, t)))
    assert sorted(i for i, _ in seen) == [0] * 4 + [1] * 4


def test_chat_renders_the_template(backend):
    text, templated = backend.chat("Why?")
    assert templated and "Why?" in text


def test_load_through_the_backend(tiny_model_dir: Path, tmp_path: Path):
    model = ResolvedModel(spec=str(tiny_model_dir), kind="local", path=str(tiny_model_dir), fingerprint="f" * 64)
    options = LoadOptions(dtype="float32", device="cpu", cache_dir=tmp_path, base_fingerprint="f" * 64)
    loaded = HFBackend.load("tiny/dense", model, "dense", options)
    assert loaded.info["strategy"] and loaded.info["warmup"]["new_tokens"] > 0
    footprint = loaded.backend.footprint()
    assert footprint.weight_bytes > 0 and footprint.bits_per_weight == pytest.approx(32, abs=0.5)
    memory, kind = loaded.backend.peak_memory(lambda: loaded.backend.generate([GenerationRequest("Hi", 4)]))
    assert memory >= footprint.weight_bytes and kind.startswith("cpu")
    assert "transformers" in HFBackend.version()
    loaded.backend.close()


def test_a_load_draws_no_bar_of_its_own_and_leaves_bars_as_they_were(tiny_model_dir: Path, tmp_path: Path, capfd):
    """The run announces and times each load itself; transformers' bar would only lengthen a failed
    test's captured output."""
    from transformers.utils import logging as hf_logging

    model = ResolvedModel(spec=str(tiny_model_dir), kind="local", path=str(tiny_model_dir), fingerprint="f" * 64)
    options = LoadOptions(dtype="float32", device="cpu", cache_dir=tmp_path, base_fingerprint="f" * 64)
    hf_logging.enable_progress_bar()
    HFBackend.load("tiny/dense", model, "dense", options).backend.close()
    assert "Loading weights" not in capfd.readouterr().err and hf_logging.is_progress_bar_enabled()


class _Spy:
    """Records the batch and width of every forward pass of the wrapped model."""

    def __init__(self, model):
        self.model, self.shapes = model, []

    def __enter__(self):
        original = self.model.forward

        def forward(*args, **kwargs):
            self.shapes.append(tuple(kwargs["input_ids"].shape))
            return original(*args, **kwargs)

        self.model.forward = forward
        return self

    def __exit__(self, *exc):
        del self.model.forward


def test_an_ended_row_leaves_the_batch(backend):
    fixed = [GenerationRequest(p, max_new_tokens=10, min_new_tokens=10) for p in PROMPTS]
    (full, *_) = backend.generate(fixed)
    stop = full.text[2:5]
    requests = [GenerationRequest(PROMPTS[0], max_new_tokens=10, min_new_tokens=10, stop=(stop,)), *fixed[1:]]
    with _Spy(backend.model) as spy:
        together = backend.generate(requests)
    assert together[0].finish == "stop" and together[0].text == full.text[:full.text.index(stop)]
    assert together[0].computed_tokens < 10
    assert [g.text for g in together[1:]] == [backend.generate([r])[0].text for r in fixed[1:]]
    # the prompts make token 1; then 3 rows step until the stop, and 2 after it: the ended row costs nothing more
    steps = [b for b, width in spy.shapes if width == 1]
    assert len(steps) == 9 and steps.count(3) == together[0].computed_tokens - 1 and steps[-1] == 2


def test_computed_tokens_count_what_the_model_produced(backend):
    (fixed,) = backend.generate([GenerationRequest(PROMPTS[1], max_new_tokens=7, min_new_tokens=7)])
    assert fixed.new_tokens == fixed.computed_tokens == 7
    stop = fixed.text[4:7]
    (cut,) = backend.generate([GenerationRequest(PROMPTS[1], max_new_tokens=7, min_new_tokens=7, stop=(stop,))])
    assert cut.new_tokens < cut.computed_tokens <= 7


def test_batches_are_formed_by_prompt_length_and_answer_in_request_order(backend):
    from medcheck.backends.hf_generate import by_length, generate, prefill_groups

    assert by_length([5, 50, 5, 20]) == [1, 3, 0, 2]
    assert prefill_groups([100, 95, 90, 30, 29, 10]) == [[0, 1, 2], [3, 4], [5]]   # padding <= 25% a group
    assert prefill_groups([3000, 2900, 2800]) == [[0], [1], [2]]                     # <= 1024 tokens a group
    assert prefill_groups([600, 500, 400, 400]) == [[0], [1, 2], [3]]
    long = "Kidney stones form when urine holds too much calcium. " * 4   # shares no prefix with PROMPTS[0]
    prompts = [PROMPTS[1], PROMPTS[0] * 4, PROMPTS[2], long]   # short, long, short, long
    requests = [GenerationRequest(p, max_new_tokens=3, min_new_tokens=3) for p in prompts]
    with _Spy(backend.model) as spy:
        paired = generate(backend.model, backend.tokenizer, requests, batch=2)
    prefills = [shape for shape in spy.shapes if shape[1] > 1]
    width = [len(ids) for ids in backend.tokenizer(prompts, add_special_tokens=False)["input_ids"]]
    assert prefills == [(2, max(width[1], width[3])), (2, max(width[0], width[2]))]   # long with long, short with short
    assert [g.text for g in paired] == [backend.generate([r])[0].text for r in requests]


def test_a_seeded_draw_does_not_depend_on_its_batch_mates(backend):
    draw = GenerationRequest(PROMPTS[1], max_new_tokens=6, min_new_tokens=6, temperature=1.5, seed=7)
    mates = [GenerationRequest(p, max_new_tokens=6, min_new_tokens=6) for p in PROMPTS]
    assert backend.generate([draw])[0].text == backend.generate([*mates, draw])[-1].text


def test_a_shared_prompt_prefix_is_computed_once(backend):
    from medcheck.backends.hf_generate import generate

    head = "You are a careful clinician. Read the case, then answer in one word. " * 3
    tails = ("Fever and a dry cough:", "Chest pain on exertion:", "Sudden weakness of one arm:")
    prompts = [head + tail for tail in tails]
    prompts.append("Aspirin inhibits")   # shares nothing with them: its own forward pass
    requests = [GenerationRequest(p, max_new_tokens=4, min_new_tokens=4) for p in prompts]
    with _Spy(backend.model) as spy:
        together = generate(backend.model, backend.tokenizer, requests)
    ids = backend.tokenizer(prompts, add_special_tokens=False)["input_ids"]
    common = next(k for k in range(len(ids[0])) if len({tuple(i[:k + 1]) for i in ids[:3]}) > 1)
    prefills = sorted(shape for shape in spy.shapes if shape[1] > 1)
    own = max(len(i) for i in ids[:3]) - common
    assert prefills == sorted([(1, common), (3, own), (1, len(ids[3]))])   # the head once, then the rest
    assert [g.text for g in together] == [backend.generate([r])[0].text for r in requests]
    assert [g.prompt_tokens for g in together] == [len(i) for i in ids]


def test_prompt_families_share_what_pays():
    from medcheck.backends.prefixes import families

    head = list(range(100, 140))   # 40 tokens in common
    prompts = [head + [1, 2], [7, 8, 9], head + [3], head + [4, 5, 6], head[:5] + [9]]
    out = families(prompts)
    assert out[0][1] == out[2][1] == out[3][1] == 40 and out[0][0] == out[2][0] == out[3][0]
    assert out[1] == (1, 0) and out[4] == (4, 0)   # 5 tokens shared with the others save less than a pass costs
    assert families([head + [1], head + [1]]) == [(0, 40), (0, 40)]   # identical: each keeps a token of its own
    assert families([[5], [5]]) == [(0, 0), (1, 0)] and families([]) == []
