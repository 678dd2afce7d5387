"""Register saved checkpoints with the colossal-bench server, through a local outbox.

After each save, rank 0 turns the checkpoint's sidecar into a `POST /api/v1/checkpoints` body and appends it to
`<save_dir>/registration_outbox.jsonl`, then flushes the outbox: each pending entry is sent once; an entry that
reached the server (2xx, or 409 "already registered") moves to `registration_sent.jsonl`; a connection failure or
5xx leaves it pending for the next flush (next save, end of training, or `cbench-train register`); any
other 4xx is a permanent rejection, moved to `registration_failed.jsonl` with the server's message. Requests go
through the project's one API client, `cbench.client` (httpx), the same one the remote `cbench` commands use.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cbench.client import ApiError, Client
from evaluators.templates import DEFAULT_TEMPLATE
from trainer.checkpoints import read_sidecar

OUTBOX = "registration_outbox.jsonl"
SENT = "registration_sent.jsonl"
FAILED = "registration_failed.jsonl"


@dataclass(frozen=True)
class EvalRequest:
    """What to ask the server to score each checkpoint on."""

    benchmarks: tuple[str, ...] = ()
    limit: int | None = None
    subjects: tuple[str, ...] | None = None
    tags: tuple[str, ...] = ()
    template: str = DEFAULT_TEMPLATE
    description: str | None = None


@dataclass(frozen=True)
class FlushResult:
    sent: int
    pending: int
    failed: int
    last_error: str | None = None


def registration_body(checkpoint_dir: str | Path, run: str, request: EvalRequest) -> dict:
    """The POST body, built from the checkpoint's sidecar (not from the training process's memory)."""
    sidecar = read_sidecar(checkpoint_dir)
    return {
        "run": run,
        "step": sidecar["step"],
        "tokens_seen": sidecar["tokens_seen"],
        "path": str(Path(checkpoint_dir).resolve()),
        "benchmarks": list(request.benchmarks),
        "template": request.template,
        "options": {"limit": request.limit, "subjects": list(request.subjects) if request.subjects else None},
        "tags": list(request.tags),
        "description": request.description,
        "contamination_index": (sidecar.get("data_manifest") or {}).get("contamination_index"),  # of --data
    }


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _append_jsonl(path: Path, entry: dict) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def _key(body: dict) -> str:
    return f"{body['run']}|{body['path']}"


def enqueue(save_dir: str | Path, body: dict) -> None:
    """Add a registration to the outbox unless it is already pending or sent."""
    save = Path(save_dir)
    known = {_key(entry["body"]) for entry in _read_jsonl(save / OUTBOX) + _read_jsonl(save / SENT)}
    if _key(body) not in known:
        _append_jsonl(save / OUTBOX, {"body": body})


def post(server: str, token: str, body: dict, timeout: float = 10.0) -> tuple[int, str]:
    """POST one body; returns (status, what the server said). Raises OSError (`ServerUnreachable`) when the
    server cannot be reached."""
    with Client(server, token, timeout=timeout) as client:
        try:
            registered = client.register_checkpoint(body)
        except ApiError as exc:
            return exc.status, exc.detail
    answer = {"model": registered.model.id, "jobs": [job.id for job in registered.jobs]}
    return (201 if registered.created else 200), json.dumps(answer)


def flush(save_dir: str | Path, server: str, token: str) -> FlushResult:
    """Try to send every pending registration once; rewrite the outbox with what is still pending. The first
    unreachable-server error keeps the rest pending without trying them."""
    save = Path(save_dir)
    pending, sent, failed, error = [], 0, 0, None
    unreachable = False
    for entry in _read_jsonl(save / OUTBOX):
        if unreachable:  # one timeout per flush is enough: training must not stall once per pending entry
            pending.append(entry)
            continue
        try:
            status, text = post(server, token, entry["body"])
        except OSError as exc:  # connection refused, timeout, DNS
            pending.append(entry)
            error = f"server unreachable: {exc}"
            unreachable = True
            continue
        if 200 <= status < 300 or status == 409:
            _append_jsonl(save / SENT, {"body": entry["body"], "status": status, "response": text[:2000]})
            sent += 1
        elif status >= 500 or status == 429:
            pending.append(entry)
            error = f"server answered {status}: {text[:200]}"
        else:
            _append_jsonl(save / FAILED, {"body": entry["body"], "status": status, "response": text[:2000]})
            failed += 1
            error = f"server rejected the registration ({status}): {text[:200]}"
    tmp = save / (OUTBOX + ".tmp")
    tmp.write_text("".join(json.dumps(e) + "\n" for e in pending), encoding="utf-8")
    os.replace(tmp, save / OUTBOX)
    return FlushResult(sent=sent, pending=len(pending), failed=failed, last_error=error)


def register_checkpoint(checkpoint_dir: str | Path, save_dir: str | Path, server: str, token: str, run: str,
                        request: EvalRequest) -> FlushResult:
    enqueue(save_dir, registration_body(checkpoint_dir, run, request))
    return flush(save_dir, server, token)
