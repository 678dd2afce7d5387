"""Extend a LLaMA SentencePiece tokenizer with new pieces (Colossal-LLaMA `init_tokenizer.py`, spec trainer.md §1.1).

Pieces come from JSON lines (`{"piece": ...}`) or are mined from a corpus with SentencePiece's own trainer. They are
de-duplicated (first occurrence wins), sorted shortest first (stable) and appended to the model proto after the old
vocabulary, as NORMAL pieces with score 0 like the original, or as USER_DEFINED pieces on request. NORMAL pieces only
come out of the BPE merges if in-vocabulary intermediates lead to them, so every piece that does not encode to a
single id is reported (USER_DEFINED pieces always match).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from evaluators.model_files import LLAMA2_TOKENIZER_CONFIG, write_llama_tokenizer_files

# sentencepiece_model_pb2 is generated code: the pure-python protobuf backend accepts it across protobuf versions.
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

WORD_BOUNDARY = "\u2581"  # SentencePiece's "▁"
TOKENIZER_FILES = ("tokenizer.model", "tokenizer_config.json", "special_tokens_map.json")
BPE_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")
"""A byte-level BPE model without `tokenizer.model` (SmolLM2 and other GPT-2 style vocabularies)."""


@dataclass(frozen=True)
class ExpansionReport:
    """What `expand_tokenizer` did."""

    old_size: int
    new_size: int
    added: tuple[str, ...]  # in id order, starting at old_size
    skipped: tuple[str, ...]  # already in the vocabulary
    not_single: tuple[str, ...]  # added pieces that the new tokenizer does not encode to their own single id


def vocabulary_file(tokenizer_dir: str | Path) -> Path:
    """`tokenizer.model` (SentencePiece), else `tokenizer.json` (byte-level BPE): the file that defines the ids."""
    directory = Path(tokenizer_dir)
    for name in ("tokenizer.model", "tokenizer.json"):
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"no tokenizer.model or tokenizer.json in {tokenizer_dir}")


def tokenizer_hash(tokenizer_dir: str | Path) -> str:
    """sha256 of the vocabulary file: identifies the vocabulary that prepared data and checkpoints were made with."""
    return hashlib.sha256(vocabulary_file(tokenizer_dir).read_bytes()).hexdigest()


class BpeProcessor:
    """The part of SentencePieceProcessor's interface that `prepare` uses, over a `tokenizer.json` (the
    `tokenizers` library, so the ids do not depend on the transformers version). BOS and EOS are the
    `bos_token`/`eos_token` of `tokenizer_config.json`; no special token is added by `encode`."""

    def __init__(self, directory: Path) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        config_file = directory / "tokenizer_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
        self._bos, self._eos = (self._special_id(config, key, directory) for key in ("bos_token", "eos_token"))

    def _special_id(self, config: dict, key: str, directory: Path) -> int:
        token = config.get(key)
        token = token.get("content") if isinstance(token, dict) else token
        token_id = self.tokenizer.token_to_id(token) if isinstance(token, str) else None
        if token_id is None:
            raise ValueError(f"{directory}/tokenizer_config.json names no {key} of the vocabulary")
        return token_id

    def bos_id(self) -> int:
        return self._bos

    def eos_id(self) -> int:
        return self._eos

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids)


def load_processor(model_file: str | Path):
    """A SentencePieceProcessor (a `tokenizer.model`, or a directory holding one), else a `BpeProcessor` for a
    directory with only `tokenizer.json`; a clear error when neither exists (sentencepiece raises RuntimeError)."""
    import sentencepiece as spm

    path = Path(model_file)
    if path.is_dir():
        if not (path / "tokenizer.model").is_file() and (path / "tokenizer.json").is_file():
            return BpeProcessor(path)
        path = path / "tokenizer.model"
    if not path.is_file():
        raise FileNotFoundError(f"tokenizer model {path} does not exist")
    return spm.SentencePieceProcessor(model_file=str(path))


def read_pieces(path: str | Path) -> list[str]:
    """Read JSON lines `{"piece": "..."}`; blank lines are skipped, anything else is an error naming the line."""
    pieces = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                piece = json.loads(line)["piece"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: expected a JSON object with a 'piece' string ({exc})") from None
            if not isinstance(piece, str) or not piece:
                raise ValueError(f"{path}:{number}: 'piece' must be a non-empty string")
            pieces.append(piece)
    return pieces


def order_pieces(pieces: Iterable[str]) -> list[str]:
    """De-duplicate keeping the first occurrence, then stable-sort by length (shortest first)."""
    return sorted(dict.fromkeys(pieces), key=len)


def mine_pieces(corpus: str | Path, count: int, *, model_type: str = "bpe") -> list[str]:
    """Train a SentencePiece model on a text corpus: its characters plus about `count` learned pieces (no specials).

    The vocabulary must hold every character the corpus needs, so the model size is `count` + the corpus'
    distinct characters; pieces that the source tokenizer already has are skipped later by `expand_tokenizer`.
    """
    import sentencepiece as spm

    if count < 1:
        raise ValueError("--mine must be a positive number of pieces")
    path = Path(corpus)
    if not path.is_file():
        raise FileNotFoundError(f"corpus {path} does not exist")
    characters = {ch for line in path.open(encoding="utf-8") for ch in line.strip() if not ch.isspace()}
    with tempfile.TemporaryDirectory() as tmp:
        prefix = str(Path(tmp) / "mined")
        try:
            spm.SentencePieceTrainer.train(input=str(path), model_prefix=prefix, model_type=model_type,
                                           vocab_size=count + len(characters) + 4, character_coverage=1.0,
                                           num_threads=1, hard_vocab_limit=False, minloglevel=2)
        except RuntimeError as exc:
            raise ValueError(f"mining pieces from {path} failed: {exc}") from None
        processor = spm.SentencePieceProcessor(model_file=prefix + ".model")
        return [processor.id_to_piece(i) for i in range(processor.get_piece_size())
                if not (processor.is_control(i) or processor.is_unknown(i) or processor.is_byte(i))]


def single_id_failures(model_file: str | Path, pieces: Iterable[str]) -> list[str]:
    """Pieces that do not encode to exactly their own id (a leading lone "▁" piece is ignored, as for CJK text)."""
    processor = load_processor(model_file)
    boundary = processor.piece_to_id(WORD_BOUNDARY)
    failures = []
    for piece in pieces:
        ids = processor.encode(piece)
        if len(ids) == 2 and ids[0] == boundary:
            ids = ids[1:]
        if ids != [processor.piece_to_id(piece)]:
            failures.append(piece)
    return failures


def expand_tokenizer(source_dir: str | Path, pieces: Iterable[str], output_dir: str | Path, *,
                     user_defined: bool = False) -> ExpansionReport:
    """Write `output_dir` with the source vocabulary plus `pieces` (ordered by `order_pieces`)."""
    from sentencepiece import sentencepiece_model_pb2 as model_pb2

    source, output = Path(source_dir), Path(output_dir)
    if output.exists() and any(output.iterdir()):
        raise ValueError(f"output directory {output} exists and is not empty")
    if not (source / "tokenizer.model").is_file():
        raise FileNotFoundError(f"no tokenizer.model in {source}")
    proto = model_pb2.ModelProto()
    proto.ParseFromString((source / "tokenizer.model").read_bytes())
    known = {p.piece for p in proto.pieces}
    old_size = len(proto.pieces)
    added, skipped = [], []
    piece_type = model_pb2.ModelProto.SentencePiece.USER_DEFINED if user_defined else None
    for piece in order_pieces(pieces):
        if piece in known:
            skipped.append(piece)
            continue
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, 0.0
        if piece_type is not None:
            entry.type = piece_type
        known.add(piece)
        added.append(piece)
    output.mkdir(parents=True, exist_ok=True)
    (output / "tokenizer.model").write_bytes(proto.SerializeToString())
    write_hf_tokenizer_files(output, source)
    return ExpansionReport(old_size=old_size, new_size=len(proto.pieces), added=tuple(added), skipped=tuple(skipped),
                           not_single=tuple(single_id_failures(output / "tokenizer.model", added)))


def write_hf_tokenizer_files(output_dir: Path, source_dir: Path | None = None) -> None:
    """Write the slow `LlamaTokenizer` config files next to `tokenizer.model` (BOS added, no EOS, as LLaMA-2)."""
    config = dict(LLAMA2_TOKENIZER_CONFIG)
    if source_dir is not None and (source_dir / "tokenizer_config.json").is_file():
        original = json.loads((source_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
        config.update({k: v for k, v in original.items() if k in {"model_max_length", "legacy", "pad_token"}})
        config.update({"add_bos_token": True, "add_eos_token": False})
    write_llama_tokenizer_files(output_dir, config)


def copy_tokenizer(source_dir: str | Path, output_dir: str | Path) -> None:
    """Copy the tokenizer files that exist in `source_dir` (tokenizer.model, or tokenizer.json without one)."""
    source, output = Path(source_dir), Path(output_dir)
    bpe = vocabulary_file(source).name == "tokenizer.json"
    output.mkdir(parents=True, exist_ok=True)
    if bpe:
        for name in BPE_TOKENIZER_FILES:
            if (source / name).is_file():
                shutil.copyfile(source / name, output / name)
        return
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, output / name)
    if not (source / "tokenizer_config.json").is_file():
        write_hf_tokenizer_files(output)
