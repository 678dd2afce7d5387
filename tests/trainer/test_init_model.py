import pytest

pytest.importorskip("colossalai")

import sentencepiece as spm
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from trainer.init_model import padded_size, resize_model


@pytest.fixture(scope="module")
def resized(tmp_path_factory, tiny_model, expanded_tokenizer):
    output = tmp_path_factory.mktemp("resized") / "model"
    report = resize_model(tiny_model, expanded_tokenizer, output, dtype="float32")
    return report, output


def test_new_rows_are_per_piece_means_of_the_old_rows(resized, tiny_model, llama2_dir, expanded_tokenizer):
    report, output = resized
    old = AutoModelForCausalLM.from_pretrained(tiny_model, torch_dtype=torch.float32)
    new = AutoModelForCausalLM.from_pretrained(output, torch_dtype=torch.float32)
    old_sp = spm.SentencePieceProcessor(model_file=str(llama2_dir / "tokenizer.model"))
    new_sp = spm.SentencePieceProcessor(model_file=str(expanded_tokenizer / "tokenizer.model"))
    size = new_sp.get_piece_size()
    assert report.tokenizer_vocab == report.model_vocab == size
    assert new.config.vocab_size == size
    for name in ("get_input_embeddings", "get_output_embeddings"):
        old_w, new_w = getattr(old, name)().weight, getattr(new, name)().weight
        assert new_w.shape[0] == size
        assert torch.equal(new_w[:32000], old_w)
        for i in range(32000, size):
            ids = old_sp.encode(new_sp.id_to_piece(i))
            assert torch.allclose(new_w[i], old_w[ids].mean(dim=0), atol=1e-7), (name, i)
    # the two matrices get different rows (each from its own matrix)
    assert not torch.allclose(new.get_input_embeddings().weight[32000], new.get_output_embeddings().weight[32000])


def test_tokenizer_is_saved_alongside_and_loads(resized, expanded_tokenizer):
    _, output = resized
    tokenizer = AutoTokenizer.from_pretrained(output, use_fast=False)
    assert len(tokenizer) == spm.SentencePieceProcessor(model_file=str(expanded_tokenizer / "tokenizer.model")).get_piece_size()
    assert tokenizer("土地").input_ids[0] == tokenizer.bos_token_id


def test_padding_to_a_multiple(tmp_path, tiny_model, expanded_tokenizer):
    report = resize_model(tiny_model, expanded_tokenizer, tmp_path / "m", pad_to_multiple_of=64, dtype="bfloat16")
    assert report.model_vocab == padded_size(report.tokenizer_vocab, 64) and report.model_vocab % 64 == 0
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "m", torch_dtype="auto")
    assert model.get_input_embeddings().weight.shape[0] == report.model_vocab
    assert model.dtype == torch.bfloat16


def test_refuses_a_tokenizer_that_is_not_larger(tmp_path, tiny_model, llama2_dir):
    with pytest.raises(ValueError, match="not larger"):
        resize_model(tiny_model, llama2_dir, tmp_path / "m")
