"""Logs: one JSON object, one key=value line or one human-readable line per record, secrets redacted.

`configure_logging(fmt)` installs one handler on the root logger (uvicorn's loggers propagate to it). Formats:
`auto` (the default: `human` when the log stream is a terminal, `json` otherwise, e.g. under systemd, Docker or a
pipe), `json`, `text` (key=value) and `human`. Records carry context through `extra=`: `job_id`, `worker`, `method`,
`path`, `status`, `ms`, `done`/`total` (progress). The redaction filter masks API tokens, `Authorization: Bearer`
values and passwords in URLs in every message, whoever logged it. Progress bars are drawn only by processes that
did not configure logging here, and only on a terminal (`evaluators.progress`), so a bar never mixes into log lines.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

from sqlalchemy.engine import make_url

CONTEXT_FIELDS = ("job_id", "worker", "attempt", "method", "path", "status", "ms", "client", "done", "total")
FORMATS = ("auto", "json", "text", "human")
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


class HumanFormatter(logging.Formatter):
    """`12:03:04 INFO    job 7 claimed  job_id=7 worker=w1` (local time), for a person at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        context = " ".join(f"{k}={v}" for k, v in _context(record).items())
        line = f"{when} {record.levelname:<7} {record.getMessage()}" + (f"  {context}" if context else "")
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


FORMATTERS = {"json": JsonFormatter, "text": KeyValueFormatter, "human": HumanFormatter}
_configured: dict[str, str | None] = {"format": None}  # what `configure_logging` resolved


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def resolve_format(fmt: str, stream=None) -> str:
    """`auto` becomes `human` on a terminal and `json` otherwise; other formats stay as they are."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; valid: {', '.join(FORMATS)}")
    if fmt != "auto":
        return fmt
    return "human" if _is_terminal(stream if stream is not None else sys.stderr) else "json"


def make_handler(fmt: str = "json", stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(FORMATTERS[resolve_format(fmt, handler.stream)]())
    handler.addFilter(RedactFilter())
    return handler


def configure_logging(fmt: str = "auto", level: int = logging.INFO, stream=None) -> str:
    """Route every logger (ours and uvicorn's) through one redacting handler on the root logger; returns the
    format in use (`auto` resolved)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = make_handler(fmt, stream)
    _configured["format"] = resolve_format(fmt, handler.stream)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return _configured["format"]
