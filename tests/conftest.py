"""Shared test fixtures: a tiny random Llama with the embedded model's tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcheck.settings import default_cache_dir
from tests.gate_project import _import_once, gate  # noqa: F401  (fixtures for pytester runs)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
USER_CACHE = default_cache_dir()   # read at import: pytester later points HOME at a tmp dir


@pytest.fixture(scope="session")
def embedded_dir() -> Path:
    """The converted embedded checkpoint (`python -m medcheck setup` puts it in the cache)."""
    from medcheck.models import resolve

    return Path(resolve("embedded:smollm2-135m", USER_CACHE).path)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, embedded_dir: Path) -> Path:
    """A 2-layer random Llama sharing the embedded tokenizer: real code paths, fast."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(embedded_dir)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=2048, tie_word_embeddings=True,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    out = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out
