"""ChemProt chemical-protein relations (Krallinger et al., BioCreative VI 2017); the corpus's own terms.

Release: the biomedical NLP benchmark's copy (Chen et al., Nature Communications 2025),
`<data dir>/bionlp/ChemProt/`: header `index<TAB>sentence<TAB>label`, chemical and gene masked as
@CHEMICAL$ and @GENE$; labels false, CPR:3, CPR:4, CPR:5, CPR:6, CPR:9. Its test split is not
obtainable from that source, so the evaluated split is `dev.tsv` (11,820 rows): scores are dev
scores and are not comparable with published ChemProt test results. Four entity pairs are listed
twice with two relations; the second row keeps its own item (id `<index>#2`). Few-shot examples
come from `sample200.tsv`, which shares no row with dev.tsv. Scored by micro F1 over the five
positive classes.
"""

from __future__ import annotations

from medcheck.datasets.bionlp import RETask

ID = "chemprot"
LABELS = ("false", "CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9")
DATASETS = {ID: RETask(ID, "ChemProt", "dev.tsv", "sample200.tsv", LABELS, negative="false")}
