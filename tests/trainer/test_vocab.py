import json

import pytest

pytest.importorskip("sentencepiece")

from trainer.vocab import expand_tokenizer, order_pieces, read_pieces, single_id_failures, tokenizer_hash


def test_order_pieces_dedupes_and_sorts_shortest_first():
    assert order_pieces(["abc", "x", "ab", "x", "yz"]) == ["x", "ab", "yz", "abc"]


def test_cmmlu_words_expand_to_expected_size_and_round_trip(expanded_tokenizer, llama2_dir, cmmlu_words):
    import sentencepiece as spm

    old = spm.SentencePieceProcessor(model_file=str(llama2_dir / "tokenizer.model"))
    new = spm.SentencePieceProcessor(model_file=str(expanded_tokenizer / "tokenizer.model"))
    missing = [w for w in dict.fromkeys(cmmlu_words) if old.piece_to_id(w) == old.unk_id()]
    assert len(cmmlu_words) >= 100 and missing
    assert new.get_piece_size() == 32000 + len(missing)
    assert [new.id_to_piece(i) for i in range(32000)] == [old.id_to_piece(i) for i in range(32000)]
    assert [new.id_to_piece(i) for i in range(32000, new.get_piece_size())] == order_pieces(missing)
    for word in cmmlu_words:
        assert new.decode(new.encode(word)) == word
    config = json.loads((expanded_tokenizer / "tokenizer_config.json").read_text())
    assert config["add_bos_token"] is True and config["add_eos_token"] is False


def test_report_lists_exactly_the_pieces_not_encoded_to_one_id(tmp_path, llama2_dir, cmmlu_words):
    import sentencepiece as spm

    report = expand_tokenizer(llama2_dir, cmmlu_words, tmp_path / "t")
    new = spm.SentencePieceProcessor(model_file=str(tmp_path / "t" / "tokenizer.model"))
    boundary = new.piece_to_id("\u2581")
    independent = [p for p in report.added if [i for i in new.encode(p) if i != boundary] != [new.piece_to_id(p)]]
    assert list(report.not_single) == independent
    assert 0 < len(report.not_single) < len(report.added)  # some NORMAL pieces are unreachable by BPE merges


def test_user_defined_pieces_always_encode_to_one_id(tmp_path, llama2_dir, cmmlu_words):
    report = expand_tokenizer(llama2_dir, cmmlu_words, tmp_path / "t", user_defined=True)
    assert report.not_single == ()
    assert single_id_failures(tmp_path / "t" / "tokenizer.model", report.added) == []


def test_refuses_non_empty_output_and_bad_pieces_file(tmp_path, llama2_dir):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        expand_tokenizer(llama2_dir, ["你好"], tmp_path / "out")
    bad = tmp_path / "pieces.jsonl"
    bad.write_text('{"piece": "ok"}\n{"word": "no"}\n')
    with pytest.raises(ValueError, match=":2:"):
        read_pieces(bad)


def test_tokenizer_hash_changes_with_the_vocabulary(expanded_tokenizer, llama2_dir):
    assert tokenizer_hash(expanded_tokenizer) != tokenizer_hash(llama2_dir)


def test_mined_pieces_come_from_the_corpus(tmp_path):
    from trainer.vocab import mine_pieces

    corpus = tmp_path / "c.txt"
    corpus.write_text("农业生产工具 土地 劳动力 资金\n" * 50 + "土地资源 农业科学\n" * 30, encoding="utf-8")
    pieces = mine_pieces(corpus, 20)
    assert "土地" in {p.lstrip("\u2581") for p in pieces}
    assert all(p.replace("\u2581", "") in corpus.read_text() for p in pieces if p.replace("\u2581", ""))
    with pytest.raises(FileNotFoundError):
        mine_pieces(tmp_path / "missing.txt", 5)
