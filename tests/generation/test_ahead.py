"""Generation made ahead across datasets (medcheck.ahead): the loaded model's next generative
datasets are answered in one engine call, each dataset's records are what it would get alone,
and each dataset is charged its share of the batch's time."""

from __future__ import annotations

import dataclasses

import pytest

from medcheck.ahead import Ahead
from medcheck.backends import Generation, GenerationRequest
from medcheck.evaluate import Evaluator
from medcheck.pairs import Pair, PairsFile
from medcheck.settings import Settings
from medcheck.store import ResultStore

DATASETS = ("medqa_gen", "ddi", "trust_jailbreak")


class Echo:
    """An engine that answers each prompt with its reverse and counts its calls."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def generate(self, requests, on_token=None):
        self.calls.append(len(requests))
        return [Generation(r.prompt[::-1], 3, len(r.prompt), "eos", 0.1, None, 4) for r in requests]

    def chat(self, user):
        return user, False


def test_made_ahead_then_handed_out_in_order_and_charged_by_tokens():
    engine = Echo()
    ahead = Ahead(engine)
    a, b, c = (GenerationRequest(p) for p in ("ab", "cdef", "ghi"))
    ahead.fill([a, b, c, a])
    assert engine.calls == [4] and ahead.has([a, a, b, c]) and not ahead.has([a, a, a])
    assert ahead.chat("x") == ("x", False)                     # everything else is the engine's
    out = ahead.generate([b, a])
    assert [o.text for o in out] == ["fedc", "ba"] and engine.calls == [4]
    work = {"ab": 6, "cdef": 8, "ghi": 7}                       # prompt + computed tokens
    assert out[0].cost == pytest.approx(ahead.fill_seconds * 8 / (6 + 8 + 7 + 6), abs=1e-6)
    assert ahead.charged == pytest.approx(sum(o.cost for o in out))
    more = ahead.generate([a, a, c])                          # one `a` left: the second is generated now
    assert engine.calls == [4, 1] and [o.text for o in more] == ["ba", "ba", "ihg"]
    assert work   # (the shares above use these token counts)


def evaluator(tmp_path, tiny_model_dir):
    pairs = PairsFile("test", "option-text", {"tiny": str(tiny_model_dir)}, ("rtn-w8",))
    s = Settings(limit=4, cache_dir=tmp_path, dtype="float32")
    return Evaluator(s, pairs, ResultStore(tmp_path / "results.sqlite"), budgets=lambda d: {"max_new_tokens": 6})


def test_a_plan_of_three_datasets_is_generated_in_one_call_per_model(tmp_path, tiny_model_dir, monkeypatch):
    sizes: list[int] = []
    fill = Ahead.fill

    def counted(self, requests, on_token=None):
        sizes.append(len(requests))
        return fill(self, requests, on_token)

    charged: list[tuple[float, float]] = []   # per handout: (its costs, the fills' wall time so far)
    handout = Ahead.generate

    def recorded(self, requests, on_token=None):
        out = handout(self, requests, on_token)
        charged.append((sum(o.cost or 0.0 for o in out), self.fill_seconds))
        return out

    monkeypatch.setattr(Ahead, "fill", counted)
    monkeypatch.setattr(Ahead, "generate", recorded)
    pair = Pair("tiny", str(tiny_model_dir), "rtn-w8")
    ev = evaluator(tmp_path / "planned", tiny_model_dir)
    ev.plan([(pair, d) for d in DATASETS])
    together = {d: ev.evaluate(pair, d) for d in DATASETS}
    assert sizes == [12, 12]   # dense, then rtn-w8: 3 datasets x 4 items in one fill each

    sizes.clear()
    alone = {}
    for d in DATASETS:                                          # no plan: each dataset on its own
        one = evaluator(tmp_path / d, tiny_model_dir)
        alone[d] = one.evaluate(pair, d)
    assert sizes == [4] * 6
    for d in DATASETS:
        for side in ("dense", "candidate"):
            mine, theirs = getattr(together[d], side), getattr(alone[d], side)
            assert [r.item_id for r in mine.records] == [r.item_id for r in theirs.records]
            assert [r.texts for r in mine.records] == [r.texts for r in theirs.records], (d, side)
            assert mine.seconds > 0 and all(r.timing["seconds"] > 0 for r in mine.records)
    # every dataset is charged its share of the batch (by tokens), not the first one the whole of it
    dense = charged[:len(DATASETS)]
    assert all(0 < cost < fill for cost, fill in dense)
    assert sum(cost for cost, _ in dense) == pytest.approx(dense[0][1], abs=1e-3)
    assert dataclasses.is_dataclass(together["ddi"].dense)


def test_a_planned_dataset_that_cannot_load_fails_its_own_evaluation_only(tmp_path, tiny_model_dir, monkeypatch):
    """A track's dataset missing from the data dir: its error is its own, not that of the dataset
    whose evaluation first loaded the model (which scores every planned dataset it can)."""
    from medcheck import datasets

    real = datasets.load

    def load(dataset_id, *args, **kwargs):
        if dataset_id == "pubmed_qa":
            raise FileNotFoundError("pubmed_qa/ori_pqal.json: file not found")
        return real(dataset_id, *args, **kwargs)

    monkeypatch.setattr(datasets, "load", load)
    pair = Pair("tiny", str(tiny_model_dir), "rtn-w8")
    ev = evaluator(tmp_path, tiny_model_dir)
    ev.plan([(pair, d) for d in ("medqa_gen", "mmlu_anatomy", "pubmed_qa", "ddi")])
    assert len(ev.evaluate(pair, "medqa_gen").candidate.records) == 4   # generates ahead for ddi too
    assert len(ev.evaluate(pair, "mmlu_anatomy").candidate.records) == 4
    with pytest.raises(FileNotFoundError, match="pubmed_qa"):
        ev.evaluate(pair, "pubmed_qa")
    assert len(ev.evaluate(pair, "ddi").dense.records) == 4


def test_a_dataset_whose_prompts_fail_fails_its_own_evaluation_only(tmp_path, tiny_model_dir, monkeypatch):
    """The fill of one dataset builds the next datasets' prompts too; one that cannot (a malformed
    few-shot pool, say) is left out of the fill and fails its own evaluation, not this one."""
    from medcheck import task_kinds

    kind = task_kinds.of("generate")
    real = type(kind).requests

    def requests(self, backend, dataset, items, prompting):
        if dataset.id == "ddi":
            raise ValueError("ddi: malformed few-shot pool")
        return real(self, backend, dataset, items, prompting)

    monkeypatch.setattr(type(kind), "requests", requests)
    pair = Pair("tiny", str(tiny_model_dir), "rtn-w8")
    ev = evaluator(tmp_path, tiny_model_dir)
    ev.plan([(pair, d) for d in ("medqa_gen", "ddi")])
    assert len(ev.evaluate(pair, "medqa_gen").candidate.records) == 4
    with pytest.raises(ValueError, match="ddi: malformed"):
        ev.evaluate(pair, "ddi")


def test_a_fill_reports_progress_as_tokens_arrive(tmp_path, tiny_model_dir):
    """A fill of many answers takes minutes on a CPU: its line advances per generated token, not
    only when the last answer ends."""
    from medcheck.evaluate import Progress

    events: list[tuple[str, int, int]] = []

    class Recording(Progress):
        def start(self, label, total, unit="prompt tokens", budget=None):
            events.append(("start:" + label, total, budget or 0))

        def advance(self, items, tokens=0):
            events.append(("advance", items, tokens))

    pairs = PairsFile("test", "option-text", {"tiny": str(tiny_model_dir)}, ("rtn-w8",))
    ev = Evaluator(Settings(limit=4, cache_dir=tmp_path, dtype="float32"), pairs,
                   ResultStore(tmp_path / "results.sqlite"), progress=Recording,
                   budgets=lambda d: {"max_new_tokens": 6})
    pair = Pair("tiny", str(tiny_model_dir), "rtn-w8")
    ev.plan([(pair, d) for d in DATASETS[:2]])
    ev.run("tiny", "dense", DATASETS[0])
    start = next(k for k, e in enumerate(events) if "generating 8 answers for 2 datasets" in e[0])
    assert events[start][2] == 8 * 6   # the fill's token budget: 8 answers of at most 6 tokens
    fill = events[start + 1:start + 1 + next(k for k, e in enumerate(events[start + 1:]) if e[1])]
    assert len(fill) > 8 and all(e == ("advance", 0, 1) for e in fill)   # one per generated token
    assert events[start + 1 + len(fill)] == ("advance", 8, 0)              # then the answers, once


def test_the_terminal_line_estimates_a_fill_from_its_token_budget(capsys):
    """Before a fill's first answer ends there is no item rate; the token budget still bounds the work."""
    from medcheck_pytest.evaluation import TerminalProgress

    bar = TerminalProgress()
    bar.start("m/dense generating 8 answers for 2 datasets", 8, "generated tokens", budget=800)
    bar.t0 -= 10.0                      # 10 s in, 100 tokens made: 700 to go at 10/s
    bar.advance(0, 100)
    bar._write(final=False)
    assert "up to ~70 s left" in capsys.readouterr().err
    bar = TerminalProgress()
    bar.start("m/dense medqa", 8)
    bar._write(final=False)
    assert "time left unknown" in capsys.readouterr().err


def test_the_terminal_line_waits_for_a_rate_before_its_first_estimate(capsys):
    """The first token of a fill arrives after a whole batch's prefill: a line written then
    promised hours for a fill of two minutes. The first line waits an interval, as the others do."""
    from medcheck_pytest.evaluation import TerminalProgress

    bar = TerminalProgress()
    bar.start("m/dense generating 8 answers for 2 datasets", 8, "generated tokens", budget=800)
    bar.tty = False
    bar.advance(0, 1)
    assert capsys.readouterr().err == ""
    bar.advance(8, 0)                    # the last answer: always written
    assert "8/8 items" in capsys.readouterr().err


def test_a_final_line_says_what_it_took_and_rates_only_what_was_timed(capsys):
    """A finished line gives its time, not "~0 s left"; a dataset whose answers were handed out from a
    fill (a millisecond) gets counts without rates ("3240 items/s" measured nothing)."""
    from medcheck_pytest.evaluation import TerminalProgress

    bar = TerminalProgress()
    bar.start("m/dense medqa", 10)
    bar.t0 -= 2.0
    bar.advance(10, 400)
    err = capsys.readouterr().err
    assert "10/10 items in 2.0 s, 5.0 items/s, 400 prompt tokens (200/s)" in err and "left" not in err
    bar = TerminalProgress()
    bar.start("m/dense ddi (answers generated above)", 5, "generated tokens")
    bar.advance(5, 40)
    err = capsys.readouterr().err
    assert "5/5 items in 0.0 s, 40 generated tokens\n" in err and "/s" not in err


def test_a_note_is_a_line_in_a_log_and_rewritten_in_place_on_a_terminal(capsys):
    """A model's load is announced, then timed: two lines in a CI log; on a terminal the timed line
    replaces the announcement (and clears what a longer one left)."""
    from medcheck_pytest.evaluation import TerminalProgress

    bar = TerminalProgress()
    bar.tty = False
    bar.note("loading m/c (float32, cpu) ...", done=False)
    bar.note("loaded m/c in 1.0 s")
    assert capsys.readouterr().err == "medcheck: loading m/c (float32, cpu) ...\nmedcheck: loaded m/c in 1.0 s\n"
    bar.tty = True
    bar.note("loading m/c (float32, cpu) ...", done=False)
    bar.note("loaded m/c in 1.0 s")
    assert capsys.readouterr().err == ("\rmedcheck: loading m/c (float32, cpu) ...\x1b[K"
                                       "\rmedcheck: loaded m/c in 1.0 s\x1b[K\n")


def test_a_worker_scores_datasets_nobody_else_is_scoring_before_waiting(tmp_path, tiny_model_dir, monkeypatch):
    """Two xdist workers need one dense reference: while another process scores a dataset (holds its
    claim), this one takes the next multiple-choice dataset nobody is scoring instead of waiting;
    never a generative one out of order (the other's batches made those answers ahead)."""
    from medcheck.compression import DENSE
    from medcheck.store import cache_key

    pair = Pair("tiny", str(tiny_model_dir), "rtn-w8")
    ev = evaluator(tmp_path, tiny_model_dir)
    planned = ["medqa_gen", "ddi", "mmlu_anatomy", "medqa"]   # two generative, then two multiple choice
    ev.plan([(pair, d) for d in planned])
    elsewhere = {cache_key(ev.components(ev.model("tiny"), DENSE, ev.dataset(d))) for d in ("medqa_gen", "medqa")}
    monkeypatch.setattr(ResultStore, "busy", lambda self, key: key in elsewhere)
    order: list[tuple[str, str]] = []
    run_one = Evaluator._run_one

    def recorded(self, model, compression, dataset_id, n):
        order.append((compression, dataset_id))
        return run_one(self, model, compression, dataset_id, n)

    monkeypatch.setattr(Evaluator, "_run_one", recorded)
    ev.evaluate(pair, "medqa_gen")
    dense = [d for c, d in order if c == DENSE]
    # medqa_gen is busy: mmlu_anatomy (free, multiple choice) first, not ddi (generative) nor medqa (busy);
    # then nothing free is left that may go out of order, so the busy first one is waited for
    assert dense == ["mmlu_anatomy", "medqa_gen", "ddi", "medqa"]


def test_the_fixtures_print_by_name_under_a_failed_test():
    """pytest lists a failed test's arguments: the gate's fixtures read as what they are, not as
    "<function _recorded.<locals>.run at 0x...>", and still call through."""
    from medcheck_pytest.evaluation import _Call, _ThresholdView

    call = _Call("evaluate_track", lambda *args: args)
    assert repr(call) == "<medcheck evaluate_track>" and call(1, 2) == (1, 2)
    assert repr(_ThresholdView.__new__(_ThresholdView)) == "<medcheck thresholds>"
