"""Trainer -> server end to end: checkpoints saved by `cbench-train run` are registered with a real `cbench serve`
(main venv, SQLite, in-process worker) and scored on MMLU; with the server down, the outbox keeps them until
`cbench-train register` flushes it, and a repeated flush registers nothing twice.

Runs in the trainer venv; the server runs from <repo>/.venv as a subprocess (skipped when that venv is missing).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("colossalai")

pytestmark = [pytest.mark.slow, pytest.mark.trainer]

REPO = Path(__file__).resolve().parents[2]
CBENCH = REPO / ".venv" / "bin" / "cbench"
SUBJECTS = ("abstract_algebra", "anatomy")
LIMIT = 2
STEPS, SAVE_EVERY = 4, 2
EXPECTED_STEPS = [2, 4]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def server_env(tmp_path_factory, data_dir: Path) -> dict:
    """Environment for `cbench` commands: a fresh SQLite file, the shared data, the checkpoint root, a fast worker."""
    if not CBENCH.is_file():
        pytest.skip(f"the main venv's cbench ({CBENCH}) is missing")
    root = tmp_path_factory.mktemp("e2e")
    (root / "models").mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH")}
    env.update({"DATABASE_URL": f"sqlite:///{root / 'cbench.db'}", "CBENCH_DATA_DIR": str(data_dir),
                "CBENCH_MODEL_ROOTS": str(root / "models"), "CBENCH_WORKER_POLL_INTERVAL": "0.2",
                "CBENCH_WORKER_DEVICE": "cpu", "CBENCH_LOG_FORMAT": "text", "OMP_NUM_THREADS": "1",
                "CBENCH_LEADERBOARD_CACHE_SECONDS": "0"})
    return {"env": env, "root": root}


@contextmanager
def running_server(server_env: dict, log_name: str) -> Iterator[str]:
    """`cbench serve` on a free port until the block ends (SIGTERM); yields the base URL once /readyz answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = server_env["root"] / log_name
    with open(log_path, "w") as log:
        process = subprocess.Popen([str(CBENCH), "serve", "--port", str(port), "--device", "cpu"], cwd=REPO,
                                   env=server_env["env"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"cbench serve exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if get(f"{url}/readyz")["status"] == "ok":
                    break
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"cbench serve did not answer /readyz:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def token(server_env: dict) -> str:
    """A token made by `cbench token create` on the migrated database (the server is not running yet)."""
    env = server_env["env"]
    for command in (["migrate"], ["token", "create", "--name", "trainer"]):
        result = subprocess.run([str(CBENCH), *command], cwd=REPO, env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def data(tmp_path_factory, corpus: Path, tiny_model: Path) -> Path:
    from trainer.prepare import prepare

    output = tmp_path_factory.mktemp("packed") / "data"
    prepare([corpus], tiny_model, output, max_length=128, bins=2, seed=3)
    return output


def train(tiny_model: Path, data: Path, save_dir: Path, run: str, server: str, token: str) -> str:
    """One process of `cbench-train run` registering every checkpoint for MMLU; returns its stdout."""
    command = [sys.executable, "-m", "trainer", "run", "--model", str(tiny_model), "--data", str(data),
               "--save-dir", str(save_dir), "--plugin", "ddp", "--batch-size", "2", "--max-steps", str(STEPS),
               "--save-interval", str(SAVE_EVERY), "--lr", "3e-3", "--warmup-steps", "1", "--seed", "7",
               "--server", server, "--token", token, "--run-name", run, "--benchmarks", "mmlu",
               "--eval-limit", str(LIMIT), "--eval-subjects", ",".join(SUBJECTS), "--tags", "e2e"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for key in ("CBENCH_TOKEN", "RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert token not in result.stdout + result.stderr
    return result.stdout


def register(save_dir: Path, server: str, token: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trainer", "register", "--save-dir", str(save_dir),
                           "--server", server, "--token", token], capture_output=True, text=True, timeout=120)


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def run_models(url: str, run: str) -> list[dict]:
    return sorted(get(f"{url}/api/v1/models?run={run}&limit=1000")["data"], key=lambda m: m["step"])


def wait_for_jobs(url: str, model_id: int, timeout: float = 120) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = get(f"{url}/api/v1/jobs?model={model_id}")["data"]
        if jobs and all(job["status"] in ("succeeded", "failed", "cancelled") for job in jobs):
            return jobs
        if time.monotonic() > deadline:
            pytest.fail(f"jobs of model {model_id} did not finish: {jobs}")
        time.sleep(0.5)


def test_checkpoints_are_registered_and_scored_while_training(server_env, token, tiny_model, data):
    save_dir = server_env["root"] / "models" / "online"
    with running_server(server_env, "serve_online.log") as url:
        stdout = train(tiny_model, data, save_dir, "online", url, token)
        assert "0 pending" in stdout
        assert sorted(p.name for p in save_dir.glob("epoch-*")) == [f"epoch-0_step-{s}" for s in EXPECTED_STEPS]
        assert jsonl(save_dir / "registration_outbox.jsonl") == []
        assert [e["status"] for e in jsonl(save_dir / "registration_sent.jsonl")] == [201] * len(EXPECTED_STEPS)

        models = run_models(url, "online")
        assert [m["name"] for m in models] == [f"online@step-{s}" for s in EXPECTED_STEPS]
        scores: dict[int, float] = {}
        for model, step in zip(models, EXPECTED_STEPS, strict=True):
            sidecar = json.loads((save_dir / f"epoch-0_step-{step}" / "checkpoint.json").read_text())
            assert (model["training_run"], model["step"], model["tags"]) == ("online", step, ["e2e"])
            assert model["tokens_seen"] == sidecar["tokens_seen"] > 0
            assert model["path"] == str((save_dir / f"epoch-0_step-{step}").resolve())
            jobs = wait_for_jobs(url, model["id"])
            assert [(j["benchmark"], j["status"]) for j in jobs] == [("mmlu", "succeeded")], jobs
            job = jobs[0]
            assert job["config"]["limit"] == LIMIT and job["config"]["subjects"] == list(SUBJECTS)
            results = get(f"{url}/api/v1/jobs/{job['id']}/results")
            assert results["summary"]["n"] == LIMIT * len(SUBJECTS)
            assert sorted(s["subject"] for s in results["subjects"]) == list(SUBJECTS)
            predictions = get(f"{url}/api/v1/jobs/{job['id']}/predictions")
            assert predictions["count"] == LIMIT * len(SUBJECTS)
            assert {p["subject"] for p in predictions["data"]} == set(SUBJECTS)
            assert all(p["pred"] in "ABCD" and p["gold"] in "ABCD" for p in predictions["data"])
            scores[step] = results["summary"]["micro"]["acc"]
        # the scores sit beside the loss curve: scalars at each checkpoint's step in the run's TensorBoard dir
        from tensorboard.backend.event_processing import event_accumulator

        reader = event_accumulator.EventAccumulator(str(save_dir / "tensorboard"),
                                                    size_guidance={event_accumulator.SCALARS: 0})
        reader.Reload()
        assert len(reader.Scalars("Loss")) == STEPS
        evaluated = {e.step: e.value for e in reader.Scalars("eval_partial/mmlu")}  # --eval-limit: partial
        assert evaluated == {step: pytest.approx(acc, abs=1e-4) for step, acc in scores.items()}


def test_outbox_keeps_registrations_while_the_server_is_down(server_env, token, tiny_model, data):
    save_dir = server_env["root"] / "models" / "offline"
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    stdout = train(tiny_model, data, save_dir, "offline", down, token)
    assert f"0 sent, {len(EXPECTED_STEPS)} pending" in stdout
    outbox = save_dir / "registration_outbox.jsonl"
    pending = jsonl(outbox)
    assert [e["body"]["step"] for e in pending] == EXPECTED_STEPS
    assert not (save_dir / "registration_sent.jsonl").exists()
    refused = register(save_dir, down, token)
    assert refused.returncode == 1 and f"0 sent, {len(EXPECTED_STEPS)} pending" in refused.stdout

    lost_reply = outbox.read_bytes()  # as if the process died after the server took the entries but before the
    with running_server(server_env, "serve_offline.log") as url:  # outbox was rewritten: they are sent again
        first = register(save_dir, url, token)
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"{len(EXPECTED_STEPS)} sent, 0 pending, 0 rejected" in first.stdout
        assert jsonl(outbox) == []
        again = register(save_dir, url, token)
        assert again.returncode == 0 and "0 sent, 0 pending" in again.stdout
        outbox.write_bytes(lost_reply)
        replay = register(save_dir, url, token)
        assert replay.returncode == 0 and f"{len(EXPECTED_STEPS)} sent, 0 pending" in replay.stdout
        statuses = [e["status"] for e in jsonl(save_dir / "registration_sent.jsonl")]
        assert statuses == [201] * len(EXPECTED_STEPS) + [200] * len(EXPECTED_STEPS)

        models = run_models(url, "offline")
        assert [(m["name"], m["training_run"], m["step"]) for m in models] == [
            (f"offline@step-{s}", "offline", s) for s in EXPECTED_STEPS]
        for model in models:
            jobs = get(f"{url}/api/v1/jobs?model={model['id']}")["data"]
            assert [j["benchmark"] for j in jobs] == ["mmlu"]  # queued once, not once per flush
