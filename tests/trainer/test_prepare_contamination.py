"""`cbench-train prepare` indexes what it prepares: the packed token ids, decoded with the tokenizer, and the
manifest carries the index id that the run's checkpoints send when they register."""

from __future__ import annotations

import json

from contamination.check import check_questions, load_benchmark
from contamination.index import IndexReader, read_manifest
from trainer.prepare import INDEX_DIR, prepare


def test_prepared_data_is_indexed_and_cmmlu_questions_in_it_are_found(tmp_path, data_dir, expanded_tokenizer):
    _split, questions = load_benchmark("cmmlu", str(data_dir), subjects=["agronomy"])
    items = questions["agronomy"]
    planted = [q for q in items if len(q.question) >= 25][:3]
    corpus = tmp_path / "corpus.jsonl"
    with open(corpus, "w", encoding="utf-8") as handle:
        for i in range(12):
            handle.write(json.dumps({"source": "", "target": f"这是第{i}篇与考试无关的训练文本，讲述天气和城市生活。" * 3,
                                     "category": "web"}, ensure_ascii=False) + "\n")
        for q in planted:
            handle.write(json.dumps({"source": f"问题：{q.question}", "target": f"答案：{q.options[0]}",
                                     "category": "exam"}, ensure_ascii=False) + "\n")
    manifest = prepare([corpus], expanded_tokenizer, tmp_path / "packed", max_length=256, bins=2)
    index_dir = tmp_path / "packed" / INDEX_DIR
    index = read_manifest(index_dir)
    assert manifest["contamination_index"]["id"] == index["id"]
    assert json.loads((tmp_path / "packed" / "manifest.json").read_text())["contamination_index"]["id"] == index["id"]
    assert {f["kind"] for f in index["files"]} == {"prepared"}
    assert index["tokenizer"]["sha256"]
    result = check_questions(IndexReader(index_dir), "cmmlu", "test", questions)
    assert {qid for qid, fields in result.flagged.items() if "question" in fields} == {q.id for q in planted}
    assert all(h.file.endswith(".jsonl") and "/bucket-" in h.file for h in result.hits)


def test_prepare_can_skip_the_index(tmp_path, expanded_tokenizer):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"target": "plain text for training"}) + "\n")
    manifest = prepare([corpus], expanded_tokenizer, tmp_path / "packed", max_length=64, bins=1,
                       contamination_index=False)
    assert "contamination_index" not in manifest and not (tmp_path / "packed" / INDEX_DIR).exists()
