import json

import pytest

pytest.importorskip("sentencepiece")

import sentencepiece as spm

from trainer.packing import IGNORE_INDEX
from trainer.prepare import prepare, read_records
from trainer.vocab import tokenizer_hash


def expected_document(processor, source, target, max_length):
    ids = [processor.bos_id(), *processor.encode(source + target), processor.eos_id()][:max_length]
    return ids


@pytest.mark.parametrize("max_length", [128, 512])
def test_prepare_packs_without_losing_tokens(tmp_path, corpus, expanded_tokenizer, max_length):
    processor = spm.SentencePieceProcessor(model_file=str(expanded_tokenizer / "tokenizer.model"))
    manifest = prepare([corpus], expanded_tokenizer, tmp_path / "out", max_length=max_length, bins=3, seed=1)
    records = list(read_records(corpus))
    docs = [expected_document(processor, s, t, max_length) for s, t, _ in records]
    assert manifest["documents"] == len(records)
    assert manifest["tokens"] == sum(len(d) for d in docs)
    assert manifest["tokenizer_hash"] == tokenizer_hash(expanded_tokenizer)
    assert manifest["max_length"] == max_length and len(manifest["buckets"]) == 3
    rows = [json.loads(line) for b in manifest["buckets"] for line in (tmp_path / "out" / b["file"]).open()]
    assert len(rows) == manifest["sequences"]
    assert all(len(r["input_ids"]) == len(r["labels"]) <= max_length for r in rows)
    # every token is there exactly once: compare multisets of input ids
    from collections import Counter

    assert Counter(t for r in rows for t in r["input_ids"]) == Counter(t for d in docs for t in d)
    assert sum(r["input_ids"].count(processor.bos_id()) for r in rows) == len(records)
    # labels equal inputs except the masked spans; the masked count is BOS + each source's own tokens
    for r in rows:
        assert all(lab in (IGNORE_INDEX, tok) for tok, lab in zip(r["input_ids"], r["labels"], strict=True))
    masked = sum(lab == IGNORE_INDEX for r in rows for lab in r["labels"])
    expected_masked = 0
    for (source, target, _), doc in zip(records, docs, strict=True):
        own = processor.encode(source) if source else []
        full = processor.encode(source + target)
        prefix = next((i for i, (a, b) in enumerate(zip(own, full, strict=False)) if a != b), min(len(own), len(full)))
        expected_masked += min(1 + prefix, len(doc))
    assert masked == expected_masked
    assert 0 < manifest["packing_efficiency"] <= 1


def test_question_tokens_are_masked_in_a_packed_sequence(tmp_path, expanded_tokenizer):
    corpus = tmp_path / "qa.jsonl"
    corpus.write_text(json.dumps({"source": "中国的首都是", "target": "北京。", "category": "geo"}, ensure_ascii=False)
                      + "\n", encoding="utf-8")
    processor = spm.SentencePieceProcessor(model_file=str(expanded_tokenizer / "tokenizer.model"))
    prepare([corpus], expanded_tokenizer, tmp_path / "out", max_length=64, bins=1)
    row = json.loads((tmp_path / "out" / "bucket-00000.jsonl").read_text())
    trained = [t for t, lab in zip(row["input_ids"], row["labels"], strict=True) if lab != IGNORE_INDEX]
    assert processor.decode(trained) == "北京。"


def test_bucket_k_holds_bin_k_of_every_sub_dataset(tmp_path, expanded_tokenizer):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("".join(json.dumps({"target": f"alpha {i}"}) + "\n" for i in range(10)))
    b.write_text("".join(json.dumps({"target": f"beta {i}"}) + "\n" for i in range(4)))
    processor = spm.SentencePieceProcessor(model_file=str(expanded_tokenizer / "tokenizer.model"))
    manifest = prepare([a, b], expanded_tokenizer, tmp_path / "out", max_length=8, bins=2)
    texts = [[processor.decode(json.loads(line)["input_ids"]) for line in (tmp_path / "out" / bk["file"]).open()]
             for bk in manifest["buckets"]]
    assert sorted(texts[0]) == sorted([f"alpha {i}" for i in range(5)] + ["beta 0", "beta 1"])
    assert sorted(texts[1]) == sorted([f"alpha {i}" for i in range(5, 10)] + ["beta 2", "beta 3"])


def test_bad_records_name_the_line(tmp_path, expanded_tokenizer):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"target": "ok"}\n{"source": "no target"}\n')
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        prepare([bad], expanded_tokenizer, tmp_path / "out")
