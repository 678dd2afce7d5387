"""The pure pieces behind the pages: the shared few-shot block, question parsing, candidate probabilities,
natural sort, queue timings, chance levels, interval geometry; and the page JSON twins that use them."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from app.web.interval_charts import ForestInput, IntervalInput, forest_plot, grouped_intervals
from app.web.leaderboard import natural_key
from app.web.question_view import candidate_probabilities, parse_options, question_text, shared_prefix
from app.web.queue_page import job_timing
from app.web.run_page import question_sets
from evaluators.catalog import BENCHMARKS, chance_level

SHOTS = "The following are questions about X.\n\nQuestion: 1+1?\nA. 1\nB. 2\nAnswer: B\n\n"


def test_shared_prefix_ends_at_a_shot_boundary() -> None:
    a = SHOTS + "Question: 2+2?\nA. 4\nB. 5\nAnswer:"
    b = SHOTS + "Question: 3+3?\nA. 6\nB. 7\nAnswer:"
    prefix = shared_prefix([a, b])
    assert prefix == SHOTS
    assert question_text(a, prefix) == "Question: 2+2?\nA. 4\nB. 5\nAnswer:"
    assert shared_prefix([a]) == "" and question_text(a, "") == a
    assert question_text("other prompt", prefix) == "other prompt"
    assert shared_prefix(["Question: 1", "Question: 2"]) == ""  # no shot boundary in common


def test_parse_options_marks_gold_and_prediction() -> None:
    text = "题目：水稻属于哪一科？\nA. 禾本科\nB. 豆科\nC. 菊科\nD. 茄科\n答案："
    view = parse_options(text, ["A", "B", "C", "D"], gold="A", pred="C", probabilities={"A": 0.5, "C": 0.2})
    assert view.stem == "题目：水稻属于哪一科？" and view.tail == "答案："
    assert [(o.letter, o.text, o.gold, o.pred) for o in view.options] == [
        ("A", "禾本科", True, False), ("B", "豆科", False, False), ("C", "菊科", False, True), ("D", "茄科", False, False)]
    assert view.options[0].probability == 0.5 and view.options[1].probability is None
    plain = parse_options("no options here", ["A", "B"], gold="A", pred="A", probabilities={})
    assert plain.options == [] and plain.stem == "no options here"


def test_candidate_probabilities_are_a_softmax() -> None:
    scores = {"A": 2.0, "B": 0.0, "C": -1.0}
    probabilities = candidate_probabilities(scores)
    total = sum(math.exp(v) for v in scores.values())
    assert probabilities == pytest.approx({k: math.exp(v) / total for k, v in scores.items()})
    assert candidate_probabilities({"A": -1e9, "B": -1e9 + 1}) == pytest.approx(
        {"A": 1 / (1 + math.e), "B": math.e / (1 + math.e)})  # stable for very negative log-probabilities
    assert candidate_probabilities({"A": float("-inf"), "B": 0.0}) == {"A": 0.0, "B": 1.0}


def test_natural_sort_key() -> None:
    names = ["step-10", "Step-2", "step-1", "alpha", "step-2b"]
    assert sorted(names, key=natural_key) == ["alpha", "step-1", "Step-2", "step-2b", "step-10"]


def _job(status: str, started: datetime | None, finished: datetime | None, done: int,
         total: int | None) -> SimpleNamespace:  # the fields of a page's JobInfo that the timing reads
    return SimpleNamespace(status=status, progress_done=done, progress_total=total, started_at=started,
                           finished_at=finished)


def test_queue_timings() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0)
    running = job_timing(_job("running", now - timedelta(seconds=100), None, 25, 100), now)
    assert running.elapsed_s == 100 and running.remaining_s == pytest.approx(300)
    finished = job_timing(_job("failed", now - timedelta(seconds=90), now - timedelta(seconds=30), 5, 100), now)
    assert finished.elapsed_s == 60 and finished.remaining_s is None
    assert job_timing(_job("queued", None, None, 0, None), now).elapsed_s is None
    assert job_timing(_job("running", now - timedelta(seconds=5), None, 0, 100), now).remaining_s is None


def test_chance_levels_come_from_the_candidate_letters() -> None:
    assert {b: chance_level(b) for b in BENCHMARKS} == {b: 25.0 for b in BENCHMARKS}  # four letters each


def test_question_sets_split_a_benchmark_by_what_was_scored() -> None:
    def point(model_id: int, n: int, expected: int) -> dict:
        return {"model_id": model_id, "n": n, "expected_n": expected, "acc": 50.0}

    same = [point(1, 100, 100), point(2, 100, 100)]
    assert list(question_sets("mmlu", same)) == ["mmlu"]
    mixed = question_sets("mmlu", [point(1, 100, 100), point(2, 12, 235), point(3, 12, 235)])
    assert {k: [p["model_id"] for p in v] for k, v in mixed.items()} == {"mmlu · 100 of 100": [1],
                                                                        "mmlu · 12 of 235": [2, 3]}
    assert question_sets("mmlu", []) == {}


def test_interval_geometry() -> None:
    chart = grouped_intervals([IntervalInput("a", "mmlu", 50.0, 40.0, 60.0, "/jobs/1"),
                               IntervalInput("b", "mmlu", 75.0, 70.0, 80.0, "/jobs/2")], ["mmlu"], ["a", "b"],
                              {"mmlu": 25.0})
    a, b = chart.marks
    assert a.cx < b.cx and a.cy > b.cy  # b scores higher: drawn higher
    assert a.y_low > a.cy > a.y_high
    assert chart.groups[0].chance_y == pytest.approx(chart.bottom - (chart.bottom - 10) * 0.25)
    forest = forest_plot([ForestInput("s1", 5.0, 1.0, 9.0, "/x"), ForestInput("s2", -2.0, -8.0, 4.0, "/y")])
    assert forest.rows[0].excludes_zero and not forest.rows[1].excludes_zero
    assert forest.rows[1].x_low < forest.zero_x < forest.rows[1].x_high


def test_compare_job_picks_are_validated(client, seeded) -> None:
    a, b = seeded.models["alpha-7b"], seeded.models["beta-7b"]
    other = seeded.jobs[("beta-7b", "mmlu")]
    response = client.get("/compare.json", params={"a": a, "b": b, "job_a": other})
    assert response.status_code == 422 and "job_a" in response.json()["detail"]
    assert client.get("/compare.json", params={"a": a, "b": b, "job_a": "x"}).status_code == 422
    picked = client.get("/compare.json", params={"a": a, "b": b, "job_b": other}).json()
    assert picked["jobs"]["mmlu"][1] == other
    assert all(s["ci_low"] <= s["diff"] <= s["ci_high"] for s in picked["subjects"])


def test_leaderboard_hides_unscored_models_unless_asked(client, seeded, session_factory) -> None:
    from app.db.models import Model

    with session_factory() as session:
        session.add(Model(name="never-scored", path="/m/n", source="local", tags=[]))
        session.commit()
    names = [r["name"] for r in client.get("/leaderboard.json").json()["rows"]]
    assert "never-scored" not in names
    data = client.get("/leaderboard.json", params={"unscored": "1"}).json()
    assert "never-scored" in [r["name"] for r in data["rows"]] and data["hidden_unscored"] == 0
    assert client.get("/leaderboard.json", params={"unscored": "yes"}).status_code == 422


def test_job_json_splits_questions_and_filters_one(client, seeded) -> None:
    job = seeded.jobs[("alpha-7b", "mmlu")]
    data = client.get(f"/jobs/{job}.json", params={"subject": "anatomy", "per_page": 3}).json()
    assert data["shared_prefixes"]["anatomy"].startswith("The following is a question about anatomy.")
    first = data["predictions"][0]
    assert first["question"]["stem"].startswith("Question 0:") and len(first["question"]["options"]) == 4
    assert sum(s["probability"] for s in first["scores"]) == pytest.approx(1.0)
    one = client.get(f"/jobs/{job}.json", params={"question": "anatomy/5"}).json()
    assert [p["question_id"] for p in one["predictions"]] == ["anatomy/5"] and one["count"] == 1
