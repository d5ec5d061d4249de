"""NCBI-disease NER (Dogan et al., J Biomed Inform 2014), freely available from NCBI under the corpus's terms.

Release: the IOB conversion of the MTL-Bioinformatics-2016 corpus collection (Crichton et al.,
BMC Bioinformatics 2017), which the biomedical NLP benchmark (Chen et al., Nature Communications
2025) uses: `train.tsv`, `devel.tsv` (few-shot examples) and `test.tsv` (940 sentences), CoNLL
`token<TAB>B-Disease|I-Disease|O`, a blank line between sentences. The folder is read as
`<data dir>/bionlp/NCBI-disease/` or under its release name, `bionlp/NCBI-disease-IOB/` (like
`BC5CDR-chem-IOB`).
The instruction is `bionlp/NCBI-disease/prompt.txt`, or `bionlp/NCBI-disease-prompt.txt` where the
prompt sits beside the folder (as in the benchmark authors' repository), else the bundled one.
Scored like BC5CDR: entity-level F1 by exact match of the normalised mention within its sentence.
"""

from __future__ import annotations

from medcheck.datasets.bionlp import NERTask

ID = "ncbi_disease"
DATASETS = {ID: NERTask(ID, "NCBI-disease", entity="Disease", other_folders=("NCBI-disease-IOB",),
                        prompt_files=("prompt.txt", "bionlp/NCBI-disease-prompt.txt"))}
