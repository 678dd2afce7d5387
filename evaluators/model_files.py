"""What a Hugging Face model directory holds, read and written without torch: the `config.json` that makes a
directory a checkpoint, the parameter count from the safetensors headers (no tensor is read), and the tokenizer
config files LLaMA-2 ships (written next to a copied `tokenizer.model`)."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.json"

LLAMA2_TOKENIZER_CONFIG: dict[str, Any] = {
    "tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False, "bos_token": "<s>",
    "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None, "legacy": True, "model_max_length": 4096,
    "clean_up_tokenization_spaces": False, "sp_model_kwargs": {},
}
"""`tokenizer_config.json` of LLaMA-2's slow `LlamaTokenizer`: BOS added, no EOS."""
LLAMA2_SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}


def is_model_dir(path: str | Path) -> bool:
    """True when `path` is a directory holding a `config.json`."""
    return (Path(path) / CONFIG_FILE).is_file()


def check_model_dir(path: str | Path) -> Path:
    """`path` as a Path; ValueError naming it when it does not exist or has no config.json."""
    directory = Path(path)
    if not directory.exists():
        raise ValueError(f"model path {path} does not exist")
    if not is_model_dir(directory):
        raise ValueError(f"model path {path} has no {CONFIG_FILE} (not a Hugging Face model directory)")
    return directory


MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
"""Largest safetensors header accepted (what the safetensors library itself accepts)."""


class UnreadableSafetensors(ValueError):
    """A safetensors file whose header cannot be read: truncated, random bytes, or a header length past the file."""


def safetensors_parameter_count(directory: str | Path) -> int | None:
    """Sum of the tensor sizes in the safetensors headers of `directory`; None when it has no safetensors file.
    `UnreadableSafetensors` naming the file when a header is not a valid one."""
    path = Path(directory)
    files = sorted(f for f in path.glob("*.safetensors") if f.is_file()) if path.is_dir() else []
    if not files:
        return None
    return sum(_tensor_elements(file) for file in files)


def _tensor_elements(file: Path) -> int:
    """Elements of all tensors in one safetensors file, from its header (no tensor is read)."""
    try:
        size = file.stat().st_size
        with file.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) != 8:
                raise ValueError("shorter than its 8-byte header length")
            (length,) = struct.unpack("<Q", prefix)
            if length > min(size - 8, MAX_SAFETENSORS_HEADER):
                raise ValueError(f"header length {length} exceeds the file ({size} bytes)")
            header = json.loads(handle.read(length))
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
        total = 0
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            shape = entry.get("shape") if isinstance(entry, dict) else None
            if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
                raise ValueError(f"tensor {name!r} has no valid shape")
            total += math.prod(shape)
        return total
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise UnreadableSafetensors(f"unreadable safetensors file {file.name} ({exc})") from None


def write_llama_tokenizer_files(output_dir: str | Path, config: dict[str, Any] | None = None) -> None:
    """Write `tokenizer_config.json` (LLaMA-2's, or `config`) and `special_tokens_map.json` to `output_dir`."""
    output = Path(output_dir)
    (output / "tokenizer_config.json").write_text(json.dumps(config or LLAMA2_TOKENIZER_CONFIG, indent=2),
                                                  encoding="utf-8")
    (output / "special_tokens_map.json").write_text(json.dumps(LLAMA2_SPECIAL_TOKENS, indent=2), encoding="utf-8")
