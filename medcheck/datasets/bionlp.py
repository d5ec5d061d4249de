"""The biomedical NLP tasks' shared parts: release readers and the three task kinds (NER, RE, MLC).

The releases (Chen et al. 2025, "Benchmarking large language models for biomedical natural
language processing applications and recommendations", Nature Communications; the tasks of the
quantization study of Wang, Zhan et al. 2025) ship each task as a folder under `bionlp/`:

- NER: CoNLL IOB, `token<TAB>tag` a line, a blank line between sentences;
- RE and multi-label classification: tab-separated with a header row, quoted as pandas writes it;
- `prompt.txt`: the zero-shot instruction the benchmark's authors used.

A dataset module declares one task (`NERTask`, `RETask`, `MLCTask`) with its folder, files and
labels, and `other_folders`: the names other releases of the same files give the folder (the
first name that holds the evaluated split is read). Everything below is shared. Each task's
`instruction` is the release's prompt.txt when it names the task's own labels (or entity type),
else the bundled one: the release's HoC and LitCovid prompts are swapped, and a prompt for
another task must never reach the model.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from medcheck.datasets.types import TextItem, note_read, require_file
from medcheck.errors import DatasetError
from medcheck.scoring import classify, parse
from medcheck.scoring.generative import TaskScore
from medcheck.strategies import STRATEGIES  # every strategy applies to these tasks


def read_iob(path: Path, entity: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(tokens, mention strings) per sentence. A mention's string is its tokens joined by spaces.
    Bare `B` / `I` tags (copies that drop the type of a one-type corpus) mean this task's entity."""
    allowed = {"O", f"B-{entity}", f"I-{entity}"}
    bare = {"B": f"B-{entity}", "I": f"I-{entity}"}
    sentences: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    tokens: list[str] = []
    spans: list[list[str]] = []
    previous = "O"
    for line_no, line in enumerate(_lines(path), start=1):
        line = line.rstrip("\n").rstrip("\r").lstrip("\ufeff")
        if not line.strip():
            if tokens:
                sentences.append((tuple(tokens), tuple(" ".join(s) for s in spans)))
            tokens, spans, previous = [], [], "O"
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0]:
            raise DatasetError(path, f"expected token<TAB>tag, got {len(parts)} column(s)", line=line_no,
                               expected="CoNLL IOB: one token and its tag per line, a blank line between sentences")
        token, tag = parts[0], bare.get(parts[1], parts[1])
        if tag not in allowed:
            raise DatasetError(path, f"unknown tag {tag!r}", line=line_no,
                               expected=" / ".join(sorted(allowed)) + " (or bare B / I)")
        if tag.startswith("I-") and previous == "O":
            raise DatasetError(path, f"{tag} follows O: a mention must open with B-{entity}", line=line_no)
        if tag.startswith("B-"):
            spans.append([token])
        elif tag.startswith("I-"):
            spans[-1].append(token)
        tokens.append(token)
        previous = tag
    if tokens:
        sentences.append((tuple(tokens), tuple(" ".join(s) for s in spans)))
    if not sentences:
        raise DatasetError(path, "no sentences found")
    return sentences


def read_table(path: Path, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row of a tab-separated file whose header is `columns`."""
    reader = csv.reader(_lines(path), delimiter="\t")
    rows = []
    try:
        header = next(reader, None)
        if header is None or [h.strip().lstrip("\ufeff") for h in header] != list(columns):
            raise DatasetError(path, f"header must be {'<TAB>'.join(columns)}, got {header!r}", line=1)
        start = reader.line_num + 1
        for row in reader:
            if row and any(cell.strip() for cell in row):
                if len(row) != len(columns):
                    spans = f" (the row runs to line {reader.line_num}: a quote left open?)" \
                        if reader.line_num > start else ""
                    raise DatasetError(path, f"expected {len(columns)} tab-separated columns, got {len(row)}{spans}",
                                       line=start, expected="<TAB>".join(columns))
                rows.append((start, dict(zip(columns, row))))
            start = reader.line_num + 1
    except csv.Error as exc:     # an unterminated quote, a field beyond the csv module's size limit
        raise DatasetError(path, f"unreadable row: {exc}", line=reader.line_num) from None
    if not rows:
        raise DatasetError(path, "no rows found")
    return rows


def _lines(path: Path) -> Iterator[str]:
    """The file's lines as text; bytes that are not UTF-8 are a DatasetError naming the line."""
    note_read(path)
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            if b"\x00" in raw:   # UTF-16 or a binary file: NUL is never part of the release's text
                raise DatasetError(path, "NUL byte: not UTF-8 text (UTF-16 or a binary file?)", line=line_no,
                                   expected="the release's UTF-8 files, unconverted")
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DatasetError(path, f"not UTF-8 text (byte {exc.start + 1} of the line)", line=line_no,
                                   expected="the release's UTF-8 files, unconverted") from None


def _untitled(text: str) -> str:
    """A prompt file without a first line that only names it (`NCBI-disease`, `Hoc:`): the
    benchmark authors' files for some tasks start with such a title, others with the instruction."""
    first, _, rest = text.partition("\n")
    title = first.strip().rstrip(":")
    if rest.strip() and title and len(title.split()) <= 2 and not title.endswith((".", "?")) and ":" not in title:
        return rest.strip()
    return text


class _Task:
    """What the three task kinds share: files, instruction, identity."""

    track = "bionlp"
    kind = "generate"
    prompt_style = "generate"       # generate-kind: the letter protocol does not apply
    parse_version: str | None = None   # parsing is code alone: nothing beyond the loader version
    loader_version = 1
    strategies = STRATEGIES

    def __init__(self, id: str, dimension: str, folder: str, split: str, shots_file: str,
                 max_new_tokens: int, prompt_files: Sequence[str] = ("prompt.txt",),
                 other_folders: Sequence[str] = ()) -> None:
        self.id, self.dimension, self.max_new_tokens = id, dimension, max_new_tokens
        self.folder, self.split, self.shots_file = folder, split, shots_file
        # the folder's name in each release that ships these files; the first is the bundled sample's
        self.folders = (folder, *other_folders)
        self.relative_path = f"bionlp/{folder}/{split}"
        self.release_paths = tuple(f"bionlp/{f}/{split}" for f in self.folders)
        self.prompt_files = tuple(prompt_files)
        # paths relative to the data dir; the first is also where the bundled prompt lives
        self.prompt_paths = self._prompt_paths(folder)

    def _prompt_paths(self, folder: str) -> tuple[str, ...]:
        return tuple(f"bionlp/{folder}/{p}" if "/" not in p else p for p in self.prompt_files)

    def folder_in(self, root: Path) -> str:
        """The task's folder under `root`: the first of its release names that holds the evaluated split."""
        return next((f for f in self.folders if (root / "bionlp" / f / self.split).is_file()), self.folder)

    def instruction(self, root: Path) -> str:
        for relative in self._prompt_paths(self.folder_in(root)):
            path = root / relative
            if path.is_file():
                text = _untitled(path.read_text(encoding="utf-8").lstrip("\ufeff").strip())
                if self._own_prompt(text):
                    return text
        from medcheck.datasets import SAMPLES_DIR
        return (SAMPLES_DIR / self.prompt_paths[0]).read_text(encoding="utf-8").strip()

    def _own_prompt(self, text: str) -> bool:
        raise NotImplementedError

    def _file(self, root: Path, name: str) -> Path:
        folder = self.folder_in(root)
        if len(self.folders) > 1 and not (root / "bionlp" / folder / name).is_file():
            raise DatasetError(root / "bionlp" / folder / name, f"{self.id}: file not found",
                               expected=" or ".join(f"<data dir>/bionlp/{f}/{name}" for f in self.folders)
                               + " (the release layouts)")
        return require_file(root, f"bionlp/{folder}/{name}", self.id)


class NERTask(_Task):
    """Named entities of one type; gold is the sentence's mention strings in order.

    The answer is the sentence echoed as HTML with the mentions highlighted (what the releases'
    prompts ask for): 38 tokens at the median of BC5CDR's test sentences, 102 at the 95th
    percentile, hence 128 new tokens; a cut-off answer still yields the mentions marked so far."""

    def __init__(self, id: str, folder: str, entity: str, max_new_tokens: int = 128, **kw: object) -> None:
        super().__init__(id, "NER", folder, "test.tsv", "devel.tsv", max_new_tokens, **kw)  # type: ignore[arg-type]
        self.entity = entity

    def load(self, root: Path) -> list[TextItem]:
        return self._items(self._file(root, self.split), "test")

    def shots(self, root: Path) -> list[TextItem]:
        path = root / f"bionlp/{self.folder_in(root)}/{self.shots_file}"
        return self._items(path, "devel") if path.is_file() else []

    def _items(self, path: Path, split: str) -> list[TextItem]:
        return [TextItem(id=f"{self.id}-{split}-{i:05d}", text=" ".join(tokens), gold=mentions)
                for i, (tokens, mentions) in enumerate(read_iob(path, self.entity), start=1)]

    def _own_prompt(self, text: str) -> bool:
        return self.entity.lower() in text.lower()

    def render(self, item: TextItem) -> str:
        return item.text

    def answer(self, item: TextItem) -> str:
        """The sentence with each gold mention highlighted, the HTML the releases' prompts ask for."""
        tokens, out, start = item.text.split(" "), [], 0
        for mention in item.gold:
            words = mention.split(" ")
            at = next((i for i in range(start, len(tokens)) if tokens[i:i + len(words)] == words), None)
            if at is None:          # a token with a space inside: leave the rest unmarked
                break
            out += tokens[start:at] + [f'<span class="{self.entity.lower()}">{mention}</span>']
            start = at + len(words)
        return " ".join(out + tokens[start:])

    def parse(self, text: str, item: TextItem) -> list[str] | None:
        return parse.entities(text, sentence=item.text)

    def score(self, items: Sequence[TextItem], parsed: Sequence[object]) -> TaskScore:
        """Entity-level F1. The majority baseline, answering "no entity" everywhere, scores F1 0."""
        prf = classify.entity_prf([i.gold for i in items], parsed)  # type: ignore[arg-type]
        return TaskScore(primary="f1", metrics={"f1": prf.f1, "precision": prf.precision, "recall": prf.recall},
                         n=len(items), unparsed=_unparsed(parsed), majority_baseline=0.0)


class _LabelTable(_Task):
    """A header-row TSV whose rows are (id, text, label(s)); shot rows are never evaluated.

    Where the shots file's rows also sit in the evaluated split (DDI's and LitCovid's
    sample200.tsv are drawn from their test.tsv), they are held out of the evaluation, so a
    few-shot prompt never shows an evaluated item with its answer."""

    columns: tuple[str, str, str]

    def __init__(self, id: str, dimension: str, folder: str, split: str, shots_file: str,
                 labels: Sequence[str], max_new_tokens: int, **kw: object) -> None:
        super().__init__(id, dimension, folder, split, shots_file, max_new_tokens, **kw)  # type: ignore[arg-type]
        self.labels = tuple(labels)

    def load(self, root: Path) -> list[TextItem]:
        items = self._items(self._file(root, self.split))
        held_out = {s.id for s in self.shots(root)}
        return [i for i in items if i.id not in held_out]

    def shots(self, root: Path) -> list[TextItem]:
        path = root / f"bionlp/{self.folder_in(root)}/{self.shots_file}"
        return self._items(path) if path.is_file() and self.shots_file != self.split else []

    def _items(self, path: Path) -> list[TextItem]:
        key, text, gold = self.columns
        items: list[TextItem] = []
        seen: dict[str, int] = {}
        for line_no, row in read_table(path, self.columns):
            item_id = row[key].strip()
            if not item_id or not row[text].strip():
                raise DatasetError(path, f"empty {key if not item_id else text}", line=line_no)
            seen[item_id] = seen.get(item_id, 0) + 1
            if seen[item_id] > 1:    # ChemProt's dev split lists four pairs twice, with two relations
                item_id = f"{item_id}#{seen[item_id]}"
            items.append(TextItem(id=item_id, text=row[text].strip(), gold=self._gold(path, line_no, row[gold])))
        return items

    def _gold(self, path: Path, line_no: int, value: str) -> object:
        raise NotImplementedError

    def _own_prompt(self, text: str) -> bool:
        return all(label.lower() in text.lower() for label in self.labels)

    def render(self, item: TextItem) -> str:
        return item.text


class RETask(_LabelTable):
    """Relation classification of a marked entity pair; scored by micro F1 over the positive classes."""

    columns = ("index", "sentence", "label")

    def __init__(self, id: str, folder: str, split: str, shots_file: str, labels: Sequence[str],
                 negative: str, aliases: dict[str, str] | None = None, max_new_tokens: int = 8,
                 other_folders: Sequence[str] = ()) -> None:
        super().__init__(id, "RE", folder, split, shots_file, labels, max_new_tokens, other_folders=other_folders)
        self.negative, self.aliases = negative, dict(aliases or {})

    def _gold(self, path: Path, line_no: int, value: str) -> str:
        if value.strip() not in self.labels:
            raise DatasetError(path, f"unknown label {value!r}", line=line_no, key="label",
                               expected=", ".join(self.labels))
        return value.strip()

    def answer(self, item: TextItem) -> str:
        return str(item.gold)

    def parse(self, text: str, item: TextItem) -> str | None:
        return parse.label(text, self.labels, self.aliases)

    def score(self, items: Sequence[TextItem], parsed: Sequence[object]) -> TaskScore:
        gold = [i.gold for i in items]

        def micro(g: Sequence[object], p: Sequence[object]) -> classify.PRF:
            return classify.positive_micro(g, p, self.negative, self.labels)

        prf = micro(gold, parsed)
        positives = [lab for lab in self.labels if lab != self.negative]
        macro = classify.averages(classify.per_label(gold, parsed, positives))["macro_f1"]
        metrics = {"micro_f1": prf.f1, "precision": prf.precision, "recall": prf.recall,
                   "macro_f1": macro, "accuracy": classify.accuracy(gold, parsed)}
        return TaskScore(primary="micro_f1", metrics=metrics, n=len(items), unparsed=_unparsed(parsed),
                         majority_baseline=classify.majority_baseline(gold, lambda g, p: micro(g, p).f1))


class MLCTask(_LabelTable):
    """Multi-label document classification; gold is the tuple of labels in the closed set's order.

    Scored by macro F1 over the labels that occur in the gold or the predictions of the evaluated
    items (micro F1 beside it). The majority baseline answers the most frequent gold label set."""

    columns = ("pmid", "text", "labels")

    def __init__(self, id: str, folder: str, split: str, shots_file: str, labels: Sequence[str],
                 max_new_tokens: int = 128, other_folders: Sequence[str] = ()) -> None:
        super().__init__(id, "MLC", folder, split, shots_file, labels, max_new_tokens, other_folders=other_folders)

    def _gold(self, path: Path, line_no: int, value: str) -> tuple[str, ...]:
        names = [v.strip() for v in value.split(";") if v.strip()]
        canonical = {lab.lower(): lab for lab in self.labels}
        unknown = [n for n in names if n.lower() not in canonical]
        if unknown:
            raise DatasetError(path, f"unknown label(s) {unknown}", line=line_no, key="labels",
                               expected="';'-joined names from: " + ", ".join(self.labels))
        chosen = {canonical[n.lower()] for n in names}
        return tuple(lab for lab in self.labels if lab in chosen)

    def answer(self, item: TextItem) -> str:
        """The JSON label map the releases' prompts ask for."""
        return json.dumps({lab: int(lab in item.gold) for lab in self.labels}, indent=2)

    def parse(self, text: str, item: TextItem) -> tuple[str, ...] | None:
        return parse.labels(text, self.labels)

    def score(self, items: Sequence[TextItem], parsed: Sequence[object]) -> TaskScore:
        gold = [i.gold for i in items]
        _, avg = classify.multilabel(gold, parsed)  # type: ignore[arg-type]
        metrics = {"macro_f1": avg["macro_f1"], "micro_f1": avg["micro_f1"],
                   "precision": avg["macro_precision"], "recall": avg["macro_recall"],
                   "micro_precision": avg["micro_precision"], "micro_recall": avg["micro_recall"]}
        return TaskScore(primary="macro_f1", metrics=metrics, n=len(items), unparsed=_unparsed(parsed),
                         majority_baseline=classify.majority_baseline(
                             gold, lambda g, p: classify.multilabel(g, p)[1]["macro_f1"]))


def _unparsed(parsed: Sequence[object]) -> int:
    return sum(p is None for p in parsed)
