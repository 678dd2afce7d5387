"""The pages and their JSON twins through the app (SQLite and Postgres): contents, filters, sorting, exports,
escaping, bad input as 4xx, and a statement count that does not grow with the number of models."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import event

from app.db.models import Model
from evaluators.paired_stats import bootstrap_diff_interval, mcnemar_exact, paired_counts

from .conftest import SUBJECTS, XSS_NAME, add_succeeded_job, make_predictions


def _rows(client, **params) -> list[dict]:
    response = client.get("/leaderboard.json", params=params)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def test_leaderboard_json_matches_summaries(client, seeded) -> None:
    rows = {r["name"]: r for r in _rows(client)}
    alpha = rows["alpha-7b"]
    mmlu = make_predictions("alpha-7b", "mmlu", 0.8, SUBJECTS["mmlu"])
    assert alpha["cells"]["mmlu"]["acc"] == pytest.approx(100 * sum(p.correct for p in mmlu) / len(mmlu))
    assert alpha["cells"]["mmlu"]["job_id"] == seeded.jobs[("alpha-7b", "mmlu")]
    assert alpha["avg_over"] == 3
    cells = [alpha["cells"][b]["value"] for b in ("mmlu", "cmmlu", "agieval")]
    assert alpha["avg"] == pytest.approx(sum(cells) / 3)
    gamma = rows["gamma-partial"]
    assert gamma["cells"]["mmlu"]["partial"] is True and gamma["avg"] is None  # partial runs stay out of the average
    assert "95% CI" in alpha["cells"]["mmlu"]["title"]


def test_leaderboard_sorting_and_filters(client, seeded) -> None:
    by_avg = [r["name"] for r in _rows(client)]
    by_cmmlu = [r["name"] for r in _rows(client, sort="-cmmlu")]
    assert by_avg != by_cmmlu and by_cmmlu[0] == "alpha-7b"
    ascending = _rows(client, sort="cmmlu")
    values = [r["cells"]["cmmlu"]["value"] for r in ascending if r["cells"].get("cmmlu")]
    assert values == sorted(values)
    assert all(r["cells"].get("cmmlu") is None for r in ascending[len(values):])  # missing values last
    filtered = _rows(client, q="^CKPT-[12]")  # case-insensitive search
    assert {r["name"] for r in filtered} == {"ckpt-1000", "ckpt-2000"}
    assert [r["avg"] for r in filtered] == sorted((r["avg"] for r in filtered), reverse=True)
    assert {r["name"] for r in _rows(client, tag="base")} == {"alpha-7b", "gamma-partial"}
    assert len(_rows(client, run="run-x")) == 4
    macro = {r["name"]: r for r in _rows(client, metric="macro")}
    assert macro["alpha-7b"]["cells"]["mmlu"]["value"] == macro["alpha-7b"]["cells"]["mmlu"]["macro_acc"]


def test_leaderboard_columns_and_exports(client, seeded) -> None:
    data = client.get("/leaderboard.json", params={"cols": "mmlu", "sort": "name"}).json()
    assert data["columns"] == ["mmlu"]
    response = client.get("/leaderboard.csv", params={"cols": "mmlu", "sort": "name"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["model"] for r in table] == [r["name"] for r in data["rows"]]
    assert "cmmlu_micro" not in table[0] and "mmlu_micro" in table[0]
    xss = next(r for r in table if r["model"] == XSS_NAME)
    assert float(xss["mmlu_micro"]) == pytest.approx(float(xss["average_micro"]))
    page = client.get("/", params={"cols": "mmlu", "sort": "name"}).text
    assert 'href="/leaderboard.csv?sort=name&amp;cols=mmlu"' in page


@pytest.mark.parametrize("params, message", [({"q": "("}, "regex"), ({"metric": "median"}, "metric"),
                                             ({"sort": "speed"}, "sort"), ({"cols": "mmlu,bogus"}, "bogus")])
def test_leaderboard_bad_parameters_are_4xx(client, seeded, params, message) -> None:
    for path in ("/leaderboard.json", "/leaderboard.csv"):
        response = client.get(path, params=params)
        assert response.status_code == 422 and message in response.json()["detail"]
    page = client.get("/", params=params)
    assert page.status_code == 422 and message in page.text and "Traceback" not in page.text


def test_user_text_is_escaped(client, seeded) -> None:
    for url in ("/", f"/models/{seeded.models[XSS_NAME]}", f"/jobs/{seeded.jobs[(XSS_NAME, 'mmlu')]}",
                f"/compare?a={seeded.models[XSS_NAME]}&b={seeded.models['alpha-7b']}", "/queue"):
        html = client.get(url).text
        assert "<script>alert(1)" not in html and "<i>tag</i>" not in html and "<oom>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get("/").text
    assert "&lt;b&gt;what&lt;/b&gt; &amp; why?" in client.get(f"/jobs/{seeded.jobs[('alpha-7b', 'mmlu')]}").text


def test_model_page_and_twin(client, seeded) -> None:
    model_id = seeded.models["alpha-7b"]
    data = client.get(f"/models/{model_id}.json").json()
    assert [r["benchmark"] for r in data["results"]] == ["mmlu", "cmmlu", "agieval"]
    assert [s["subject"] for s in data["subjects"]["mmlu"]] == list(SUBJECTS["mmlu"])
    assert data["records"][str(seeded.jobs[("alpha-7b", "mmlu")])]["git_revision"] == "test"
    html = client.get(f"/models/{model_id}").text
    assert html.count('class="bar"') == 3 and "prompts_sha256" in html
    assert client.get("/models/99999").status_code == 404
    assert client.get("/models/99999.json").json()["detail"] == "model 99999 not found"


def test_job_predictions_filter_and_pages(client, seeded) -> None:
    job_id = seeded.jobs[("beta-7b", "mmlu")]
    predictions = make_predictions("beta-7b", "mmlu", 0.35, SUBJECTS["mmlu"])
    wrong = [p for p in predictions if p.subject == "anatomy" and not p.correct]
    data = client.get(f"/jobs/{job_id}.json", params={"subject": "anatomy", "result": "wrong", "per_page": 2}).json()
    assert data["count"] == len(wrong) and data["pages"] == -(-len(wrong) // 2)
    assert [p["question_id"] for p in data["predictions"]] == [p.question_id for p in wrong[:2]]
    second = client.get(f"/jobs/{job_id}.json", params={"subject": "anatomy", "result": "wrong", "per_page": 2,
                                                         "page": 2}).json()
    assert [p["question_id"] for p in second["predictions"]] == [p.question_id for p in wrong[2:4]]
    html = client.get(f"/jobs/{job_id}", params={"result": "right"}).text
    assert html.count('class="prediction right"') == min(25, sum(p.correct for p in predictions))
    assert '<pre class="prompt-text">' in html
    assert client.get(f"/jobs/{job_id}", params={"result": "maybe"}).status_code == 422
    assert client.get(f"/jobs/{job_id}", params={"page": "0"}).status_code == 422
    assert client.get("/jobs/424242").status_code == 404


def test_job_combined_metric_filters_on_combined(client, seeded) -> None:
    data = client.get(f"/jobs/{seeded.jobs[('alpha-7b', 'agieval')]}.json", params={"result": "right"}).json()
    assert data["metric"] == "combined" and all(p["correct_combined"] for p in data["predictions"])


def test_running_and_failed_jobs(client, seeded) -> None:
    running = client.get(f"/jobs/{seeded.running}").text
    assert 'data-final="false"' in running and 'data-api="/api/v1/jobs/' in running and "5 / 40" in running
    failed = client.get(f"/jobs/{seeded.failed}").text
    assert "CUDA out of memory &lt;oom&gt; at layer 3" in failed
    queue = client.get("/queue.json").json()
    assert [j["id"] for j in queue["running"]] == [seeded.running]
    assert [j["id"] for j in queue["queued"]] == [seeded.queued]
    assert queue["failed"][0]["error"].startswith("CUDA out of memory")


def test_run_page_points_and_best(client, seeded) -> None:
    data = client.get("/runs/run-x.json").json()
    assert [c["step"] for c in data["checkpoints"]] == [1000, 2000, 3000, 4000]
    for benchmark in ("mmlu", "cmmlu"):
        points = data["series"][benchmark]
        assert len(points) == 4
        assert data["best"][benchmark] == max(points, key=lambda p: p["acc"])["model_id"]
    html = client.get("/runs/run-x").text
    assert html.count('class="point') == 8 and html.count('class="point best"') == 2
    assert data["heat_benchmark"] == "mmlu" and list(data["heat"]) == list(SUBJECTS["mmlu"])
    cmmlu = client.get("/runs/run-x.json", params={"heat": "cmmlu"}).json()["heat"]
    assert list(cmmlu) == list(SUBJECTS["cmmlu"]) and len(cmmlu["agronomy"]["cells"]) == 4
    assert client.get("/runs/run-x", params={"heat": "gaokao"}).status_code == 422
    assert client.get("/runs/no-such-run").status_code == 404
    assert client.get("/runs/run-x", params={"x": "loss"}).status_code == 422


def test_compare_statistics(client, seeded) -> None:
    a, b = seeded.models["alpha-7b"], seeded.models["beta-7b"]
    data = client.get("/compare.json", params={"a": a, "b": b}).json()
    by_bench = {r["benchmark"]: r for r in data["benchmarks"]}
    assert set(by_bench) == {"mmlu", "cmmlu", "agieval"}
    counts = paired_counts([p.correct for p in make_predictions("alpha-7b", "cmmlu", 0.8, SUBJECTS["cmmlu"])],
                           [p.correct for p in make_predictions("beta-7b", "cmmlu", 0.35, SUBJECTS["cmmlu"])])
    row = by_bench["cmmlu"]
    assert (row["only_a"], row["only_b"], row["n"]) == (counts.only_a, counts.only_b, counts.n)
    assert row["p_value"] == mcnemar_exact(counts.only_a, counts.only_b)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(bootstrap_diff_interval(counts, seed=0))
    assert row["diff"] == pytest.approx(counts.diff)
    assert data["disagreement_count"] == sum(r["only_a"] + r["only_b"] for r in data["benchmarks"])
    assert client.get("/compare", params={"a": a}).status_code == 422
    assert client.get("/compare", params={"a": a, "b": 9999}).status_code == 404


def test_statement_count_does_not_grow_with_models(client, app, seeded) -> None:
    statements: list[str] = []
    engine = app.state.engine

    def count(*_args) -> None:
        statements.append("x")

    urls = ("/", "/leaderboard.csv", "/runs/run-x", f"/models/{seeded.run_checkpoints[0]}", "/queue",
            f"/compare?a={seeded.run_checkpoints[0]}&b={seeded.run_checkpoints[1]}")

    def measure() -> list[int]:
        sizes = []
        for url in urls:
            statements.clear()
            event.listen(engine, "before_cursor_execute", count)
            assert client.get(url).status_code == 200
            event.remove(engine, "before_cursor_execute", count)
            sizes.append(len(statements))
        return sizes

    before = measure()
    with app.state.session_factory() as session:
        for step in (5000, 6000, 7000, 8000, 9000, 10000):
            model = Model(name=f"ckpt-{step}", path="/m", source="local", tags=["run"], training_run="run-x",
                          step=step, tokens_seen=step)
            session.add(model)
            session.flush()
            for benchmark in ("mmlu", "cmmlu"):
                add_succeeded_job(session, model.id, model.name, benchmark, 0.5)
        session.commit()
    assert measure() == before
