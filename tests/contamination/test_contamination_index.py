"""Index building: bounded memory on a corpus larger than the cap, resume, parallel workers, inputs and errors."""

from __future__ import annotations

import json
import random
import tracemalloc

import numpy as np
import pytest

from contamination.corpus import CorpusFile, ReadOptions, documents_at, iter_documents
from contamination.index import BuildOptions, IndexReader, build_index
from contamination.ngrams import UnitHasher, ngram_hashes
from contamination.normalise import units


def _corpus(path, rng, docs: int, words: int, corpora) -> None:
    texts = [corpora.filler_latin(rng, words) if i % 2 else corpora.filler_cjk(rng, words) for i in range(docs)]
    corpora.write_jsonl(path, texts)


def _all_hashes(index_dir) -> np.ndarray:
    reader = IndexReader(index_dir)
    return np.unique(np.concatenate([h for _f, h, _l in reader.shards]))


def test_a_corpus_larger_than_the_memory_cap_is_built_within_it(tmp_path, corpora):
    cap_mb = 1.0
    corpus = tmp_path / "big.jsonl"
    _corpus(corpus, random.Random(1), docs=1200, words=1200, corpora=corpora)  # ~3.5 MB, ~1.4M n-grams
    assert corpus.stat().st_size > 3 * cap_mb * 2**20
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        manifest = build_index([corpus], tmp_path / "index", BuildOptions(memory_mb=cap_mb))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    index_bytes = sum(p.stat().st_size for p in (tmp_path / "index").rglob("*.npy"))
    assert index_bytes > 10 * cap_mb * 2**20  # what it built does not fit in the cap ...
    assert manifest["files"][0]["shards"] > 10  # ... so it was written in shards
    # ... and the build's peak stayed within the cap (plus 256 KiB for one ~5 KB document, read buffers and the
    # manifest), whatever the corpus size
    assert peak < (cap_mb + 0.25) * 2**20


def test_a_build_resumes_and_only_indexes_what_changed(tmp_path, corpora):
    rng = random.Random(2)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _corpus(a, rng, 20, 100, corpora)
    _corpus(b, rng, 20, 100, corpora)
    first = build_index([a], tmp_path / "index", BuildOptions(memory_mb=2))
    again = build_index([a], tmp_path / "index", BuildOptions(memory_mb=2))
    assert again["id"] == first["id"] and again["files"][0]["skipped"] is True
    more = build_index([a, b], tmp_path / "index", BuildOptions(memory_mb=2))
    assert [f["skipped"] for f in more["files"]] == [True, False]
    _corpus(a, rng, 20, 100, corpora)  # the file changed: indexed again, new id
    changed = build_index([a, b], tmp_path / "index", BuildOptions(memory_mb=2))
    assert [f["skipped"] for f in changed["files"]] == [False, True]
    assert changed["id"] != more["id"]
    fresh = build_index([a, b], tmp_path / "fresh", BuildOptions(memory_mb=2))
    assert fresh["id"] == changed["id"]
    assert np.array_equal(_all_hashes(tmp_path / "index"), _all_hashes(tmp_path / "fresh"))


def test_an_interrupted_file_is_rebuilt(tmp_path, corpora):
    corpus = tmp_path / "c.jsonl"
    _corpus(corpus, random.Random(4), 30, 200, corpora)
    build_index([corpus], tmp_path / "index", BuildOptions(memory_mb=1))
    (done,) = (tmp_path / "index").rglob("done.json")
    done.unlink()  # as if the process died before finishing the file
    (tmp_path / "index" / "files" / done.parent.name / "shard-99999.hashes.npy").write_bytes(b"partial")
    rebuilt = build_index([corpus], tmp_path / "index", BuildOptions(memory_mb=1))
    assert rebuilt["files"][0]["skipped"] is False
    assert not list((tmp_path / "index").rglob("shard-99999*"))


def test_parallel_workers_build_the_same_index(tmp_path, corpora):
    rng = random.Random(5)
    files = []
    for i in range(3):
        files.append(tmp_path / f"part{i}.jsonl")
        _corpus(files[-1], rng, 15, 150, corpora)
    one = build_index(files, tmp_path / "one", BuildOptions(memory_mb=4, workers=1))
    two = build_index(files, tmp_path / "two", BuildOptions(memory_mb=4, workers=2))
    assert one["id"] == two["id"] and two["build"]["workers"] == 2
    assert one["ngrams"] == two["ngrams"]
    assert np.array_equal(_all_hashes(tmp_path / "one"), _all_hashes(tmp_path / "two"))


def test_lookup_finds_every_ngram_of_a_document_and_its_location(tmp_path, corpora):
    rng = random.Random(6)
    corpus = tmp_path / "c.jsonl"
    _corpus(corpus, rng, 10, 80, corpora)
    build_index([corpus], tmp_path / "index", BuildOptions(memory_mb=1))
    reader = IndexReader(tmp_path / "index")
    file = CorpusFile(str(corpus.resolve()), "jsonl")
    location, text = list(iter_documents(file, ReadOptions()))[3]
    queries = np.unique(ngram_hashes(units(text), 13, UnitHasher()))
    matches = reader.lookup(queries)
    assert {m.query for m in matches} == set(range(len(queries)))
    assert {m.location for m in matches} == {location}
    assert documents_at(file, location, ReadOptions()) == [text]


def test_text_files_are_read_as_paragraphs(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("first line\nstill first\n\n\nsecond paragraph\n", encoding="utf-8")
    file = CorpusFile(str(path), "text")
    docs = list(iter_documents(file, ReadOptions()))
    assert [t for _o, t in docs] == ["first line\nstill first\n", "second paragraph\n"]
    assert documents_at(file, docs[1][0], ReadOptions()) == ["second paragraph\n"]


def test_jsonl_fields_are_chosen(tmp_path):
    path = tmp_path / "sft.jsonl"
    path.write_text(json.dumps({"source": "question words", "target": "answer words", "id": "x"}) + "\n")
    file = CorpusFile(str(path), "jsonl")
    assert [t for _o, t in iter_documents(file, ReadOptions())] == ["question words answer words"]
    assert [t for _o, t in iter_documents(file, ReadOptions(fields=("target",)))] == ["answer words"]


@pytest.mark.parametrize(("content", "message"), [("{\"text\": \"ok\"}\nnot json\n", ":2: not JSON"),
                                                  ("[1, 2]\n", ":1: expected a JSON object")])
def test_bad_lines_are_named(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        build_index([path], tmp_path / "index", BuildOptions(memory_mb=1))


def test_bad_build_arguments_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_index([tmp_path / "missing.jsonl"], tmp_path / "index")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .jsonl"):
        build_index([tmp_path / "empty"], tmp_path / "index")
    (tmp_path / "x.txt").write_text("text")
    with pytest.raises(ValueError, match="--workers"):
        build_index([tmp_path / "x.txt"], tmp_path / "index", BuildOptions(workers=0))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a contamination index"):
        build_index([tmp_path / "x.txt"], tmp_path / "other")
