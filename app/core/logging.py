"""Structured logs: one JSON object (or one key=value line) per record, secrets redacted.

`configure_logging(fmt)` installs one handler on the root logger (uvicorn's loggers propagate to it). Records
carry context through `extra=`: `job_id`, `worker`, `method`, `path`, `status`, `ms`. The redaction filter masks
API tokens, `Authorization: Bearer` values and passwords in URLs in every message, whoever logged it.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone

from sqlalchemy.engine import make_url

CONTEXT_FIELDS = ("job_id", "worker", "attempt", "method", "path", "status", "ms", "client")
_TOKEN = re.compile(r"\b(cbt_[0-9A-Za-z]+_)[\w-]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\"]+")
_URL_PASSWORD = re.compile(r"(\w[\w+.-]*://[^:/@\s]+:)[^@\s]+(@)")


def redact(text: str) -> str:
    """`text` with API token secrets, bearer values and URL passwords replaced by ***."""
    text = _TOKEN.sub(r"\1***", text)
    text = _BEARER.sub(r"\1***", text)
    return _URL_PASSWORD.sub(r"\1***\2", text)


def mask_database_url(url: str) -> str:
    """The URL as text with its password (if any) shown as ***."""
    return make_url(url).render_as_string(hide_password=True)


class RedactFilter(logging.Filter):
    """Formats the message once, redacted, so no formatter ever sees the raw arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


def _context(record: logging.LogRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in CONTEXT_FIELDS if getattr(record, name, None) is not None}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {"ts": _timestamp(record), "level": record.levelname, "logger": record.name,
                                    "msg": record.getMessage(), **_context(record)}
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        pairs = {"ts": _timestamp(record), "level": record.levelname, "logger": record.name,
                 **_context(record), "msg": record.getMessage()}
        line = " ".join(f"{key}={json.dumps(value, default=str, ensure_ascii=False)}" for key, value in pairs.items())
        if record.exc_info:
            line += " exc=" + json.dumps(redact(self.formatException(record.exc_info)))
        return line


def make_handler(fmt: str = "json", stream=None) -> logging.Handler:  # noqa: ANN001
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    handler.addFilter(RedactFilter())
    return handler


def configure_logging(fmt: str = "json", level: int = logging.INFO) -> None:
    """Route every logger (ours and uvicorn's) through one structured, redacting handler on the root logger."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(make_handler(fmt))
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
