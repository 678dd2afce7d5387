"""Resize a LLaMA checkpoint to an expanded tokenizer (Colossal-LLaMA `init_model.py`, spec trainer.md §1.2).

Each new row is the mean of the old rows of the piece's decomposition under the OLD tokenizer (no BOS/EOS; the
word-boundary "▁" that SentencePiece puts in front is part of it, as in the original), computed separately for the
input embedding and the LM head. Optional padding rows (to a multiple) get the mean of all old rows. Runs on CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trainer.vocab import copy_tokenizer, load_processor

if TYPE_CHECKING:
    import torch

DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass(frozen=True)
class ResizeReport:
    old_vocab: int
    tokenizer_vocab: int
    model_vocab: int  # tokenizer_vocab rounded up to the padding multiple
    output: Path


def decompositions(old_model_file: str | Path, new_model_file: str | Path) -> list[list[int]]:
    """For each new piece (id >= old size), its ids under the old tokenizer, without BOS/EOS."""
    old, new = load_processor(old_model_file), load_processor(new_model_file)
    old_size, new_size = old.get_piece_size(), new.get_piece_size()
    if new_size <= old_size:
        raise ValueError(f"the new tokenizer ({new_size} pieces) is not larger than the old one ({old_size})")
    for i in range(old_size):
        if old.id_to_piece(i) != new.id_to_piece(i):
            raise ValueError(f"the new tokenizer does not extend the old one: id {i} differs")
    result = []
    for i in range(old_size, new_size):
        piece = new.id_to_piece(i)
        ids = old.encode(piece)
        if not ids:
            raise ValueError(f"new piece {piece!r} (id {i}) encodes to nothing under the old tokenizer")
        result.append(ids)
    return result


def expanded_matrix(old: torch.Tensor, parts: list[list[int]], total_rows: int) -> torch.Tensor:
    """Old rows, then the mean of each decomposition's old rows, then padding rows up to `total_rows`."""
    import torch

    new_rows = [old[ids].mean(dim=0) for ids in parts]
    rows = old.shape[0] + len(new_rows)
    if total_rows < rows:
        raise ValueError(f"cannot fit {rows} rows into {total_rows}")
    padding = [old.mean(dim=0)] * (total_rows - rows)
    return torch.cat([old, torch.stack(new_rows + padding)], dim=0) if new_rows or padding else old.clone()


def padded_size(size: int, multiple: int | None) -> int:
    if not multiple:
        return size
    if multiple < 1:
        raise ValueError("--pad-to-multiple-of must be positive")
    return -(-size // multiple) * multiple


def resize_model(source_dir: str | Path, tokenizer_dir: str | Path, output_dir: str | Path, *,
                 pad_to_multiple_of: int | None = None, dtype: str = "auto") -> ResizeReport:
    """Load the source model on CPU in fp32, grow both matrices, save in `dtype` with the new tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM

    source, tokenizer, output = Path(source_dir), Path(tokenizer_dir), Path(output_dir)
    if dtype not in DTYPES:
        raise ValueError(f"--dtype must be one of {', '.join(DTYPES)}")
    if output.exists() and any(output.iterdir()):
        raise ValueError(f"output directory {output} exists and is not empty")
    parts = decompositions(source / "tokenizer.model", tokenizer / "tokenizer.model")
    model = AutoModelForCausalLM.from_pretrained(source, torch_dtype=torch.float32)
    embed, head = model.get_input_embeddings(), model.get_output_embeddings()
    old_vocab = embed.weight.shape[0]
    tokenizer_vocab = old_vocab + len(parts)
    if head is not None and getattr(head, "bias", None) is not None:
        raise ValueError("the LM head has a bias; only bias-free heads (LLaMA) are supported")
    total = padded_size(tokenizer_vocab, pad_to_multiple_of)
    with torch.no_grad():
        new_embed = expanded_matrix(embed.weight.detach(), parts, total)
        tied = model.config.tie_word_embeddings
        new_head = None if tied or head is None else expanded_matrix(head.weight.detach(), parts, total)
        model.resize_token_embeddings(total, mean_resizing=False)
        model.get_input_embeddings().weight.copy_(new_embed)
        if new_head is not None:
            model.get_output_embeddings().weight.copy_(new_head)
    save_dtype = model.config.torch_dtype if dtype == "auto" else getattr(torch, dtype)
    if isinstance(save_dtype, str):
        save_dtype = getattr(torch, save_dtype)
    model.to(save_dtype or torch.float32).save_pretrained(output, safe_serialization=True)
    copy_tokenizer(tokenizer, output)
    return ResizeReport(old_vocab=old_vocab, tokenizer_vocab=tokenizer_vocab, model_vocab=total, output=output)
