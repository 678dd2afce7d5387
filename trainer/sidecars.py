"""JSON sidecar files (checkpoint and packed-data manifests): read one, checking that it exists and its format."""

from __future__ import annotations

import json
from pathlib import Path


def read_sidecar_file(path: Path, expected_format: str, missing: str) -> dict:
    """The JSON object at `path`; FileNotFoundError(`missing`) when absent, ValueError for another format."""
    if not path.is_file():
        raise FileNotFoundError(missing)
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != expected_format:
        raise ValueError(f"{path}: unknown format {data.get('format')!r}")
    return data
