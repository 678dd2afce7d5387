"""Webhook bodies and signatures, as pure functions.

A body is JSON with a `text` field that a Slack or Feishu incoming webhook shows as is, the event name, its id
(the idempotency key: delivery is at-least-once, so a receiver that must act once dedups on it), when it happened,
and the event's data. The signature header is `sha256=` + hex HMAC-SHA256 of the exact body bytes under the
subscription's secret, checked on the receiver with a constant-time comparison (`verify_signature`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

EVENTS = ("job.finished", "job.failed", "checkpoint.regressed")
SIGNATURE_HEADER = "X-Cbench-Signature"
EVENT_HEADER = "X-Cbench-Event"
EVENT_ID_HEADER = "X-Cbench-Event-Id"


def event_body(event: str, event_id: str, text: str, data: dict[str, Any], occurred_at: datetime) -> str:
    """The JSON body of one event (keys sorted, so the same event always serialises to the same bytes)."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}; valid: {', '.join(EVENTS)}")
    return json.dumps({"event": event, "id": event_id, "text": text, "occurred_at": occurred_at.isoformat() + "Z",
                       "data": data}, ensure_ascii=False, sort_keys=True, allow_nan=False)


def sign(secret: str, body: bytes) -> str:
    """The signature header value: `sha256=<hex HMAC-SHA256(secret, body)>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}%"


def job_finished_text(job_id: int, model: str, benchmark: str, summary: dict[str, Any] | None,
                      estimate: dict[str, Any] | None, sample_only: bool) -> str:
    micro = (summary or {}).get("micro") or {}
    if sample_only and estimate:
        return (f"colossal-bench: job {job_id} finished (sample only): {benchmark} on {model}: estimate "
                f"{_pct(estimate['acc'])} (95% CI {_pct(estimate['ci_low'])}–{_pct(estimate['ci_high'])}), "
                f"{estimate['n']:,} of {estimate['population']:,} questions")
    expected = (summary or {}).get("expected_n")
    of = f" of {expected:,}" if expected else ""
    return (f"colossal-bench: job {job_id} finished: {benchmark} on {model}: {_pct(micro.get('acc'))} "
            f"(95% CI {_pct(micro.get('ci_low'))}–{_pct(micro.get('ci_high'))}), {micro.get('n', 0):,}{of} questions")


def job_failed_text(job_id: int, model: str, benchmark: str, error: str | None) -> str:
    reason = (error or "no reason recorded").splitlines()[0][:300]
    return f"colossal-bench: job {job_id} failed: {benchmark} on {model}: {reason}"


def regressed_text(run: str, step: int | None, benchmark: str, verdicts: list[dict[str, Any]]) -> str:
    parts = [f"{v['diff']:+.2f} points vs {v['baseline']} (step {v['baseline_step']}), 95% CI "
             f"[{v['ci_low']:+.2f}, {v['ci_high']:+.2f}], Holm p = {v['p_adjusted']:.2g}" for v in verdicts]
    return f"colossal-bench: run {run} checkpoint step {step} regressed on {benchmark}: " + "; ".join(parts)
