"""Tokenization semantics come from the tokenizer transformers loads; a bogus tokenizer.model or a tokenizer that
does not round-trip the prompts is a clear error or a recorded fallback, never a traceback or a silent wrong score."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cbench.main import main
from evaluators.gguf_import import packaged_gguf
from evaluators.plan import build_plan
from evaluators.tokenization import HFTokenizer, SentencePieceTokenizer, TokenizationError, load_tokenizer

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def _tokenizer_copy(smollm2_dir: Path, target: Path) -> Path:
    target.mkdir()
    for name in TOKENIZER_FILES:
        shutil.copy(smollm2_dir / name, target / name)
    return target


def test_gguf_written_as_tokenizer_model_is_not_trusted(smollm2_dir: Path, tmp_path: Path, data_dir: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """transformers 4.51.3's GGUF conversion writes the whole GGUF file as tokenizer.model beside tokenizer.json."""
    directory = _tokenizer_copy(smollm2_dir, tmp_path / "tok")
    (directory / "tokenizer.model").symlink_to(packaged_gguf("smollm2"))
    tokenizer = load_tokenizer(directory, "sentencepiece")
    assert isinstance(tokenizer, HFTokenizer)
    assert tokenizer.fallback_reason == "tokenizer.model is a GGUF file, not a SentencePiece model"
    assert tokenizer.encode("Answer: A", add_special_tokens=False) == [21350, 42, 330]
    code = main(["prompts", "--benchmark", "mmlu", "--template", "colossaleval", "--tokenizer", str(directory),
                 "--subjects", "anatomy", "--limit", "2", "--data-dir", str(data_dir)])
    captured = capsys.readouterr()
    assert code == 0 and "Traceback" not in captured.err
    assert captured.out.count("\n") == 2


def test_unparsable_tokenizer_model(smollm2_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    data_dir: Path) -> None:
    beside = _tokenizer_copy(smollm2_dir, tmp_path / "beside")
    (beside / "tokenizer.model").write_bytes(b"\x00not a model proto" * 8)
    tokenizer = load_tokenizer(beside, "sentencepiece")
    assert tokenizer.fallback_reason and "does not parse as a SentencePiece model" in tokenizer.fallback_reason

    alone = tmp_path / "alone"  # nothing else to load: one clear error, exit 2
    alone.mkdir()
    (alone / "tokenizer.model").write_bytes(b"\x00not a model proto" * 8)
    with pytest.raises(TokenizationError, match="cannot load the tokenizer"):
        load_tokenizer(alone, "sentencepiece")
    assert main(["prompts", "--benchmark", "mmlu", "--tokenizer", str(alone), "--limit", "1",
                 "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert "cannot load the tokenizer" in err and "Traceback" not in err


def test_sentencepiece_model_with_other_vocabulary_is_not_used(smollm2_dir: Path, tmp_path: Path,
                                                               llama2_tokenizer_dir: Path) -> None:
    directory = _tokenizer_copy(smollm2_dir, tmp_path / "tok")
    shutil.copy(llama2_tokenizer_dir / "tokenizer.model", directory / "tokenizer.model")
    tokenizer = load_tokenizer(directory, "sentencepiece")
    assert isinstance(tokenizer, HFTokenizer)
    assert "pieces differ" in (tokenizer.fallback_reason or "") or "pieces, the loaded" in (tokenizer.fallback_reason or "")


def test_llama2_sentencepiece_is_still_used(llama2_tokenizer_dir: Path) -> None:
    tokenizer = load_tokenizer(llama2_tokenizer_dir, "sentencepiece")
    assert isinstance(tokenizer, SentencePieceTokenizer)
    assert tokenizer.encode("Answer: ", add_special_tokens=False) == [673, 29901, 29871]


def _whitespace_dropping_tokenizer(target: Path) -> Path:
    """A real Hugging Face tokenizer whose pre-tokenizer drops spaces and newlines (as transformers 5.19's slow
    LlamaTokenizer did on a byte-level BPE directory)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0}
    for ch in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;?!()'\"-_/|^+=*&%$#@<>[]{}~`":
        vocab.setdefault(ch, len(vocab))
    core = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=1000))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]").save_pretrained(str(target))
    return target


def test_prompts_that_do_not_round_trip_are_refused(tmp_path: Path, data_dir: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    directory = _whitespace_dropping_tokenizer(tmp_path / "lossy")
    tokenizer = load_tokenizer(directory, "hf")
    with pytest.raises(TokenizationError) as info:
        build_plan("mmlu", "harness", tokenizer, data_dir, subjects=["anatomy"], limit=2)
    message = str(info.value)
    assert "TokenizersBackend" in message or "PreTrainedTokenizerFast" in message
    assert "first failing text: 'The following are multiple choice questions" in message
    assert main(["prompts", "--benchmark", "mmlu", "--template", "harness", "--tokenizer", str(directory),
                 "--subjects", "anatomy", "--limit", "1", "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert "does not round-trip" in err and "Traceback" not in err


def test_bos_policy_is_the_tokenizers_own_and_recorded(smollm2_dir: Path, llama2_tokenizer_dir: Path,
                                                       data_dir: Path) -> None:
    smol = build_plan("mmlu", "colossaleval", load_tokenizer(smollm2_dir, "sentencepiece"), data_dir,
                      subjects=["anatomy"], limit=2)
    assert smol.bos_added is False and smol.items[0].request.ids[0] != 1  # SmolLM2 adds no <|im_start|>
    assert smol.round_trip is not None and smol.round_trip.passed and smol.round_trip.texts_checked == 2
    llama = build_plan("mmlu", "colossaleval", load_tokenizer(llama2_tokenizer_dir, "sentencepiece"), data_dir,
                       subjects=["anatomy"], limit=2)
    assert llama.bos_added is True and llama.items[0].request.ids[0] == 1


def test_colossaleval_candidate_ids_for_byte_level_bpe(smollm2_dir: Path, data_dir: Path) -> None:
    """The last id of "Answer: X" (ĠA...) and of "答案：X" (bare A...), scoring.md §3.1, pinned for SmolLM2."""
    plan = build_plan("mmlu", "colossaleval", load_tokenizer(smollm2_dir, "sentencepiece"), data_dir,
                      subjects=["anatomy"], limit=1)
    assert plan.candidate_ids == ((330, 49), (389, 50), (340, 51), (422, 52))


def test_gemma3_bos_and_colossaleval_candidate_ids(gemma3_dir: Path, data_dir: Path) -> None:
    """Gemma's tokenizer adds <bos> (id 2); "Answer: X" ends in '▁A'..., "答案：X" in a bare 'A'..., pinned for Gemma 3.
    No tokenizer.model in the converted directory, so the `sentencepiece` policy uses its tokenizer.json."""
    tokenizer = load_tokenizer(gemma3_dir, "sentencepiece")
    assert isinstance(tokenizer, HFTokenizer) and "GemmaTokenizer" in tokenizer.implementation
    plan = build_plan("mmlu", "colossaleval", tokenizer, data_dir, subjects=["anatomy"], limit=2)
    assert plan.bos_added is True and plan.items[0].request.ids[0] == 2
    assert plan.round_trip is not None and plan.round_trip.passed
    assert plan.candidate_ids == ((562, 236776), (603, 236799), (565, 236780), (622, 236796))
    assert [tokenizer.pieces(ids) for ids in plan.candidate_ids] == [["▁A", "A"], ["▁B", "B"], ["▁C", "C"], ["▁D", "D"]]
