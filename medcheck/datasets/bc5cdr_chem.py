"""BC5CDR chemical NER (Li et al., Database 2016; BioCreative V CDR task), CC BY 4.0.

Release: the IOB conversion the biomedical NLP benchmark ships (Chen et al., Nature Communications
2025), `<data dir>/bionlp/BC5CDR-chem-IOB/`: `test.tsv` (4,797 sentences, 5,385 chemical mentions)
and `devel.tsv` (few-shot examples), CoNLL `token<TAB>B-Chemical|I-Chemical|O`, a blank line
between sentences; `prompt.txt` asks for the sentence as HTML with the chemicals highlighted.
The folder's name is the MTL-Bioinformatics-2016 release's own (which also has `train.tsv`);
copies named `BC5CDR-chem` (BioBERT's) tag B / I / O without the entity type, another format.
An item is a sentence; its gold is the tuple of its mention strings. Scored by entity-level F1
(exact match of the normalised mention within its sentence, medcheck.scoring.classify).
"""

from __future__ import annotations

from medcheck.datasets.bionlp import NERTask

ID = "bc5cdr_chem"
DATASETS = {ID: NERTask(ID, "BC5CDR-chem-IOB", entity="Chemical")}
