"""One readable message from pydantic's request validation errors, naming the field (or, for a body that is not a
JSON object at all, saying that a JSON object is required and which fields it has)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

JSON_HINT = "send a JSON object with 'Content-Type: application/json'"
UNION_MEMBERS = ("int", "str", "float", "bool", "list", "dict")


def _fields(model: type[BaseModel] | None) -> str:
    if model is None:
        return ""
    required = [name for name, field in model.model_fields.items() if field.is_required()]
    optional = [name for name, field in model.model_fields.items() if not field.is_required()]
    parts = [f"required: {', '.join(required)}"] if required else []
    if optional:
        parts.append(f"optional: {', '.join(optional)}")
    return f" ({'; '.join(parts)})" if parts else ""


def _where(loc: Sequence[Any], *, keep_last: bool = False) -> str:
    """`options.subjects.0` from pydantic's location, without the `body` root and union member tags (the last part
    is kept as is when it is the client's own key, as for an unknown field)."""
    parts = list(loc[1:] if loc and loc[0] == "body" else loc)
    last = parts.pop() if keep_last and parts else None
    kept = [str(p) for p in parts if not (isinstance(p, str) and _is_member_tag(p))]
    return ".".join(kept + ([str(last)] if last is not None else []))


def _is_member_tag(part: str) -> bool:
    """pydantic's tag for one member of a union (`int`, `constrained-int`, `function-after[...]`), not a field."""
    return part in UNION_MEMBERS or "[" in part or part.startswith(("constrained-", "function-", "lax-", "json-"))


def _body_problem(error: dict[str, Any], content_type: str | None, model: type[BaseModel] | None) -> str | None:
    """The message for an error about the body as a whole, else None."""
    kind, loc = error.get("type"), tuple(error.get("loc", ()))
    if kind == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "JSON decode error")
        position = f" at position {loc[1]}" if len(loc) > 1 else ""
        return f"request body is not valid JSON ({reason}{position}); {JSON_HINT}{_fields(model)}"
    if loc != ("body",):
        return None
    media = (content_type or "").split(";")[0].strip().lower()
    if kind == "missing":
        return f"request body is empty; {JSON_HINT}{_fields(model)}"
    if media and media != "application/json" and not media.endswith("+json"):
        return f"request body has Content-Type {media!r}; {JSON_HINT}{_fields(model)}"
    return f"request body must be a JSON object, got {type(error.get('input')).__name__}; {JSON_HINT}{_fields(model)}"


def validation_message(errors: Sequence[dict[str, Any]], model: type[BaseModel] | None = None,
                       content_type: str | None = None) -> str:
    by_field: dict[str, list[str]] = {}
    for error in errors:
        body = _body_problem(error, content_type, model)
        if body is not None:
            return body
        message = str(error.get("msg")).removeprefix("Value error, ")
        unknown = error.get("type") == "extra_forbidden"
        if unknown:
            message = "unknown field (not part of this request; check the spelling)"
        messages = by_field.setdefault(_where(error.get("loc", ()), keep_last=unknown), [])
        if message not in messages:
            messages.append(message)
    parts = [f"{where}: {' or '.join(m)}" if where else " or ".join(m) for where, m in by_field.items()]
    return "; ".join(parts) or "invalid request"
