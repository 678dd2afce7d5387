"""Two CPU processes (torchrun, gloo, ddp plugin) train a tiny LLaMA; a full resume reproduces the losses exactly."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("colossalai")

pytestmark = pytest.mark.slow

TRAIN = ["--plugin", "ddp", "--batch-size", "2", "--max-steps", "6", "--save-interval", "3", "--lr", "3e-3",
         "--warmup-steps", "1", "--seed", "7"]


def torchrun(*args: str, nproc: int = 2) -> subprocess.CompletedProcess:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--master_port", str(port),
               "-m", "trainer", "run", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CBENCH_TOKEN": ""}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def losses(save_dir: Path) -> dict[int, float]:
    return {e["step"]: e["loss"] for e in map(json.loads, (save_dir / "train_log.jsonl").read_text().splitlines())}


@pytest.fixture(scope="module")
def data(tmp_path_factory, corpus, tiny_model):
    from trainer.prepare import prepare

    output = tmp_path_factory.mktemp("packed") / "data"
    prepare([corpus], tiny_model, output, max_length=128, bins=2, seed=3)
    return output


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, tiny_model, data):
    save = tmp_path_factory.mktemp("run") / "save"
    torchrun("--model", str(tiny_model), "--data", str(data), "--save-dir", str(save), *TRAIN)
    return save


def test_two_processes_train_with_falling_loss(first_run):
    curve = losses(first_run)
    assert sorted(curve) == [1, 2, 3, 4, 5, 6]
    assert curve[6] < curve[1] - 0.5
    assert sorted(p.name for p in first_run.glob("epoch-*")) == ["epoch-0_step-3", "epoch-0_step-6"]
    assert list((first_run / "tensorboard").glob("events.out.tfevents.*"))


def test_checkpoint_is_a_loadable_hf_model_with_tokenizer_and_sidecar(first_run, tiny_model, data):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trainer.vocab import tokenizer_hash

    checkpoint = first_run / "epoch-0_step-6"
    model = AutoModelForCausalLM.from_pretrained(checkpoint)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert not torch.equal(model.lm_head.weight, base.lm_head.weight)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    assert tokenizer("hi").input_ids[0] == tokenizer.bos_token_id
    sidecar = json.loads((checkpoint / "checkpoint.json").read_text())
    assert sidecar["step"] == 6 and sidecar["tokens_seen"] > 0
    assert sidecar["tokenizer_hash"] == tokenizer_hash(tiny_model)
    assert sidecar["base_model"] == str(tiny_model.resolve())
    assert sidecar["data_manifest"]["path"] == str(data.resolve())
    assert sidecar["attn_implementation"] == "sdpa" and sidecar["world_size"] == 2
    assert sidecar["args"]["plugin"] == "ddp"


def test_full_resume_reproduces_the_next_losses_exactly(first_run, data, tmp_path):
    save = tmp_path / "resumed"
    torchrun("--resume-from", str(first_run / "epoch-0_step-3"), "--data", str(data), "--save-dir", str(save), *TRAIN)
    original, resumed = losses(first_run), losses(save)
    assert sorted(resumed) == [4, 5, 6]
    assert all(resumed[s] == original[s] for s in (4, 5, 6)), (original, resumed)
    tokens = json.loads((save / "epoch-0_step-6" / "checkpoint.json").read_text())["tokens_seen"]
    assert tokens == json.loads((first_run / "epoch-0_step-6" / "checkpoint.json").read_text())["tokens_seen"]


def test_weights_only_start_resets_schedule_and_position(first_run, data, tmp_path):
    save = tmp_path / "stage2"
    torchrun("--resume-from", str(first_run / "epoch-0_step-6"), "--resume-mode", "weights", "--data", str(data),
             "--save-dir", str(save), "--plugin", "ddp", "--batch-size", "2", "--max-steps", "2", "--lr", "1e-3",
             "--warmup-steps", "2", nproc=1)
    log = [json.loads(line) for line in (save / "train_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [1, 2] and log[0]["lr"] == pytest.approx(5e-4)
    sidecar = json.loads((save / "epoch-0_step-2" / "checkpoint.json").read_text())
    assert sidecar["base_model"] == str((first_run / "epoch-0_step-6").resolve())


def test_accumulated_micro_steps_see_the_same_sequences_as_one_larger_batch(first_run, tiny_model, data, tmp_path):
    """--batch-size 1 --accumulation-steps 2 takes the same sequences per optimizer step as --batch-size 2 (the
    sampler order does not depend on the batch size), so tokens and the resume position agree step by step."""
    save = tmp_path / "accumulated"
    train = list(TRAIN)
    train[train.index("--batch-size") + 1] = "1"
    torchrun("--model", str(tiny_model), "--data", str(data), "--save-dir", str(save), *train,
             "--accumulation-steps", "2")
    assert sorted(losses(save)) == [1, 2, 3, 4, 5, 6]
    for name in ("epoch-0_step-3", "epoch-0_step-6"):
        mine, theirs = (json.loads((run / name / "checkpoint.json").read_text()) for run in (save, first_run))
        assert mine["tokens_seen"] == theirs["tokens_seen"]
        running = [json.loads((run / name / "running_states.json").read_text()) for run in (save, first_run)]
        assert running[0] == running[1]
