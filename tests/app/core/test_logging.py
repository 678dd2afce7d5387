"""Structured log lines carry job ids; tokens, bearer values and URL passwords never reach the output."""

from __future__ import annotations

import io
import json
import logging

from app.core.logging import make_handler, mask_database_url, redact

TOKEN = "cbt_0123456789ab_s3cretS3cretS3cret-_x"


def emit(fmt: str, message: str, *args: object, **extra: object) -> str:
    stream = io.StringIO()
    logger = logging.getLogger(f"test-logging-{fmt}")
    logger.handlers, logger.propagate, logger.level = [make_handler(fmt, stream)], False, logging.INFO
    logger.info(message, *args, extra=extra)
    return stream.getvalue()


def test_json_line_with_job_id() -> None:
    entry = json.loads(emit("json", "job %s claimed", 7, job_id=7, worker="w1"))
    assert entry["msg"] == "job 7 claimed" and entry["job_id"] == 7 and entry["worker"] == "w1"
    assert entry["level"] == "INFO" and "ts" in entry


def test_key_value_line() -> None:
    line = emit("text", "job %s done", 3, job_id=3)
    assert 'job_id=3' in line and 'msg="job 3 done"' in line


def test_secrets_are_redacted_in_messages_and_arguments() -> None:
    out = emit("json", "auth %s, header %s, db %s", TOKEN, "Authorization: Bearer abc.def",
               "postgresql+psycopg://bench:hunter2@db:5432/cbench")
    assert "s3cret" not in out and "abc.def" not in out and "hunter2" not in out
    assert "cbt_0123456789ab_***" in out and "bench:***@db" in out


def test_database_url_masking() -> None:
    assert mask_database_url("postgresql+psycopg://u:pw@h/db") == "postgresql+psycopg://u:***@h/db"
    assert mask_database_url("sqlite:///./var/cbench.db") == "sqlite:///./var/cbench.db"
    assert redact("no secrets here") == "no secrets here"
