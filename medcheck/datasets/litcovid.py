"""LitCovid multi-label topic classification (Chen et al., Nucleic Acids Research 2021); NLM's terms.

Release: the biomedical NLP benchmark's copy (Chen et al., Nature Communications 2025),
`<data dir>/bionlp/LitCovid/`: `test.tsv` (2,500 articles) and `sample200.tsv`, header
`pmid<TAB>text<TAB>labels`, labels ';'-joined topics. Scored by macro F1 over the seven topics
(micro F1 beside it).

`sample200.tsv`'s rows are all test rows: they are the few-shot pool and are held out of the
evaluation (2,300 articles evaluated), so a few-shot prompt never shows an evaluated article with
its answer. That source's `LitCovid/prompt.txt` holds the HoC prompt; a prompt that does not name
the seven topics is replaced by the bundled LitCovid instruction (`samples/bionlp/LitCovid/prompt.txt`).
"""

from __future__ import annotations

from medcheck.datasets.bionlp import MLCTask

ID = "litcovid"
LABELS = ("Treatment", "Diagnosis", "Prevention", "Mechanism", "Transmission", "Epidemic Forecasting",
          "Case Report")
# the seven-key JSON map is 59 tokens (SmolLM2 tokenizer)
DATASETS = {ID: MLCTask(ID, "LitCovid", "test.tsv", "sample200.tsv", LABELS, max_new_tokens=96)}
