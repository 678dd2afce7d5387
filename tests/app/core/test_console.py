"""Console output: human-readable logs on a terminal and JSON lines otherwise (or when asked), and progress bars
that never mix into JSON log lines, checked on a real pseudo-terminal and a real pipe."""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from app.core.logging import HumanFormatter, JsonFormatter, make_handler, resolve_format

REPO_ROOT = Path(__file__).resolve().parents[3]
TOKEN = "cbt_0123456789ab_s3cretS3cretS3cret-_x"


def test_auto_is_human_on_a_terminal_and_json_elsewhere() -> None:
    leader, follower = pty.openpty()
    try:
        with os.fdopen(follower, "w", closefd=False) as terminal:
            assert resolve_format("auto", terminal) == "human"
            assert isinstance(make_handler("auto", terminal).formatter, HumanFormatter)
            assert resolve_format("json", terminal) == "json"  # asked for: JSON even on a terminal
    finally:
        os.close(leader)
        os.close(follower)
    assert resolve_format("auto", io.StringIO()) == "json"
    assert isinstance(make_handler("auto", io.StringIO()).formatter, JsonFormatter)
    with pytest.raises(ValueError, match="unknown log format"):
        resolve_format("yaml")


def test_human_lines_carry_context_and_stay_redacted() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("test-console-human")
    logger.handlers, logger.propagate, logger.level = [make_handler("human", stream)], False, logging.INFO
    logger.info("job %s claimed with %s", 7, TOKEN, extra={"job_id": 7, "worker": "w1"})
    line = stream.getvalue().strip()
    assert " INFO " in line and "job 7 claimed" in line and "job_id=7 worker=w1" in line
    assert "s3cret" not in line and not line.startswith("{")


PROGRESS = """
import logging, sys
from app.core.logging import configure_logging
from evaluators.progress import ProgressBar
if sys.argv[1] == "configured":
    configure_logging(sys.argv[2])
    logging.getLogger("cbench").info("starting")
with ProgressBar("mmlu") as bar:
    for done in range(0, 101, 5):
        bar.update(done, 100)
"""


def _run(*args: str, stderr: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-c", PROGRESS, *args], env=env, stderr=stderr or subprocess.PIPE,
                          stdout=subprocess.PIPE, timeout=120, check=True)


def test_progress_on_a_pipe_with_json_logs_is_json_lines_only() -> None:
    result = _run("configured", "auto")  # stderr is a pipe: auto means JSON
    lines = result.stderr.decode().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is JSON: no bar fragments
    assert "\r" not in result.stderr.decode()
    progress = [e for e in entries if e["logger"] == "cbench.progress"]
    assert [e["done"] for e in progress] == list(range(0, 101, 10)) and all(e["total"] == 100 for e in progress)


def test_progress_without_logging_on_a_pipe_is_plain_lines() -> None:
    result = _run("plain")
    assert result.stderr.decode().splitlines()[-1] == "mmlu: 100/100 questions"
    assert "\r" not in result.stderr.decode()


def _on_terminal(*args: str) -> str:
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a 120-column terminal
    try:
        _run(*args, stderr=follower)
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the terminal's other end is closed: everything was read
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks).decode(errors="replace")
    finally:
        os.close(leader)


def test_a_terminal_gets_a_bar_unless_logs_are_json() -> None:
    bar = _on_terminal("plain")
    assert re.search(r"\r(?!\n)", bar) and "100/100" in bar and "mmlu:" in bar  # tqdm redraws its line
    json_logs = _on_terminal("configured", "json")  # JSON asked for on a terminal: records, no bar
    lines = [line for line in json_logs.replace("\r\n", "\n").split("\n") if line.strip()]
    assert all(json.loads(line) for line in lines) and "\r" not in json_logs.replace("\r\n", "\n")
    human = _on_terminal("configured", "auto")  # a terminal: human lines, progress as lines, no bar
    assert " INFO " in human and "mmlu: 100/100 questions" in human and not human.lstrip().startswith("{")
