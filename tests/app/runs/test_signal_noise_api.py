"""Signal and noise per benchmark in GET /api/v1/runs/{name}, against a hand computation."""

from __future__ import annotations

import math

import pytest

N = 100


def test_signal_noise_figures_equal_a_hand_computation(client, session_factory, checkpoint, finish) -> None:
    for step, acc in zip(range(1, 7), (50, 52, 51, 53, 54, 58), strict=True):
        finish(session_factory, checkpoint("sn", step), "mmlu", range(acc), N)
    others = [checkpoint(f"other-{acc}", 0, name=f"other-{acc}") for acc in (40, 45, 70)]
    for model_id, acc in zip(others, (40, 45, 70), strict=True):
        finish(session_factory, model_id, "mmlu", range(acc), N)

    run = client.get("/api/v1/runs/sn").json()
    [row] = run["signal_noise"]
    figures = row["figures"]
    everyone = [50, 52, 51, 53, 54, 58, 40, 45, 70]  # default signal set: every complete leaderboard row
    assert figures["signal"] == pytest.approx(30 / (sum(everyone) / 9))
    tail = [52, 51, 53, 54, 58]  # the last 5 checkpoints (default n)
    std = math.sqrt(sum((x - 53.6) ** 2 for x in tail) / 5)
    assert figures["noise"] == pytest.approx(std / 53.6)
    assert figures["ratio"] == pytest.approx(figures["signal"] / (std / 53.6))
    assert figures["step_change"] == pytest.approx(1.5)
    assert figures["jitter"] == pytest.approx(math.sqrt(6.7 / 3))
    assert (figures["models"], figures["checkpoints"], figures["noisy"]) == (9, 5, False)
    assert row["sentence"].startswith("mmlu: models differ by")
    assert "Signal is how far apart" in run["signal_noise_meaning"]

    chosen = client.get("/api/v1/runs/sn", params={"noise_checkpoints": 3,
                                                    "signal_models": ",".join(map(str, others))}).json()
    figures = chosen["signal_noise"][0]["figures"]
    assert figures["signal"] == pytest.approx(30 / (155 / 3))
    assert figures["noise"] == pytest.approx(math.sqrt(14 / 3) / 55)
    assert figures["checkpoints"] == 3


def test_noisy_benchmark_is_flagged(client, session_factory, checkpoint, finish) -> None:
    for step, acc in zip(range(1, 6), (50, 53, 49, 52, 50), strict=True):
        finish(session_factory, checkpoint("jit", step), "mmlu", range(acc), N)
    [row] = client.get("/api/v1/runs/jit").json()["signal_noise"]
    assert row["figures"]["noisy"] is True
    assert "Warning" in row["sentence"]


@pytest.mark.parametrize(("params", "field"), [({"noise_checkpoints": 1}, "noise_checkpoints"),
                                               ({"signal_models": "1,x"}, "signal_models"),
                                               ({"template": "nope"}, "template")])
def test_bad_parameters_are_named(client, checkpoint, params, field) -> None:
    checkpoint("bad", 1)
    response = client.get("/api/v1/runs/bad", params=params)
    assert response.status_code == 422 and field in response.json()["detail"]
