"""Tiny random Llama models, random-token calibration sets and a logits helper for these tests."""

from __future__ import annotations

from typing import Any

import torch

VOCAB = 256


def tiny_llama(n_layers: int = 2, seed: int = 0, **overrides: Any) -> Any:
    """A float32 random Llama: hidden 64, 4 heads, 2 kv heads, intermediate 128, vocab 256."""
    from transformers import LlamaConfig, LlamaForCausalLM

    settings = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=n_layers,
                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                    pad_token_id=0, eos_token_id=None, bos_token_id=None)
    settings.update(overrides)
    torch.manual_seed(seed)
    return LlamaForCausalLM(LlamaConfig(**settings)).eval()


def random_calibration(n: int = 4, length: int = 32, seed: int = 1) -> list[torch.Tensor]:
    """`n` LongTensors of shape [1, length], like calibration_batches returns."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, VOCAB, (1, length), generator=g) for _ in range(n)]


def logits(model: Any, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids, use_cache=False).logits


def probe_ids(length: int = 24) -> torch.Tensor:
    """Token ids to compare logits on, drawn apart from the calibration sets."""
    return torch.randint(0, VOCAB, (1, length), generator=torch.Generator().manual_seed(99))
