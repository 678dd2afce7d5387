"""Verdicts per checkpoint on constructed prediction sets, stored when a job finishes and served by
GET /api/v1/runs/{name}: a known improvement, a known regression and a no-change case, with exact p-values."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.db.models import Verdict, WebhookDelivery
from app.queries.webhooks import create_webhook

N = 100


def _by_key(checkpoint: dict) -> dict[tuple[str, str], dict]:
    return {(v["benchmark"], v["baseline"]): v for v in checkpoint["verdicts"]}


def test_verdicts_against_previous_and_best(client, session_factory, checkpoint, finish) -> None:
    a, b, c = checkpoint("r", 100), checkpoint("r", 200), checkpoint("r", 300)
    with session_factory() as session:
        create_webhook(session, url="http://127.0.0.1:9/hook", events=["checkpoint.regressed"], secret="s" * 16)
        session.commit()
    finish(session_factory, a, "mmlu", range(60), N)
    finish(session_factory, a, "cmmlu", range(50), N)
    finish(session_factory, b, "mmlu", range(80), N)            # +20 questions, none lost: improved
    finish(session_factory, b, "cmmlu", range(10, 60), N)       # 10 gained, 10 lost: no change
    finish(session_factory, c, "mmlu", range(50), N)            # 30 lost against step 200: regressed
    finish(session_factory, c, "cmmlu", [*range(10, 59), 99], N)  # 1 lost, 1 gained: no change

    run = client.get("/api/v1/runs/r").json()
    steps = [cp["step"] for cp in run["checkpoints"]]
    assert steps == [100, 200, 300]
    first, second, third = run["checkpoints"]
    assert first["verdicts"] == []  # nothing earlier to compare with

    v = _by_key(second)
    assert v[("mmlu", "previous")]["verdict"] == "improved"
    assert v[("mmlu", "previous")]["diff"] == pytest.approx(20.0)
    assert v[("mmlu", "previous")]["p_value"] == pytest.approx(2 / 2**20, rel=1e-12)
    assert v[("mmlu", "previous")]["p_adjusted"] == pytest.approx(2 * 2 / 2**20, rel=1e-12)  # Holm over 2 benchmarks
    assert v[("cmmlu", "previous")]["verdict"] == "no significant change"
    assert v[("cmmlu", "previous")]["p_value"] == 1.0
    assert v[("mmlu", "best")]["baseline_step"] == 100  # the only earlier checkpoint

    v = _by_key(third)
    regressed = v[("mmlu", "previous")]
    assert (regressed["verdict"], regressed["baseline_step"], regressed["n"]) == ("regressed", 200, N)
    assert regressed["diff"] == pytest.approx(-30.0)
    assert regressed["p_value"] == pytest.approx(2 / 2**30, rel=1e-12)
    assert regressed["ci_high"] < 0
    assert v[("mmlu", "best")]["baseline_step"] == 200  # best so far on mmlu: 80%
    assert v[("cmmlu", "best")]["baseline_step"] == 200  # 50% vs 50%: the later of the tied checkpoints
    assert v[("cmmlu", "previous")]["verdict"] == "no significant change"
    assert v[("cmmlu", "previous")]["p_value"] == pytest.approx(1.0)

    twin = client.get("/runs/r.json").json()  # the run page's JSON twin carries the same verdicts
    assert {(v["step"], v["benchmark"], v["baseline"], v["verdict"]) for v in twin["verdicts"]} >= {
        (300, "mmlu", "previous", "regressed"), (200, "mmlu", "previous", "improved")}
    assert [row["benchmark"] for row in twin["signal_noise"]] == ["mmlu", "cmmlu"]
    with session_factory() as session:
        assert session.scalar(select(Verdict.sample).where(Verdict.model_id == c).limit(1)) is False
        events = session.scalars(select(WebhookDelivery).where(WebhookDelivery.event == "checkpoint.regressed")).all()
    assert len(events) == 1  # C's mmlu regression, announced once although cmmlu's finish judged C again
    body = json.loads(events[0].body)
    assert body["data"]["benchmark"] == "mmlu" and body["id"] == events[0].event_id
    assert "regressed on mmlu" in body["text"] and "-30.00 points vs previous (step 200)" in body["text"]


def test_paired_on_shared_questions_only(client, session_factory, checkpoint, finish) -> None:
    """A sample-only checkpoint is judged on the questions both have (the sample ids are the same for every model)."""
    a, b = checkpoint("s", 1), checkpoint("s", 2)
    finish(session_factory, a, "mmlu", range(40), 40)
    finish(session_factory, b, "mmlu", range(10), 20, sample_only=True)  # 20 shared questions, 10 lost
    [verdict] = [v for v in client.get("/api/v1/runs/s").json()["checkpoints"][1]["verdicts"]
                 if v["baseline"] == "previous"]
    assert verdict["n"] == 20 and verdict["sample"] is True
    assert verdict["diff"] == pytest.approx(-50.0)
    assert verdict["p_value"] == pytest.approx(2 / 2**10, rel=1e-12)
    assert verdict["verdict"] == "regressed"


def test_models_outside_a_run_get_no_verdicts(client, session_factory, finish) -> None:
    from app.db.models import Model

    with session_factory() as session:
        model = Model(name="plain", path="/models/plain", source="local", tags=[])
        session.add(model)
        session.commit()
        model_id = model.id
    finish(session_factory, model_id, "mmlu", range(3), 10)
    with session_factory() as session:
        assert session.scalars(select(Verdict)).all() == []
    assert client.get("/api/v1/runs/nope").status_code == 404


def test_a_late_result_rejudges_later_checkpoints(client, session_factory, checkpoint, finish) -> None:
    a, b, c = checkpoint("late", 100), checkpoint("late", 200), checkpoint("late", 300)
    finish(session_factory, a, "mmlu", range(20), N)
    finish(session_factory, c, "mmlu", range(50), N)  # step 200 has no result yet: previous is step 100
    assert _by_key(client.get("/api/v1/runs/late").json()["checkpoints"][2])[("mmlu", "previous")][
        "baseline_step"] == 100
    finish(session_factory, b, "mmlu", range(90), N)  # step 200 finishes last
    third = _by_key(client.get("/api/v1/runs/late").json()["checkpoints"][2])
    assert third[("mmlu", "previous")]["baseline_step"] == 200
    assert third[("mmlu", "previous")]["verdict"] == "regressed"
    assert third[("mmlu", "best")]["baseline_step"] == 200
