"""A corpus holding known MMLU and C-Eval questions (verbatim, reformatted, partial) is flagged on exactly those;
a corpus without them is clean; hits are verified against the corpus text at their location."""

from __future__ import annotations

import random

import pytest

from contamination.check import check_questions
from contamination.corpus import CorpusFile, ReadOptions, documents_at
from contamination.index import BuildOptions, IndexReader, build_index
from contamination.normalise import N_CJK, N_LATIN, units


@pytest.fixture(scope="module")
def planted(tmp_path_factory, mmlu, ceval, corpora):
    """An index of filler documents with 4 verbatim, 4 reformatted and 4 partial copies per language."""
    rng = random.Random(7)
    docs, expected = [], {"mmlu": {}, "ceval": {}}
    for bench, questions, n, filler in (("mmlu", mmlu, N_LATIN, corpora.filler_latin),
                                        ("ceval", ceval, N_CJK, corpora.filler_cjk)):
        chosen = rng.sample(corpora.long_questions(questions, n + 8), 12)
        for i, q in enumerate(chosen):
            kind = ("verbatim", "reformatted", "partial")[i % 3]
            copy = (corpora.verbatim(q) if kind == "verbatim" else corpora.reformatted(q) if kind == "reformatted"
                    else corpora.partial(q, n))
            docs.append(f"{filler(rng, 40)}\n{copy}\n{filler(rng, 40)}")
            expected[bench][q.id] = kind
    docs += [corpora.filler_latin(rng, 300) for _ in range(20)] + [corpora.filler_cjk(rng, 300) for _ in range(20)]
    rng.shuffle(docs)
    root = tmp_path_factory.mktemp("planted")
    corpus = corpora.write_jsonl(root / "corpus.jsonl", docs)
    manifest = build_index([corpus], root / "index", BuildOptions(memory_mb=4))
    return IndexReader(root / "index"), expected, manifest


@pytest.mark.parametrize("bench", ["mmlu", "ceval"])
def test_planted_questions_are_flagged_exactly(planted, mmlu, ceval, bench):
    reader, expected, _manifest = planted
    questions = {"mmlu": mmlu, "ceval": ceval}[bench]
    result = check_questions(reader, bench, "test", questions)
    flagged_on_question = {qid for qid, fields in result.flagged.items() if "question" in fields}
    assert flagged_on_question == set(expected[bench])
    assert set(result.flagged) == set(expected[bench])  # no option list or answer elsewhere in the corpus
    assert result.totals["question"] == len(expected[bench]) == 12
    assert sum(s.overlapping["question"] for s in result.subjects) == 12
    assert result.questions == sum(len(v) for v in questions.values())


def test_each_hit_is_the_ngram_found_at_its_location(planted, mmlu, ceval):
    reader, _expected, _manifest = planted
    for bench, questions in (("mmlu", mmlu), ("ceval", ceval)):
        result = check_questions(reader, bench, "test", questions)
        assert result.hits
        for hit in result.hits:
            doc = documents_at(CorpusFile(hit.file, "jsonl"), hit.location, ReadOptions())[0]
            assert hit.ngram.replace(" ", "") in "".join(units(doc))
            n = N_LATIN if bench == "mmlu" else N_CJK
            assert len(units(hit.ngram)) == n


def test_the_manifest_records_what_it_covers(planted):
    _reader, _expected, manifest = planted
    assert manifest["n_latin"] == 13 and manifest["n_cjk"] == 13
    assert manifest["normalisation"].startswith("nfkc")
    (entry,) = manifest["files"]
    assert len(entry["sha256"]) == 64 and entry["documents"] == 64 and entry["kind"] == "jsonl"


def test_a_corpus_without_the_questions_is_clean(tmp_path, mmlu, ceval, corpora):
    rng = random.Random(3)
    docs = [corpora.filler_latin(rng, 500) for _ in range(30)] + [corpora.filler_cjk(rng, 500) for _ in range(30)]
    corpus = corpora.write_jsonl(tmp_path / "clean.jsonl", docs)
    build_index([corpus], tmp_path / "index", BuildOptions(memory_mb=2))
    reader = IndexReader(tmp_path / "index")
    for bench, questions in (("mmlu", mmlu), ("ceval", ceval)):
        result = check_questions(reader, bench, "test", questions)
        assert result.flagged == {} and result.hits == []
        assert all(v == 0 for v in result.totals.values())


def test_question_answer_counts_only_when_the_answer_follows_the_question(tmp_path, mmlu, corpora):
    with_answer, question_only = corpora.long_questions(mmlu, N_LATIN + 2)[:2]
    gold = with_answer.options[with_answer.letters.index(with_answer.gold)]
    corpus = corpora.write_jsonl(tmp_path / "qa.jsonl", [f"Q: {with_answer.question}\nAnswer: {gold}",
                                                         f"Q: {question_only.question}"])
    build_index([corpus], tmp_path / "index", BuildOptions(memory_mb=2))
    result = check_questions(IndexReader(tmp_path / "index"), "mmlu", "test", mmlu)
    assert result.flagged[with_answer.id] == ["question", "question_answer"]
    assert result.flagged[question_only.id] == ["question"]


def test_options_are_checked_on_their_own(tmp_path, mmlu, corpora):
    q = max((q for items in mmlu.values() for q in items), key=lambda q: len(units(" ".join(q.options))))
    listing = "\n".join(f"{letter}) {option}" for letter, option in zip(q.letters, q.options, strict=True))
    corpus = corpora.write_jsonl(tmp_path / "opts.jsonl", [listing])
    build_index([corpus], tmp_path / "index", BuildOptions(memory_mb=2))
    result = check_questions(IndexReader(tmp_path / "index"), "mmlu", "test", mmlu)
    assert "options" in result.flagged[q.id] and "question" not in result.flagged[q.id]
