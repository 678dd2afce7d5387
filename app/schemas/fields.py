"""Request field types: one definition of every input rule (characters, lengths, counts, formats).

Every text a client sends is refused when it holds a NUL byte, a control character or a bidirectional formatting
character (they corrupt storage on Postgres, logs and rendered pages); names are NFKC-normalised and trimmed
first. The `LIMITS` object states the lengths and counts; the README quotes them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StringConstraints


@dataclass(frozen=True)
class Limits:
    name_chars: int = 255
    run_chars: int = 200
    tag_chars: int = 64
    tags: int = 32
    description_chars: int = 4000
    path_chars: int = 1024
    revision_chars: int = 255
    benchmarks: int = 16
    subjects: int = 200
    key_chars: int = 64  # benchmark, template, backend and subject keys
    min_max_length: int = 512  # tokens; below this the longest zero-shot questions do not fit
    max_max_length: int = 1_048_576
    idempotency_key_chars: int = 255


LIMITS = Limits()

STRICT = ConfigDict(extra="forbid", strict=True)
"""Every request schema: unknown fields and wrong JSON types (`"5"` for a number, `true` for an id) are refused."""

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = frozenset("\n\r\t")


def unsafe_character(text: str, *, allow_line_breaks: bool = False) -> str | None:
    """A description of the first refused character in `text` (NUL, other C0/C1 controls, bidi formatting)."""
    for index, char in enumerate(text):
        if allow_line_breaks and char in LINE_BREAKS:
            continue
        if char == "\x00":
            return f"a NUL byte at position {index}"
        if unicodedata.category(char) == "Cc":
            return f"a control character U+{ord(char):04X} at position {index}"
        if char in BIDI_CONTROLS:
            return f"a bidirectional formatting character U+{ord(char):04X} at position {index}"
    return None


def _plain_text(text: str) -> str:
    problem = unsafe_character(text)
    if problem:
        raise ValueError(f"must not contain {problem}")
    return text


def _multiline_text(text: str) -> str:
    problem = unsafe_character(text, allow_line_breaks=True)
    if problem:
        raise ValueError(f"must not contain {problem}")
    return text


def normalize_name(text: str) -> str:
    """NFKC, trimmed: the stored form of every name and tag."""
    return unicodedata.normalize("NFKC", text).strip()


def name_key(name: str) -> str:
    """The form two names are compared in for uniqueness: normalised, then case-folded."""
    return normalize_name(name).casefold()


def _label(text: str) -> str:
    """A normalised, non-empty, printable one-line label (tags, run names)."""
    if not isinstance(text, str):
        return text  # the strict str check reports the type
    text = normalize_name(text)
    if not text:
        raise ValueError("must not be empty or whitespace only")
    return _plain_text(text)


def _name(text: str) -> str:
    """A model name: a label that is not all digits in any script (a number refers to a model id)."""
    text = _label(text)
    if isinstance(text, str) and text.isnumeric():
        raise ValueError("must not be all digits (a number refers to a model id)")
    return text


def _unique(values: list[str]) -> list[str]:
    if len({v.casefold() for v in values}) != len(values):
        raise ValueError("must not repeat")
    return values


# A Hugging Face Hub revision: a branch, tag or commit; no `..` step, no leading `/` or `.`.
REVISION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+/-]*$")


def _revision(text: str) -> str:
    if not REVISION.match(text) or ".." in text or "//" in text or text.endswith(("/", ".lock")):
        raise ValueError("must be a branch, tag or commit (letters, digits and _ . + / -, no '..')")
    return text


DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:[0-9]{1,2})?)$")

Name = Annotated[str, BeforeValidator(_name), StringConstraints(max_length=LIMITS.name_chars)]
RunName = Annotated[str, BeforeValidator(_label), StringConstraints(max_length=LIMITS.run_chars)]
Tag = Annotated[str, BeforeValidator(_label), StringConstraints(max_length=LIMITS.tag_chars)]
Tags = Annotated[list[Tag], Field(max_length=LIMITS.tags), AfterValidator(_unique)]
Description = Annotated[str, StringConstraints(max_length=LIMITS.description_chars),
                        AfterValidator(_multiline_text)]
PlainText = Annotated[str, AfterValidator(_plain_text)]
ModelPath = Annotated[str, StringConstraints(min_length=1, max_length=LIMITS.path_chars),
                      AfterValidator(_plain_text)]
Revision = Annotated[str, StringConstraints(min_length=1, max_length=LIMITS.revision_chars),
                     AfterValidator(_revision)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=LIMITS.key_chars), AfterValidator(_plain_text)]
Benchmarks = Annotated[list[Key], Field(min_length=1, max_length=LIMITS.benchmarks), AfterValidator(_unique)]
OptionalBenchmarks = Annotated[list[Key], Field(max_length=LIMITS.benchmarks), AfterValidator(_unique)]
Subjects = Annotated[list[Key], Field(min_length=1, max_length=LIMITS.subjects), AfterValidator(_unique)]
Device = Annotated[str, StringConstraints(pattern=DEVICE.pattern)]
MaxLength = Annotated[int, Field(ge=LIMITS.min_max_length, le=LIMITS.max_max_length)]
