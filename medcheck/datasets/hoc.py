"""Hallmarks of Cancer multi-label classification (Baker et al., Bioinformatics 2016); the corpus's own terms.

Release: the biomedical NLP benchmark's copy (Chen et al., Nature Communications 2025),
`<data dir>/bionlp/HoC/`: `test.tsv` (315 abstracts) and `dev.tsv` (157, few-shot examples),
header `pmid<TAB>text<TAB>labels`, labels ';'-joined hallmark names. Scored by macro F1 over the
hallmarks (micro F1 beside it).

That source's `HoC/prompt.txt` holds the LitCovid prompt (and LitCovid's holds HoC's). A prompt
that does not name the ten hallmarks is detected and replaced by the bundled HoC instruction
(`samples/bionlp/HoC/prompt.txt`, the same JSON label-map task written for the hallmarks).
"""

from __future__ import annotations

from medcheck.datasets.bionlp import MLCTask

ID = "hoc"
LABELS = ("activating invasion and metastasis", "sustaining proliferative signaling", "resisting cell death",
          "cellular energetics", "genomic instability and mutation", "evading growth suppressors",
          "inducing angiogenesis", "enabling replicative immortality", "avoiding immune destruction",
          "tumor promoting inflammation")
# the ten-key JSON map the prompt asks for is 106 tokens (SmolLM2 tokenizer): the default 128 holds it
DATASETS = {ID: MLCTask(ID, "HoC", "test.tsv", "dev.tsv", LABELS)}
