"""Process-wide notices shown at the top of every page (e.g. a failed demo training run), keyed by what set them."""

from __future__ import annotations

import threading

_LOCK = threading.Lock()
_NOTICES: dict[str, str] = {}


def set_notice(key: str, text: str) -> None:
    with _LOCK:
        _NOTICES[key] = text


def clear_notice(key: str) -> None:
    with _LOCK:
        _NOTICES.pop(key, None)


def current_notices() -> list[str]:
    with _LOCK:
        return list(_NOTICES.values())
