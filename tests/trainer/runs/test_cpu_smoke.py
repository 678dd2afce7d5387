"""The CPU smoke recipe runs end to end (the recipe is the test: it cannot rot)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("colossalai")

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_cpu_smoke_recipe(tmp_path, data_dir):
    env = {**os.environ, "PY": sys.executable, "CBENCH_DATA_DIR": str(data_dir)}
    env.pop("CBENCH_SERVER", None)
    result = subprocess.run(["bash", str(REPO / "trainer/runs/cpu_smoke.sh"), str(tmp_path / "w")], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    log = [json.loads(line) for line in (tmp_path / "w/save/train_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [1, 2, 3, 4] and log[-1]["loss"] < log[0]["loss"]
    assert (tmp_path / "w/save/epoch-0_step-4/tokenizer.model").is_file()
