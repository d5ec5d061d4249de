"""A candidate that fails the warm-up is an error only where its dense model passes it, and the
decision is the same whether or not the dense model was loaded earlier in the run (a resumed run
whose dense results all come from the store loads the dense model once to tell)."""

from __future__ import annotations

import pytest

from medcheck.backends import Loaded
from medcheck.compression import DENSE, LoadOptions
from medcheck.errors import ModelLoadError
from medcheck.evaluate import Evaluator
from medcheck.loads import Loads
from medcheck.pairs import PairsFile
from medcheck.settings import Settings
from medcheck.store import ResultStore

BAD = {"ok": False, "reason": "generation repeats one token", "output": "\n\n"}
GOOD = {"ok": True, "reason": "", "output": "Nitrofurantoin."}


class _Closable:
    def __init__(self, log: list[str], label: str) -> None:
        self.log, self.label = log, label

    def close(self) -> None:
        self.log.append(f"close {self.label}")


def _evaluator(tmp_path, warmups: dict[str, dict], said: list | None = None) -> tuple[Evaluator, list[str]]:
    log: list[str] = []

    class Engine:
        @staticmethod
        def load(label, model, compression, options, *, batch_tokens):
            log.append(f"load {compression}")
            return Loaded(_Closable(log, compression), {"warmup": warmups[compression]})

    ev = Evaluator(Settings(cache_dir=tmp_path, dtype="float32"),
                   PairsFile("test", "option-text", {"m": "x"}, ("rtn-w2",)), ResultStore(None))
    say = (lambda text, done: said.append((text, done))) if said is not None else (lambda text, done: None)
    ev.loads = Loads(Engine, lambda name: None, lambda name, model: LoadOptions("float32", "cpu"),  # type: ignore[arg-type]
                     None, say)   # type: ignore[arg-type]
    return ev, log


def test_a_load_is_announced_then_timed(tmp_path):
    said: list = []
    ev, _ = _evaluator(tmp_path, {DENSE: GOOD, "rtn-w2": GOOD}, said)
    ev.backend("m", "rtn-w2")
    assert said[0] == ("loading m/rtn-w2 (float32, cpu) ...", False)   # a long load is not silent
    assert said[1][1] and said[1][0].startswith("loaded m/rtn-w2 in ") and said[1][0].endswith(" s")
    assert len(said) == 2


@pytest.mark.parametrize("dense_loaded_first", [True, False])
def test_broken_candidate_fails_when_dense_warms_up(tmp_path, dense_loaded_first):
    ev, log = _evaluator(tmp_path, {DENSE: GOOD, "rtn-w2": BAD})
    if dense_loaded_first:
        ev.backend("m", DENSE)
    with pytest.raises(ModelLoadError, match="m/rtn-w2 is broken: warm-up generation repeats one token"):
        ev.backend("m", "rtn-w2")
    expected = ([f"load {DENSE}", f"close {DENSE}", "load rtn-w2", "close rtn-w2"] if dense_loaded_first
                else ["load rtn-w2", "close rtn-w2", f"load {DENSE}", f"close {DENSE}"])
    assert log == expected                  # each model loaded once, and nothing left open


@pytest.mark.parametrize("dense_loaded_first", [True, False])
def test_broken_candidate_is_scored_when_dense_fails_too(tmp_path, dense_loaded_first):
    ev, log = _evaluator(tmp_path, {DENSE: BAD, "rtn-w2": BAD})
    if dense_loaded_first:
        ev.backend("m", DENSE)
    backend = ev.backend("m", "rtn-w2")
    assert backend.label == "rtn-w2" and log[-1] == "load rtn-w2"   # scored, still open
    assert ev.load_info[("m", DENSE)]["warmup"]["ok"] is False
    if not dense_loaded_first:   # the candidate is closed while the dense model is tried, then reloaded
        assert log == ["load rtn-w2", "close rtn-w2", f"load {DENSE}", f"close {DENSE}", "load rtn-w2"]


def test_healthy_candidate_never_loads_the_dense_model(tmp_path):
    ev, log = _evaluator(tmp_path, {DENSE: GOOD, "rtn-w2": GOOD})
    ev.backend("m", "rtn-w2")
    assert log == ["load rtn-w2"]
