from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from trainer.args import TrainArgs, add_arguments
from trainer.cli import main
from trainer.plugins import check_plugin


def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert main(["prepare", "--input", str(tmp_path / "missing.jsonl"), "--tokenizer", str(tmp_path),
                 "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cbench-train prepare: error:") and "\n" not in err


def test_run_arguments_are_validated_with_the_flag_named(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CBENCH_TOKEN", raising=False)
    assert main(["run", "--data", "d", "--save-dir", "s"]) == 2
    assert "--model" in capsys.readouterr().err
    with pytest.raises(ValueError, match="--accumulation-steps"):
        TrainArgs(model="m", data="d", save_dir="s", accumulation_steps=0)
    with pytest.raises(ValueError, match="--pp-size"):
        TrainArgs(model="m", data="d", save_dir="s", pp_size=2)
    with pytest.raises(ValueError, match="token"):
        TrainArgs(model="m", data="d", save_dir="s", server="http://x")
    with pytest.raises(ValueError, match="exactly one of --model"):
        TrainArgs(model="m", resume_from="c", data="d", save_dir="s")


def test_secrets_never_reach_the_sidecar_arguments():
    args = TrainArgs(model="m", data="d", save_dir="s", server="http://x", token="secret")
    assert "secret" not in str(args.public_dict())


def test_only_ddp_is_accepted_without_cuda():
    check_plugin("ddp", cuda=False)
    for plugin in ("zero2", "zero2_cpu", "gemini", "gemini_auto", "3d"):
        with pytest.raises(ValueError, match="needs CUDA"):
            check_plugin(plugin, cuda=False)


def test_entry_point_help_runs():
    result = subprocess.run([sys.executable, "-m", "trainer", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "expand-vocab" in result.stdout


@dataclass
class _Options:  # annotations are strings here (postponed evaluation), as in trainer/args.py
    rate: float | None = field(default=None, metadata={"help": "an optional float"})
    steps: int | None = field(default=None, metadata={"help": "an optional int"})
    name: str = field(default="x", metadata={"help": "a string"})
    fast: bool = field(default=False, metadata={"help": "a switch"})


def test_argument_types_come_from_the_annotations():
    parser = argparse.ArgumentParser()
    add_arguments(parser, _Options)
    parsed = parser.parse_args(["--rate", "0.25", "--steps", "3", "--name", "y", "--fast"])
    assert (parsed.rate, parsed.steps, parsed.name, parsed.fast) == (0.25, 3, "y", True)
    assert type(parsed.rate) is float and type(parsed.steps) is int
    assert vars(parser.parse_args([])) == {"rate": None, "steps": None, "name": "x", "fast": False}
    with pytest.raises(SystemExit):
        parser.parse_args(["--rate", "fast"])  # not a float: argparse refuses it


def test_train_arguments_are_parsed_with_their_types():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    parsed = parser.parse_args(["--data", "d", "--save-dir", "s", "--lr", "1e-3", "--max-steps", "4",
                                "--zero-stage", "2", "--grad-checkpoint"])
    assert (parsed.lr, parsed.max_steps, parsed.zero_stage, parsed.grad_checkpoint) == (1e-3, 4, 2, True)
    assert parsed.warmup_steps is None and parsed.batch_size == 2
