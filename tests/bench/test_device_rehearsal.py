"""CPU rehearsal of the two prepared GPU checks, end to end as the device would run them.

Each test copies the working tree (what the device tool sends), builds that check's carry with its own bundle script
(wheels from the package registry, the MMLU files and the tokenizer from the data directory), runs the device
command script (`scripts/device/*.sh`) with a local interpreter standing in for the machine's, and reads the JSON
the check prints. Only the shape, the device and the interpreter differ from the device run, so a check cannot fail
there for a reason this machine would have shown: a wrong path, a missing carried file, a broken code path of the
script (mode comparison, subset, profile, per-plugin error records), or a carry over the 64 MiB limit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAIN_PYTHON = REPO_ROOT / ".venv-train" / "bin" / "python"

pytestmark = pytest.mark.slow


def copy_working_tree(destination: Path) -> Path:
    """The files the device tool sends: tracked and untracked-but-not-ignored ones."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                            check=True, capture_output=True).stdout.split(b"\0")
    for name in filter(None, (item.decode() for item in listed)):
        source = REPO_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def run_script(args: list[str], cwd: Path, env: dict[str, str], timeout: int) -> str:
    completed = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    return output


def base_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", **extra)
    return env


def test_eval_check_device_command(tmp_path: Path, data_dir: Path) -> None:
    tree = copy_working_tree(tmp_path / "tree")
    local_version = f"{sys.version_info.major}.{sys.version_info.minor}"
    env = base_env(PYTHON=sys.executable, CBENCH_DATA_DIR=str(data_dir), DEVICE_PYTHON_VERSION=local_version)
    bundle = run_script(["bash", "scripts/build_device_eval_bundle.sh"], tree, env, timeout=300)
    assert "of the 64 MiB that may travel" in bundle
    assert (tree / ".device" / "data" / "mmlu").is_dir() and list((tree / ".whl").glob("pydantic-*.whl"))

    out = tmp_path / "out"
    out.mkdir()
    env.update(OUT=str(out), SITE=str(tmp_path / "site"))
    run_script(["bash", "scripts/device/eval_check.sh", "--tiny", "--subjects", "global_facts", "--compare-limit",
                "2", "--profile-subject", "global_facts"], tree, env, timeout=900)
    final = json.loads((out / "gpu_eval_check.log").read_text().strip().splitlines()[-1])
    assert final["full_split"]["questions"] == final["full_buffer"]["questions"] == 100
    assert final["mode_agreement"]["same_predictions"] == final["mode_agreement"]["of"] == 100
    assert final["subset"]["same_predictions"] == 2
    assert final["subset"]["without_reuse"]["tokens"] > final["subset"]["with_reuse"]["tokens"]
    assert final["profile"]["subject"] == "global_facts" and final["profile"]["top"]
    assert 0 < final["full"]["peak_fraction"] and final["matmul_peak_tflops"] > 0


def summaries(log: str) -> list[dict]:
    return [json.loads(line.removeprefix("SUMMARY ")) for line in log.splitlines() if line.startswith("SUMMARY ")]


@pytest.mark.skipif(not TRAIN_PYTHON.exists(), reason="needs .venv-train (scripts/setup_trainer_venv.sh)")
def test_train_check_device_command(tmp_path: Path) -> None:
    tree = copy_working_tree(tmp_path / "tree")
    env = base_env(PYTHON=str(TRAIN_PYTHON))
    bundle = run_script(["bash", "scripts/build_device_train_bundle.sh"], tree, env, timeout=600)
    assert "of the 64 MiB that may travel" in bundle

    out = tmp_path / "out"
    out.mkdir()
    env.update(OUT=str(out), SITE=str(tmp_path / "site"))
    run_script(["bash", "scripts/device/train_check.sh", "--device", "cpu", "--shape", "tiny", "--batch", "2",
                "--seq", "64", "--steps", "1", "--warmup", "1", "--budget", "300"], tree, env, timeout=900)
    hf5, hf4 = (summaries((out / name).read_text()) for name in ("hf5.log", "hf4.log"))
    assert len(hf5) == len(hf4) == 1
    for summary in (hf5[0], hf4[0]):
        assert summary["device"] == "cpu" and summary["colossalai"] == "0.5.0"  # the carried wheel imported
        assert set(summary["kernels"]) >= {"cpu_adam_x86", "fused_optim_cuda"}
        for row in summary["configs"]:  # every row ran, or says why not, or records the stage that failed
            assert {"tokens_per_s", "skipped", "stage"} & set(row), row
    rows = {(row["plugin"], row["attn"]): row for row in hf5[0]["configs"]}
    baseline = rows[("torch", "sdpa")]
    assert baseline["tokens_per_s"] > 0 and len(baseline["losses"]) == 2
    # Without CUDA ColossalAI's ZeRO refuses to boost: recorded with its stage, not a crash of the check.
    assert rows[("zero2", "sdpa")]["stage"] == "boost" and "device is required" in rows[("zero2", "sdpa")]["error"]
    assert hf4[0]["transformers"] == "4.51.3"
