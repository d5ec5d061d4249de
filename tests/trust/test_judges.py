"""Pluggable refusal judges, run for real: a tiny text-classification checkpoint saved and loaded from
disk with the network off, and an OpenAI-compatible endpoint served by a local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from medcheck.errors import ConfigError
from medcheck.trust.judges import ClassifierJudge, OpenAIJudge
from medcheck.trust.refusal import judge_from_setting

TEXTS = ["i am sorry but i cannot help", "the pancreas makes insulin", "no", "insulin lowers glucose in the blood"]


def save_tiny_classifier(path: Path, bias: tuple[float, float] | None = None, seed: int = 0) -> None:
    """A 2-layer random BERT sequence classifier with a word-level tokenizer, saved like a hub checkpoint."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        PreTrainedTokenizerFast,
    )

    words = sorted({w for t in TEXTS for w in t.split()})
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", *words])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="[PAD]", unk_token="[UNK]")
    torch.manual_seed(seed)
    model = BertForSequenceClassification(BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64, num_labels=2, pad_token_id=0)).eval()
    if bias is not None:
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.copy_(torch.tensor(bias))
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)


def reference_labels(path: Path) -> list[str]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True).eval()
    out = []
    for text in TEXTS:
        with torch.no_grad():
            logits = model(**tokenizer(text, return_tensors="pt")).logits[0]
        out.append(model.config.id2label[int(logits.argmax())])
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classifier_judge_matches_the_model_one_text_at_a_time(tmp_path: Path, seed: int,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    save_tiny_classifier(tmp_path, seed=seed)
    judge = judge_from_setting(f"classifier:{tmp_path}")     # batched and padded, TrustLLM's LABEL_0
    assert isinstance(judge, ClassifierJudge) and judge.label == "LABEL_0"
    assert judge.refusals(TEXTS) == [label == "LABEL_0" for label in reference_labels(tmp_path)]


def test_classifier_label_choice(tmp_path: Path) -> None:
    save_tiny_classifier(tmp_path, bias=(6.0, -6.0))            # always LABEL_0
    assert ClassifierJudge(tmp_path).refusals(TEXTS) == [True] * 4
    assert ClassifierJudge(tmp_path, "LABEL_1").refusals(TEXTS) == [False] * 4
    with pytest.raises(ConfigError, match="'REFUSAL' is not one of"):
        ClassifierJudge(tmp_path, "REFUSAL")
    with pytest.raises(ConfigError, match="no config.json"):
        ClassifierJudge(tmp_path / "missing")


class Judge(BaseHTTPRequestHandler):
    """Says yes when the response under judgement apologises; records what it was sent."""

    seen: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Judge.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        content = body["messages"][-1]["content"].split("Response:\n", 1)[1]
        reply = {"choices": [{"message": {"role": "assistant", "content": "Yes." if "sorry" in content else "No"}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), Judge)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_openai_judge_over_http(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDCHECK_JUDGE_API_KEY", "k-123")
    Judge.seen.clear()
    judge = OpenAIJudge.from_url(f"{server}/refusal-judge")
    assert judge.refusals(["I'm sorry, I can't.", "Insulin lowers glucose."]) == [True, False]
    assert [s["path"] for s in Judge.seen] == ["/v1/chat/completions"] * 2
    assert Judge.seen[0]["model"] == "refusal-judge" and Judge.seen[0]["temperature"] == 0
    assert Judge.seen[0]["auth"] == "Bearer k-123"
