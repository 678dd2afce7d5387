"""Check benchmark questions against an index: per question and field, the verified n-grams found in the corpus.

Fields, each checked on its own: `question` (the question text, after the passage where there is one),
`options` (the option texts together) and `question_answer` (the question followed by the gold option's text; only
its n-grams that reach into the answer count, so it says the answer appears right after the question).
A field is *checked* when it has at least n units, and *overlaps* when one of its n-grams is in the index and the
n-gram is found again, unit for unit, in the corpus document at the recorded location (exact verification: a hash
collision or a changed corpus file is never reported).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from contamination.corpus import CorpusFile, PreparedDecoder, ReadOptions, documents_at
from contamination.index import IndexReader
from contamination.ngrams import UnitHasher, find_ngram, window_hashes
from contamination.normalise import is_cjk, query_n, units
from evaluators.records import Question

FIELDS = ("question", "options", "question_answer")
MAX_HITS_PER_FIELD = 3


@dataclass(frozen=True)
class Hit:
    question_id: str
    subject: str
    field: str
    ngram: str
    file: str
    location: int  # byte offset of the document (line or paragraph) in `file`


@dataclass(frozen=True)
class SubjectOverlap:
    subject: str
    questions: int
    checked: dict[str, int]  # field -> questions whose field is long enough to hold an n-gram
    overlapping: dict[str, int]  # field -> questions with a verified hit in that field
    any_field: int  # questions with a hit in at least one field


@dataclass
class BenchmarkCheck:
    benchmark: str
    split: str
    questions: int
    subjects: list[SubjectOverlap]
    hits: list[Hit]
    flagged: dict[str, list[str]]  # question id -> fields with a hit
    seconds: float = 0.0
    totals: dict[str, int] = field(default_factory=dict)  # field -> overlapping questions, plus "any_field"


def field_units(question: Question) -> dict[str, tuple[list[str], int]]:
    """Per field: its normalised units and the first window that counts (0 except for question_answer)."""
    stem = units(f"{question.passage} {question.question}")
    fields = {"question": (stem, 0), "options": (units(" ".join(question.options)), 0)}
    gold = question.letters.index(question.gold) if question.gold in question.letters else len(question.options)
    if question.gold and gold < len(question.options):  # GAOKAO items can have letters without option texts
        answer = units(question.options[gold])
        combined = stem + answer
        fields["question_answer"] = (combined, max(0, len(stem) - query_n(combined) + 1))
    return fields


def join_units(text_units: Sequence[str]) -> str:
    """Units back to readable text: CJK characters side by side, words with spaces."""
    out = ""
    for unit in text_units:
        if out and not (is_cjk(unit) and is_cjk(out[-1])):
            out += " "
        out += unit
    return out


class _Verifier:
    def __init__(self, files: list[CorpusFile], read: ReadOptions, hasher: UnitHasher) -> None:
        self.files, self.read, self.hasher = files, read, hasher
        self.decoder: PreparedDecoder | None = None
        self.cache: dict[tuple[int, int], list[list[str]]] = {}

    def ngram(self, file: int, location: int, n: int, target: int) -> str | None:
        key = (file, location)
        if key not in self.cache:
            corpus_file = self.files[file]
            if corpus_file.kind == "prepared" and self.decoder is None:
                self.decoder = PreparedDecoder(self.read.tokenizer or "")
            try:
                docs = documents_at(corpus_file, location, self.read, self.decoder)
            except (OSError, ValueError):
                docs = []  # file moved or changed since indexing: nothing can be verified there
            if len(self.cache) > 4096:
                self.cache.clear()
            self.cache[key] = [units(text) for text in docs]
        for doc_units in self.cache[key]:
            position = find_ngram(doc_units, n, target, self.hasher)
            if position is not None:
                return join_units(doc_units[position:position + n])
        return None


def check_questions(reader: IndexReader, benchmark: str, split: str, questions: dict[str, list[Question]],
                    read: ReadOptions | None = None) -> BenchmarkCheck:
    """Overlap of every question of `questions` (subject -> questions) with the index."""
    started = time.perf_counter()
    read = read or ReadOptions(fields=tuple(reader.manifest.get("fields") or ReadOptions().fields),
                               tokenizer=(reader.manifest.get("tokenizer") or {}).get("path"))
    hasher = UnitHasher()
    entries: list[tuple[Question, str, int]] = []  # (question, field, n) per checked field
    query_parts: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    checked: dict[str, dict[str, int]] = {s: dict.fromkeys(FIELDS, 0) for s in questions}
    for subject, items in questions.items():
        for question in items:
            for name, (text_units, first) in field_units(question).items():
                n = query_n(text_units)
                hashes = np.unique(window_hashes(hasher.hashes(text_units), n)[first:])
                if not len(hashes):
                    continue
                checked[subject][name] += 1
                query_parts.append(hashes)
                owners.append(np.full(len(hashes), len(entries), dtype=np.int64))
                entries.append((question, name, n))
    queries = np.concatenate(query_parts) if query_parts else np.empty(0, dtype=np.uint64)
    owner = np.concatenate(owners) if owners else np.empty(0, dtype=np.int64)
    verifier = _Verifier(reader.files, read, hasher)
    hits: list[Hit] = []
    per_entry: dict[int, int] = {}
    reported: set[tuple[int, str]] = set()  # (field entry, n-gram): the same n-gram found in another shard
    for match in sorted(reader.lookup(queries), key=lambda m: (m.query, m.file, m.location)):
        entry = int(owner[match.query])
        if per_entry.get(entry, 0) >= MAX_HITS_PER_FIELD:
            continue
        question, name, n = entries[entry]
        text = verifier.ngram(match.file, match.location, n, int(queries[match.query]))
        if text is None:
            continue
        if (entry, text) in reported:
            continue
        reported.add((entry, text))
        per_entry[entry] = per_entry.get(entry, 0) + 1
        hits.append(Hit(question.id, question.subject, name, text, reader.files[match.file].path, match.location))
    flagged: dict[str, list[str]] = {}
    for hit in hits:
        fields = flagged.setdefault(hit.question_id, [])
        if hit.field not in fields:
            fields.append(hit.field)
    subjects = []
    for subject, items in questions.items():
        ids = [q.id for q in items]
        overlapping = {name: sum(1 for i in ids if name in flagged.get(i, ())) for name in FIELDS}
        subjects.append(SubjectOverlap(subject, len(items), checked[subject], overlapping,
                                       sum(1 for i in ids if i in flagged)))
    totals = {name: sum(s.overlapping[name] for s in subjects) for name in FIELDS}
    totals["any_field"] = len(flagged)
    return BenchmarkCheck(benchmark=benchmark, split=split, questions=sum(len(v) for v in questions.values()),
                          subjects=subjects, hits=hits, flagged=flagged, totals=totals,
                          seconds=round(time.perf_counter() - started, 3))


def load_benchmark(benchmark: str, data_dir: str, split: str | None = None,
                   subjects: Iterable[str] | None = None) -> tuple[str, dict[str, list[Question]]]:
    from evaluators.catalog import load_spec
    from evaluators.loaders import load_questions

    spec = load_spec(benchmark)
    split = split or spec.eval_split
    return split, load_questions(spec, data_dir, split=split, subjects=subjects)
