"""Tokenizers with the semantics each template needs (scoring.md §3.5).

ColossalEval's reference tokenization of a LLaMA-family model is SentencePiece's own. transformers 5 converts the same
`tokenizer.model` differently on runs of spaces, which changes scores, so the `sentencepiece` policy tokenizes with
the `sentencepiece` library whenever the model ships a `tokenizer.model` (BOS/EOS as its tokenizer config says) and
falls back to the Hugging Face tokenizer otherwise. The `hf` policy (harness template) uses the Hugging Face tokenizer,
as lm-evaluation-harness does. The implementation used and a hash of its files go into every run record.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

TokenizerPolicy = Literal["sentencepiece", "hf"]
TOKENIZER_FILES = ("tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "vocab.json", "merges.txt")


class TextTokenizer(Protocol):
    implementation: str
    files_sha256: str
    bos_id: int | None
    eos_id: int | None

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]: ...

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """`encode(text)` (with special tokens) for many texts at once, using every core."""
        ...

    def decode(self, ids: Sequence[int]) -> str: ...


def tokenizer_files_sha256(model_path: str | Path) -> str:
    """sha256 over the tokenizer files present in `model_path` (name + bytes, in a fixed order)."""
    digest = hashlib.sha256()
    for name in TOKENIZER_FILES:
        path = Path(model_path) / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _read_tokenizer_config(model_path: Path) -> dict[str, Any]:
    path = model_path / "tokenizer_config.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


@dataclass
class SentencePieceTokenizer:
    """SentencePiece semantics: `sp.encode(text)` plus BOS/EOS as the model's tokenizer config asks."""

    model_file: Path
    add_bos: bool = True
    add_eos: bool = False
    files_sha256: str = ""
    implementation: str = "sentencepiece"

    def __post_init__(self) -> None:
        import sentencepiece

        self._sp = sentencepiece.SentencePieceProcessor(model_file=str(self.model_file))
        self.bos_id = self._sp.bos_id() if self._sp.bos_id() >= 0 else None
        self.eos_id = self._sp.eos_id() if self._sp.eos_id() >= 0 else None
        self.implementation = f"sentencepiece {sentencepiece.__version__}"

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        ids = list(self._sp.encode(text))
        if add_special_tokens:
            if self.add_bos and self.bos_id is not None:
                ids.insert(0, self.bos_id)
            if self.add_eos and self.eos_id is not None:
                ids.append(self.eos_id)
        return ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        batch = self._sp.encode(list(texts), num_threads=os.cpu_count() or 1)
        prefix = [self.bos_id] if self.add_bos and self.bos_id is not None else []
        suffix = [self.eos_id] if self.add_eos and self.eos_id is not None else []
        return [prefix + list(ids) + suffix for ids in batch]

    def decode(self, ids: Sequence[int]) -> str:
        specials = {self.bos_id, self.eos_id}
        return self._sp.decode([i for i in ids if i not in specials])


class HFTokenizer:
    """A Hugging Face tokenizer behind the same small interface."""

    def __init__(self, model_path: str | Path, *, allow_remote_code: bool = False, revision: str | None = None) -> None:
        import transformers
        from transformers import AutoTokenizer

        self._tok = AutoTokenizer.from_pretrained(str(model_path), trust_remote_code=allow_remote_code,
                                                  revision=revision)
        self.bos_id = self._tok.bos_token_id
        self.eos_id = self._tok.eos_token_id
        self.files_sha256 = tokenizer_files_sha256(model_path)
        self.implementation = f"transformers {transformers.__version__} {type(self._tok).__name__}"

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return list(self._tok(text, add_special_tokens=add_special_tokens)["input_ids"])

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [list(ids) for ids in self._tok(list(texts), add_special_tokens=True)["input_ids"]]

    def decode(self, ids: Sequence[int]) -> str:
        return self._tok.decode(list(ids), skip_special_tokens=True)


def load_tokenizer(model_path: str | Path, policy: TokenizerPolicy, *, allow_remote_code: bool = False,
                   revision: str | None = None) -> TextTokenizer:
    """The tokenizer a template's policy asks for (see the module docstring)."""
    path = Path(model_path)
    if policy not in ("sentencepiece", "hf"):
        raise ValueError(f"unknown tokenizer policy {policy!r}; valid: sentencepiece, hf")
    if policy == "sentencepiece" and (path / "tokenizer.model").is_file():
        config = _read_tokenizer_config(path)
        return SentencePieceTokenizer(path / "tokenizer.model", add_bos=bool(config.get("add_bos_token", True)),
                                      add_eos=bool(config.get("add_eos_token", False)),
                                      files_sha256=tokenizer_files_sha256(path))
    return HFTokenizer(path, allow_remote_code=allow_remote_code, revision=revision)
