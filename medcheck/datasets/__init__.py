"""Dataset registry and resolution: real release files from a data dir, or the bundled samples.

Each dataset module reads one official release format; this module picks the root folder,
applies the seeded order and `--medcheck-limit`, and hashes what will be evaluated.
"""

from __future__ import annotations

import importlib
import random
from pathlib import Path
from typing import Protocol

from medcheck.datasets.types import Dataset, DataSource, Item, content_hash, data_files, reading
from medcheck.registry import suggest

SAMPLES_DIR = Path(__file__).parent / "samples"

# dataset id -> module that defines it (in its DATASETS mapping); imported on first use
_MODULES = {
    **{f"mmlu_{s}": "medcheck.datasets.mmlu" for s in (
        "anatomy", "clinical_knowledge", "college_biology", "college_medicine",
        "medical_genetics", "professional_medicine")},
    "medqa": "medcheck.datasets.medqa",
    "pubmed_qa": "medcheck.datasets.pubmed_qa",
    **{f"medexqa_{s}": "medcheck.datasets.medexqa" for s in (
        "biomedical_engineer", "clinical_laboratory_scientist", "clinical_psychologist",
        "occupational_therapist", "speech_pathologist")},
    "medmcqa": "medcheck.datasets.medmcqa",
    "careqa": "medcheck.datasets.careqa",
    "medbullets_op4": "medcheck.datasets.medbullets",
    "medbullets_op5": "medcheck.datasets.medbullets",
    "jmed": "medcheck.datasets.jmed",
    "medxpertqa_reasoning": "medcheck.datasets.medxpertqa",
    "medxpertqa_understanding": "medcheck.datasets.medxpertqa",
    # trust track (TrustLLM files CMedBench runs, and MedSafetyBench): generative, scored offline
    **dict.fromkeys(("trust_internal_codah", "trust_external", "trust_hallucination"),
                    "medcheck.datasets.trust_truthfulness"),
    **dict.fromkeys(("trust_jailbreak", "trust_misuse", "trust_exaggerated_safety"), "medcheck.datasets.trust_safety"),
    "medsafetybench": "medcheck.datasets.medsafetybench",
    **dict.fromkeys(("trust_stereotype_query", "trust_disparagement", "trust_preference"),
                    "medcheck.datasets.trust_fairness"),
    "trust_advglue": "medcheck.datasets.trust_robustness",
    **dict.fromkeys(("trust_privacy_confaide", "trust_privacy_query", "trust_privacy_leakage"),
                    "medcheck.datasets.trust_privacy"),
    "trust_explicit_moralchoice": "medcheck.datasets.trust_ethics",
    # biomedical NLP track (seed studies 001/002): generative NER, RE, multi-label and QA tasks
    "bc5cdr_chem": "medcheck.datasets.bc5cdr_chem",
    "ncbi_disease": "medcheck.datasets.ncbi_disease",
    "ddi": "medcheck.datasets.ddi",
    "chemprot": "medcheck.datasets.chemprot",
    "hoc": "medcheck.datasets.hoc",
    "litcovid": "medcheck.datasets.litcovid",
    "medqa_gen": "medcheck.datasets.medqa_gen",
    "pubmed_qa_gen": "medcheck.datasets.pubmed_qa_gen",
}
MMLU_IDS = tuple(k for k in _MODULES if k.startswith("mmlu_"))


class DatasetInfo(Protocol):
    id: str
    track: str                  # the track whose score counts this dataset (knowledge, application, ...)
    dimension: str              # CMedBench's dimension: GMK / AMK / BLC (knowledge), AME / CDA / EUR
    loader_version: int
    relative_path: str
    prompt_style: str
    kind: str                   # task kind (medcheck.task_kinds): "choice", "generate", ...

    def load(self, root: Path) -> list[Item]: ...


def register(dataset_id: str, module: str) -> None:
    """Add a dataset defined in `module` (its DATASETS mapping) without editing this file."""
    _MODULES[dataset_id] = module


def dataset_ids() -> list[str]:
    return list(_MODULES)


def by_track(track: str) -> tuple[str, ...]:
    """Dataset ids whose module declares `track`, in registry order."""
    return tuple(d for d in _MODULES if info(d).track == track)


def dimensions(track: str) -> dict[str, tuple[str, ...]]:
    """CMedBench dimension -> dataset ids of a track."""
    out: dict[str, list[str]] = {}
    for d in by_track(track):
        out.setdefault(info(d).dimension, []).append(d)
    return {k: tuple(v) for k, v in out.items()}


def info(dataset_id: str) -> DatasetInfo:
    if dataset_id not in _MODULES:
        raise suggest("dataset", dataset_id, dataset_ids())
    return importlib.import_module(_MODULES[dataset_id]).DATASETS[dataset_id]


def _select(items: list[Item], limit: int | None, seed: str) -> tuple[Item, ...]:
    """A fixed, seeded order, so that --medcheck-limit N takes the same N items on every run.

    Items that share a `meta["group"]` (an original and its perturbed twin) are drawn together:
    the limit takes whole groups, at least one, so a limit never orphans a twin."""
    groups: dict[str, list[Item]] = {}
    for item in sorted(items, key=lambda i: i.id):
        meta = getattr(item, "meta", None) or {}
        groups.setdefault(str(meta.get("group", item.id)), []).append(item)
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    chosen: list[Item] = []
    for key in order:
        if limit and chosen and len(chosen) + len(groups[key]) > limit:
            break
        chosen += groups[key]
    return tuple(chosen)


def data_root(data_dir: Path | None) -> Path:
    """The folder release layouts are read from: the data dir, or the bundled samples."""
    return Path(data_dir) if data_dir is not None else SAMPLES_DIR


def release_path(spec: DatasetInfo, root: Path) -> Path:
    """The dataset's release file under `root`: the first of the paths its module declares in
    `release_paths` (its folder as each release names it) that exists, else its `relative_path`."""
    for relative in getattr(spec, "release_paths", ()):
        if _present(root / relative):
            return root / relative
    return root / spec.relative_path


def _present(path: Path) -> bool:
    """A release file, or a release folder with something in it (a dataset released as several files)."""
    return path.is_file() or (path.is_dir() and any(path.iterdir()))


def available(dataset_id: str, data_dir: Path | None) -> bool:
    """Whether the dataset's release file (or folder) is present (always, for the bundled samples)."""
    return _present(release_path(info(dataset_id), data_root(data_dir)))


def load(dataset_id: str, data_dir: Path | None = None, limit: int | None = None,
         seed: int = 1234) -> Dataset:
    """Load a dataset's test split; without a data dir, the bundled samples."""
    spec = info(dataset_id)
    source: DataSource = "real" if data_dir is not None else "sample"
    root = data_root(data_dir)
    with reading() as read:
        items = spec.load(root)
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit}")
    chosen = _select(items, limit, f"{seed}:{dataset_id}")
    return Dataset(id=dataset_id, track=spec.track, items=chosen, source=source,
                   path=str(release_path(spec, root)), loader_version=spec.loader_version,
                   total=len(items), prompt_style=spec.prompt_style,
                   kind=spec.kind, files=data_files(read), release_sha256=content_hash(tuple(items)))
