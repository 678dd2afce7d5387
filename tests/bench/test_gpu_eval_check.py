"""The prepared GPU check refuses to run without CUDA unless asked for its tiny CPU smoke mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from bench import gpu_eval_check  # noqa: E402


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_full_run_needs_cuda(data_dir: Path) -> None:
    with pytest.raises(ValueError, match="CUDA is not available"):
        gpu_eval_check.main(["--quick", "--data-dir", str(data_dir)])


def test_unknown_subject_is_refused(data_dir: Path) -> None:
    with pytest.raises(ValueError):
        gpu_eval_check.main(["--tiny", "--subjects", "nope", "--data-dir", str(data_dir)])


@pytest.mark.slow
def test_tiny_run_end_to_end(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gpu_eval_check.main(["--tiny", "--subjects", "global_facts", "--compare-limit", "3",
                         "--data-dir", str(data_dir)])
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert final["full"]["questions"] == 100
    assert final["subset"]["without_reuse"]["tokens"] > final["subset"]["with_reuse"]["tokens"]
    assert final["subset"]["same_predictions"] == 3
