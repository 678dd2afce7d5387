"""Model directory facts read without torch: the config.json check and the safetensors parameter count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluators.model_files import check_model_dir, is_model_dir, safetensors_parameter_count


def test_parameter_count_reads_safetensors_headers(tmp_path: Path) -> None:
    header = {"a": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]},
              "b": {"dtype": "F32", "shape": [5], "data_offsets": [48, 68]}, "__metadata__": {"format": "pt"}}
    raw = json.dumps(header).encode()
    (tmp_path / "model-00001-of-00002.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(68))
    (tmp_path / "model-00002-of-00002.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(68))
    assert safetensors_parameter_count(tmp_path) == 34
    assert safetensors_parameter_count(tmp_path / "missing") is None


def test_a_model_directory_needs_a_config_json(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        check_model_dir(tmp_path / "missing")
    with pytest.raises(ValueError, match="has no config.json"):
        check_model_dir(tmp_path)
    assert not is_model_dir(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    assert is_model_dir(tmp_path) and check_model_dir(str(tmp_path)) == tmp_path
