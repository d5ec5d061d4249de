"""Safe by default: a checkpoint's own Python code runs only when the pairs file trusts that model.

The checkpoint is the tiny Llama re-declared as a custom architecture (`auto_map` in config.json
pointing at a module in the folder), whose module leaves a marker file when it is imported.
Without `trust_remote_code: [candidate]` the load must end in a MedcheckError and the marker must
not exist; with it, the module runs (so the refusal above is the switch, not a broken fixture).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from pathlib import Path

import pytest

from medcheck import pairs
from medcheck.errors import MedcheckError
from medcheck.evaluate import Evaluator
from medcheck.settings import Settings
from medcheck.store import ResultStore

MODULE = '''
import os
from pathlib import Path
from transformers import LlamaConfig, LlamaForCausalLM

Path(os.environ["MEDCHECK_TEST_CODE_RAN"]).write_text("imported")


class MarkedConfig(LlamaConfig):
    model_type = "marked-llama"


class MarkedForCausalLM(LlamaForCausalLM):
    config_class = MarkedConfig
'''


def _custom_checkpoint(tiny_model_dir: Path, out: Path) -> Path:
    shutil.copytree(tiny_model_dir, out)
    config = json.loads((out / "config.json").read_text())
    config.update(model_type="marked-llama", architectures=["MarkedForCausalLM"],
                  auto_map={"AutoConfig": "marked.MarkedConfig", "AutoModelForCausalLM": "marked.MarkedForCausalLM"})
    (out / "config.json").write_text(json.dumps(config))
    (out / "marked.py").write_text(MODULE)
    return out


def _evaluate(tmp_path: Path, checkpoint: Path, trusted: bool) -> None:
    tmp_path.mkdir()
    pairs_file = tmp_path / "pairs.yaml"
    pairs_file.write_text(f"protocol: option-text\nmodels:\n  candidate: '{checkpoint}'\ncompressions: [rtn-w8]\n"
                          + ("trust_remote_code: [candidate]\n" if trusted else ""))
    settings = Settings(limit=2, cache_dir=tmp_path / "cache", dtype="float32", device="cpu")
    evaluator = Evaluator(settings, pairs.load(pairs_file), ResultStore(None))
    try:
        evaluator.evaluate(evaluator.pairs.pairs()[0], "medqa")
    finally:
        evaluator.release()


def test_checkpoint_code_never_runs_unless_trusted(tmp_path: Path, tiny_model_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers.dynamic_module_utils as dynamic

    # transformers copies trusted code into its modules cache and puts that on sys.path: keep both here
    monkeypatch.setattr(dynamic, "HF_MODULES_CACHE", str(tmp_path / "modules"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    marker = tmp_path / "CODE_RAN"
    monkeypatch.setenv("MEDCHECK_TEST_CODE_RAN", str(marker))
    checkpoint = _custom_checkpoint(tiny_model_dir, tmp_path / "custom")
    with pytest.raises(MedcheckError) as refused:
        _evaluate(tmp_path / "untrusted", checkpoint, trusted=False)
    assert "trust_remote_code" in str(refused.value), str(refused.value)
    assert not marker.exists(), "the checkpoint's code ran without trust_remote_code"
    # whether the marked model then scores is not the point: its code was allowed to run
    with contextlib.suppress(MedcheckError):
        _evaluate(tmp_path / "trusted", checkpoint, trusted=True)
    assert marker.exists(), "trust_remote_code did not let the checkpoint's code run"
