"""DDI 2013 drug-drug interaction extraction (Herrero-Zazo et al., J Biomed Inform 2013); the corpus's own terms.

Release: the biomedical NLP benchmark's copy (Chen et al., Nature Communications 2025),
`<data dir>/bionlp/DDI/`: `test.tsv` (5,761 drug pairs) and `sample200.tsv`, header
`index<TAB>sentence<TAB>label`, the two drugs of a pair masked as @DRUG$. Labels DDI-false,
DDI-effect, DDI-mechanism, DDI-advise, DDI-int; scored by micro F1 over the four positive classes.

The release has no training split here, and its `sample200.tsv` rows are all test rows. They are
the few-shot pool and are held out of the evaluation, so 5,561 pairs are evaluated: a few-shot
prompt then never shows an evaluated pair with its answer, and zero- and few-shot runs score the
same items. Without `sample200.tsv` the whole test split is evaluated and there are no shots.
"""

from __future__ import annotations

from medcheck.datasets.bionlp import RETask

ID = "ddi"
LABELS = ("DDI-false", "DDI-effect", "DDI-mechanism", "DDI-advise", "DDI-int")
# a small model often drops the prefix; "int" alone is too common a word to accept
ALIASES = {"effect": "DDI-effect", "mechanism": "DDI-mechanism", "advise": "DDI-advise"}
DATASETS = {ID: RETask(ID, "DDI", "test.tsv", "sample200.tsv", LABELS, negative="DDI-false", aliases=ALIASES)}
