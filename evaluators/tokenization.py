"""Tokenizers with the semantics each template needs (scoring.md §3.5).

ColossalEval's reference tokenization of a LLaMA-family model is SentencePiece's own. transformers 5 converts the same
`tokenizer.model` differently on runs of spaces, which changes scores, so the `sentencepiece` policy tokenizes with
the `sentencepiece` library whenever the model ships a `tokenizer.model` (BOS/EOS as its tokenizer config says) and
falls back to the Hugging Face tokenizer otherwise. The `hf` policy (harness template) uses the Hugging Face tokenizer,
as lm-evaluation-harness does. The implementation used and a hash of its files go into every run record.

The semantics follow the tokenizer transformers actually loads: a `tokenizer.model` is used only when it parses as a
SentencePiece model *and* its pieces are the loaded tokenizer's vocabulary (a GGUF conversion may write the whole
GGUF file under that name beside a byte-level BPE `tokenizer.json`); otherwise the Hugging Face tokenizer is used and
the reason is kept in `fallback_reason`. BOS/EOS are the tokenizer's own (a tokenizer that adds none adds none).
`check_round_trip` verifies, before scoring, that decoding the ids of every prompt gives the prompt back.
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


class TokenizationError(ValueError):
    """The tokenizer cannot represent the run's prompts faithfully (see `check_round_trip`)."""


class TextTokenizer(Protocol):
    implementation: str
    files_sha256: str
    bos_id: int | None
    eos_id: int | None
    fallback_reason: str | None

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
    fallback_reason: str | None = None

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
        self.class_name = type(self._tok).__name__
        self.fallback_reason: str | None = None

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return list(self._tok(text, add_special_tokens=add_special_tokens)["input_ids"])

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [list(ids) for ids in self._tok(list(texts), add_special_tokens=True)["input_ids"]]

    def decode(self, ids: Sequence[int]) -> str:
        return self._tok.decode(list(ids), skip_special_tokens=True)

    def pieces(self, ids: Sequence[int]) -> list[str]:
        return list(self._tok.convert_ids_to_tokens(list(ids)))

    def __len__(self) -> int:
        return len(self._tok)


def sentencepiece_parse_problem(model_file: Path) -> str | None:
    """Why `model_file` is not a SentencePiece model (None when it parses). Never raises for a malformed file."""
    import sentencepiece

    data = model_file.read_bytes()
    if data[:4] == b"GGUF":
        return f"{model_file.name} is a GGUF file, not a SentencePiece model"
    try:
        sentencepiece.SentencePieceProcessor().LoadFromSerializedProto(data)
    except (RuntimeError, OSError) as exc:
        return f"{model_file.name} does not parse as a SentencePiece model ({str(exc).splitlines()[0][:120]})"
    return None


def sentencepiece_problem(model_file: Path, loaded: HFTokenizer, probes: int = 64) -> str | None:
    """Why `model_file` must not be trusted for `loaded`'s model: it does not parse, or its pieces are not the
    loaded tokenizer's vocabulary. None when it may be used."""
    import sentencepiece

    problem = sentencepiece_parse_problem(model_file)
    if problem is not None:
        return problem
    sp = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
    size = sp.get_piece_size()
    if size > len(loaded):
        return f"{model_file.name} has {size} pieces, the loaded {loaded.class_name} {len(loaded)}"
    sample = sorted({min(size - 1, i * max(size // probes, 1)) for i in range(probes)})
    if [sp.id_to_piece(i) for i in sample] != loaded.pieces(sample):
        return f"{model_file.name}'s pieces differ from the vocabulary of the loaded {loaded.class_name}"
    return None


@dataclass(frozen=True)
class RoundTripCheck:
    """Result of decoding the ids of every distinct prompt text; recorded in the run record."""

    tokenizer: str
    texts_checked: int
    passed: bool
    first_failure: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"tokenizer": self.tokenizer, "texts_checked": self.texts_checked, "passed": self.passed,
                "first_failure": self.first_failure}


def check_round_trip(tokenizer: TextTokenizer, encoded: dict[str, Sequence[int]]) -> RoundTripCheck:
    """`decode(encode(text)) == text` (special tokens aside) for every text; `encoded` maps text to its ids.

    A tokenizer that drops or rewrites whitespace (seen: transformers 5.19 loading a byte-level BPE directory as a
    slow `LlamaTokenizer`) fails here instead of silently scoring wrong prompts.
    """
    for text, ids in encoded.items():
        if tokenizer.decode(ids) != text:
            return RoundTripCheck(tokenizer=tokenizer.implementation, texts_checked=len(encoded), passed=False,
                                  first_failure=text)
    return RoundTripCheck(tokenizer=tokenizer.implementation, texts_checked=len(encoded), passed=True)


def load_tokenizer(model_path: str | Path, policy: TokenizerPolicy, *, allow_remote_code: bool = False,
                   revision: str | None = None) -> TextTokenizer:
    """The tokenizer a template's policy asks for (see the module docstring)."""
    path = Path(model_path)
    if policy not in ("sentencepiece", "hf"):
        raise ValueError(f"unknown tokenizer policy {policy!r}; valid: sentencepiece, hf")
    model_file = path / "tokenizer.model"
    if model_file.is_file() and not (path / "tokenizer.json").is_file():
        problem = sentencepiece_parse_problem(model_file)  # transformers would convert this file: check it first
        if problem is not None and not (path / "vocab.json").is_file():
            raise TokenizationError(f"cannot load the tokenizer of {path}: {problem} and there is no tokenizer.json")
        if problem is None and policy == "sentencepiece":
            return _sentencepiece(path)
    try:
        loaded = HFTokenizer(path, allow_remote_code=allow_remote_code, revision=revision)
    except Exception as exc:  # a broken tokenizer.model makes sentencepiece/protobuf raise deep inside transformers
        first_line = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise TokenizationError(f"transformers cannot load the tokenizer of {path}: {type(exc).__name__}: "
                                f"{first_line}") from exc
    if policy == "sentencepiece" and model_file.is_file():
        problem = sentencepiece_problem(model_file, loaded)
        if problem is None:
            return _sentencepiece(path)
        loaded.fallback_reason = problem
    return loaded


def _sentencepiece(path: Path) -> SentencePieceTokenizer:
    config = _read_tokenizer_config(path)
    return SentencePieceTokenizer(path / "tokenizer.model", add_bos=bool(config.get("add_bos_token", True)),
                                  add_eos=bool(config.get("add_eos_token", False)),
                                  files_sha256=tokenizer_files_sha256(path))
