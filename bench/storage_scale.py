"""Storage per scored model and page times at scale (Postgres, rows seeded with COPY as `load_leaderboard.py` does).

    .venv/bin/python bench/storage_scale.py size --models 3      # bytes per model: prompts per prediction vs once
    .venv/bin/python bench/storage_scale.py pages --models 1000 10000

`size`: two fresh databases, one at the schema before prompts were shared (revision 6966314cfd43, the text in
every prediction) and one at head (each text once in `prompts`). Both get the same `--models` models, each with a
succeeded job per benchmark over EVERY scored question, with the real prompts of the `colossaleval` template
(built from $CBENCH_DATA_DIR as the worker builds them) and per-question rows as the worker stores them. The
table sizes (`pg_total_relation_size`, TOAST and indexes included) after the first model and after the last give
the cost of one more model; the first model's size minus that is the fixed part (the prompts). Prints both and
the projection to 1,000, 10,000 and 100,000 models.

`pages`: for each `--models` count a fresh database at head: models in runs of 20 checkpoints, one succeeded job
per model and benchmark with a real summary shape (every subject; `--variants` summaries per benchmark computed by
`evaluators.aggregate.summarize` and shared, since only their shape matters for reading), per-subject rows,
`--per-job` predictions per job; then every page and the API leaderboard are timed in process (FastAPI test
client, response cache off), `--repeat` times each, median and worst, with the SQL statement count. The ratio of
the largest to the smallest count is printed per page. Databases are dropped at the end unless `--keep`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.db.migrate import upgrade  # noqa: E402
from app.db.models import SUMMARY_COLUMNS, summary_columns  # noqa: E402
from evaluators.aggregate import summarize  # noqa: E402
from evaluators.catalog import BENCHMARKS, load_spec  # noqa: E402
from evaluators.records import Prediction  # noqa: E402

BEFORE_SHARED_PROMPTS = "6966314cfd43"
TABLES = ("models", "jobs", "predictions", "prompts", "subject_results")
NOW = "2026-01-02 00:00:00"


@contextmanager
def fresh_database(server_url: str, keep: bool) -> Iterator[str]:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"cbench_scale_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def psycopg_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def real_prompts(data_dir: Path) -> dict[str, list[tuple[str, str, str, str]]]:
    """Per benchmark: (question id, subject, gold, prompt text) of every scored question, as the worker builds
    them (`evaluators.plan.build_plan`, `colossaleval` template, LLaMA-2 tokenizer, 4,096-token budget)."""
    from evaluators.plan import build_plan
    from evaluators.templates import get_template
    from evaluators.tokenization import load_tokenizer

    tokenizer = load_tokenizer(data_dir / "tokenizers" / "llama2", get_template("colossaleval").tokenizer_policy)
    out = {}
    for benchmark in BENCHMARKS:
        plan = build_plan(benchmark, "colossaleval", tokenizer, data_dir)
        out[benchmark] = [(item.question.id, item.question.subject, item.question.gold, item.prompt.text)
                          for item in plan.items]
    return out


def scores_for(rng: random.Random, letters: str) -> dict[str, float]:
    return {letter: round(rng.uniform(-6, 0), 4) for letter in letters}


def seed_full_model(cur, model_id: int, prompts: dict[str, list[tuple[str, str, str, str]]], *,
                    shared: bool, stored: set[str]) -> None:
    """One model with a complete job per benchmark: every question, rows as the worker writes them."""
    rng = random.Random(model_id)
    cur.execute("INSERT INTO models (id, name, path, source, tags, created_at) VALUES (%s, %s, %s, 'local', '[]', %s)",
                (model_id, f"model-{model_id}", f"/models/{model_id}", NOW))
    for benchmark, items in prompts.items():
        spec = load_spec(benchmark)
        letters = "".join(spec.letters)
        predictions = []
        for qid, subject, gold, prompt in items:
            scores = scores_for(rng, letters)
            pred = max(scores, key=scores.get)
            combined = spec.metric == "combined"
            predictions.append(Prediction(
                question_id=qid, subject=subject, gold=gold, pred=pred, scores=scores, correct=pred == gold,
                prompt_sha256=hashlib.sha256(prompt.encode()).hexdigest(), prompt=prompt,
                output=pred if combined else None, letter=pred if combined else None,
                correct_combined=pred == gold if combined else None))
        summary = summarize(benchmark, predictions, metric=spec.metric, expected_n=spec.expected_n,
                            subject_names={s.key: s.display for s in spec.subjects})
        columns = ("model_id, benchmark, template, config, status, progress_done, progress_total, attempts, "
                   "created_at, started_at, finished_at, updated_at, record, summary")
        values = [model_id, benchmark, "colossaleval", "{}", "succeeded", len(items), len(items), 1, NOW, NOW, NOW,
                  NOW, json.dumps({"seeded": True}), json.dumps(summary.to_dict())]
        if shared:  # the head schema keeps the summary's headline numbers in columns too
            columns += ", " + ", ".join(SUMMARY_COLUMNS)
            values += list(summary_columns(summary.to_dict()).values())
        cur.execute(f"INSERT INTO jobs ({columns}) VALUES ({', '.join(['%s'] * len(values))}) RETURNING id", values)
        (job_id,) = cur.fetchone()
        if shared:
            with cur.copy("COPY prompts (sha256, text) FROM STDIN") as copy:
                for p in predictions:
                    if p.prompt_sha256 not in stored:
                        stored.add(p.prompt_sha256)
                        copy.write_row((p.prompt_sha256, p.prompt))
        prompt_column = "" if shared else ", prompt"
        with cur.copy(f"COPY predictions (job_id, question_id, subject, gold, pred, scores, correct, "
                      f"correct_combined, output, letter, prompt_sha256{prompt_column}) FROM STDIN") as copy:
            for p in predictions:
                row = (job_id, p.question_id, p.subject, p.gold, p.pred, json.dumps(p.scores), p.correct,
                       p.correct_combined, p.output, p.letter, p.prompt_sha256)
                copy.write_row(row if shared else (*row, p.prompt))
        with cur.copy("COPY subject_results (job_id, subject, display, correct, n, acc, stderr, ci_low, ci_high) "
                      "FROM STDIN") as copy:
            for s in summary.subjects:
                copy.write_row((job_id, s.subject, s.display, s.accuracy.correct, s.accuracy.n, s.accuracy.acc,
                                s.accuracy.stderr, s.accuracy.ci_low, s.accuracy.ci_high))


def table_sizes(cur) -> dict[str, int]:
    sizes = {}
    for table in TABLES:
        cur.execute("SELECT to_regclass(%s)", (table,))
        if cur.fetchone()[0] is None:
            continue
        cur.execute("SELECT pg_total_relation_size(%s)", (table,))
        sizes[table] = int(cur.fetchone()[0])
    return sizes


def run_size(args: argparse.Namespace) -> int:
    import psycopg

    from app.core.config import get_settings

    data_dir = Path(get_settings().data_dir)
    started = time.perf_counter()
    prompts = real_prompts(data_dir)
    questions = sum(len(v) for v in prompts.values())
    chars = sum(len(p[3].encode()) for v in prompts.values() for p in v)
    print(f"{questions:,} scored questions, prompt text {chars / 1e6:.1f} MB (utf-8) per model "
          f"(built in {time.perf_counter() - started:.0f}s)")
    report = {}
    for layout, shared in (("prompt per prediction (before)", False), ("prompts once (now)", True)):
        with fresh_database(args.postgres, args.keep) as url:
            upgrade(url, "head" if shared else BEFORE_SHARED_PROMPTS)
            stored: set[str] = set()
            with psycopg.connect(psycopg_conninfo(url), autocommit=True) as conn, conn.cursor() as cur:
                t0 = time.perf_counter()
                seed_full_model(cur, 1, prompts, shared=shared, stored=stored)
                first = table_sizes(cur)
                for model_id in range(2, args.models + 1):
                    seed_full_model(cur, model_id, prompts, shared=shared, stored=stored)
                last = table_sizes(cur)
                seconds = time.perf_counter() - t0
        per_model = {t: (last[t] - first[t]) / (args.models - 1) for t in last}
        fixed = {t: first[t] - per_model[t] for t in last}
        total_per_model, total_fixed = sum(per_model.values()), sum(fixed.values())
        report[layout] = {"per_model": per_model, "fixed": fixed}
        print(f"\n{layout}: seeded {args.models} models in {seconds:.0f}s")
        print(f"  {'table':16} {'per model MB':>13} {'fixed MB':>9}")
        for table in last:
            print(f"  {table:16} {per_model[table] / 1e6:13.2f} {fixed[table] / 1e6:9.2f}")
        print(f"  {'total':16} {total_per_model / 1e6:13.2f} {total_fixed / 1e6:9.2f}")
        for n in (1_000, 10_000, 100_000):
            print(f"  projected for {n:>7,} models: {(total_fixed + n * total_per_model) / 1e9:8.1f} GB")
    before, now = (sum(report[k]["per_model"].values()) for k in report)
    print(f"\nper-model size, before / now: {before / now:.1f}x")
    print(json.dumps({k: {p: {t: round(v) for t, v in d.items()} for p, d in r.items()} for k, r in report.items()}))
    return 0


def summary_variants(benchmark: str, variants: int) -> list[tuple[str, list[tuple], tuple]]:
    """`variants` (summary JSON, subject rows, summary columns) of one benchmark, from predictions over every
    subject."""
    spec = load_spec(benchmark)
    out = []
    for k in range(variants):
        rng = random.Random(f"{benchmark}/{k}")
        skill = 0.25 + 0.5 * k / max(1, variants - 1)
        predictions = []
        for subject in spec.subjects:
            for i in range(4):
                right = rng.random() < skill
                predictions.append(Prediction(question_id=f"{subject.key}/{i}", subject=subject.key, gold="A",
                                              pred="A" if right else "B", scores={}, correct=right,
                                              prompt_sha256="", correct_combined=right))
        summary = summarize(benchmark, predictions, metric=spec.metric, expected_n=len(predictions),
                            subject_names={s.key: s.display for s in spec.subjects})
        rows = [(s.subject, s.display, s.accuracy.correct, s.accuracy.n, s.accuracy.acc, s.accuracy.stderr,
                 s.accuracy.ci_low, s.accuracy.ci_high) for s in summary.subjects]
        out.append((json.dumps(summary.to_dict()), rows, tuple(summary_columns(summary.to_dict()).values())))
    return out


def seed_board(url: str, models: int, per_job: int, variants: int) -> dict[str, int]:
    import psycopg

    rng = random.Random(0)
    shapes = {b: summary_variants(b, variants) for b in BENCHMARKS}
    subjects = {b: [s.key for s in load_spec(b).subjects] for b in BENCHMARKS}
    counts = {"models": models, "jobs": 0, "predictions": 0, "subject_results": 0, "prompts": 0}
    with psycopg.connect(psycopg_conninfo(url)) as conn, conn.cursor() as cur:
        with cur.copy("COPY models (id, name, path, source, tags, training_run, step, tokens_seen, parameter_count, "
                      "created_at) FROM STDIN") as copy:
            for m in range(1, models + 1):
                run, step = f"run-{(m - 1) // 20:04d}", ((m - 1) % 20 + 1) * 1000
                copy.write_row((m, f"{run}@step-{step}", f"/models/{m}", "local", json.dumps(["scale"]), run, step,
                                step * 4_000_000, 7_000_000_000, NOW))
        with cur.copy("COPY prompts (sha256, text) FROM STDIN") as copy:
            prompt_of: dict[tuple[str, int], str] = {}
            for benchmark in BENCHMARKS:
                for i in range(per_job):
                    subject = subjects[benchmark][i % len(subjects[benchmark])]
                    prompt = f"{benchmark} Q{i} ({subject}): which option is right? A. a B. b C. c D. d\nAnswer:"
                    sha = hashlib.sha256(prompt.encode()).hexdigest()
                    prompt_of[(benchmark, i)] = sha
                    copy.write_row((sha, prompt))
                    counts["prompts"] += 1
        job_id = 0
        with cur.copy("COPY jobs (id, model_id, benchmark, template, config, status, progress_done, progress_total, "
                      f"attempts, created_at, started_at, finished_at, updated_at, record, summary, "
                      f"{', '.join(SUMMARY_COLUMNS)}) FROM STDIN") as copy:
            for m in range(1, models + 1):
                for benchmark in BENCHMARKS:
                    job_id += 1
                    summary, _rows, columns = shapes[benchmark][(m * 7 + job_id) % variants]
                    copy.write_row((job_id, m, benchmark, "colossaleval", "{}", "succeeded", 1, 1, 1, NOW, NOW, NOW,
                                    NOW, '{"seeded": true}', summary, *columns))
        counts["jobs"] = job_id
        with cur.copy("COPY subject_results (job_id, subject, display, correct, n, acc, stderr, ci_low, ci_high) "
                      "FROM STDIN") as copy:
            job_id = 0
            for m in range(1, models + 1):
                for benchmark in BENCHMARKS:
                    job_id += 1
                    _summary, rows, _complete = shapes[benchmark][(m * 7 + job_id) % variants]
                    for row in rows:
                        copy.write_row((job_id, *row))
                    counts["subject_results"] += len(rows)
        with cur.copy("COPY predictions (job_id, question_id, subject, gold, pred, scores, correct, prompt_sha256) "
                      "FROM STDIN") as copy:
            job_id = 0
            for _m in range(1, models + 1):
                for benchmark in BENCHMARKS:
                    job_id += 1
                    for i in range(per_job):
                        subject = subjects[benchmark][i % len(subjects[benchmark])]
                        pred = "ABCD"[rng.randrange(4)]
                        copy.write_row((job_id, f"{subject}/{i}", subject, "A", pred,
                                        '{"A": -0.5, "B": -1.5, "C": -2.0, "D": -2.5}', pred == "A",
                                        prompt_of[(benchmark, i)]))
                    counts["predictions"] += per_job
        for table in ("models", "jobs"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
        cur.execute("ANALYZE")
        cur.execute("SELECT pg_database_size(current_database())")
        counts["database_bytes"] = int(cur.fetchone()[0])
    return counts


def time_pages(url: str, repeat: int) -> dict[str, tuple[float, float, int, int]]:
    from fastapi.testclient import TestClient

    from app.core.config import Settings
    from app.main import create_app

    app = create_app(Settings(_env_file=None, database_url=url, leaderboard_cache_seconds=0))
    pages = ["/", "/leaderboard.json", "/api/v1/leaderboard", "/api/v1/leaderboard?benchmark=mmlu", "/models/1",
             "/jobs/1", "/runs/run-0000", "/compare?a=1&b=2"]
    statements = [0]
    event.listen(app.state.engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
    out = {}
    with TestClient(app) as client:
        for page in pages:
            times = []
            for _ in range(repeat):
                statements[0] = 0
                t0 = time.perf_counter()
                response = client.get(page)
                times.append(1000 * (time.perf_counter() - t0))
                if response.status_code != 200:
                    raise SystemExit(f"{page}: HTTP {response.status_code}: {response.text[:300]}")
            out[page] = (statistics.median(times), max(times), statements[0], len(response.content))
    app.state.engine.dispose()
    return out


def run_pages(args: argparse.Namespace) -> int:
    results = {}
    for models in args.models:
        with fresh_database(args.postgres, args.keep) as url:
            upgrade(url)
            t0 = time.perf_counter()
            counts = seed_board(url, models, args.per_job, args.variants)
            print(f"\n{models:,} models x {len(BENCHMARKS)} benchmarks: {counts} seeded in "
                  f"{time.perf_counter() - t0:.0f}s")
            timings = time_pages(url, args.repeat)
        results[models] = timings
        print(f"{'page':40} {'median ms':>10} {'worst ms':>9} {'SQL':>4} {'KiB':>7}")
        for page, (median, worst, sql, size) in timings.items():
            print(f"{page:40} {median:10.1f} {worst:9.1f} {sql:4d} {size / 1024:7.0f}")
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"\nmedian time ratio, {large:,} / {small:,} models:")
        for page in results[small]:
            print(f"{page:40} {results[large][page][0] / results[small][page][0]:6.1f}x")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("size", "pages"))
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="a server URL; fresh databases are created next to its database")
    parser.add_argument("--models", type=int, nargs="+", default=None,
                        help="size: models to seed (>= 2, default 3); pages: model counts (default 1000 10000)")
    parser.add_argument("--per-job", type=int, default=20, help="pages: predictions per job")
    parser.add_argument("--variants", type=int, default=16, help="pages: distinct summaries per benchmark")
    parser.add_argument("--repeat", type=int, default=3, help="pages: requests per page")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args(argv)
    if args.what == "size":
        args.models = (args.models or [3])[0]
        if args.models < 2:
            parser.error("size needs --models >= 2")
        return run_size(args)
    args.models = args.models or [1000, 10000]
    return run_pages(args)


if __name__ == "__main__":
    raise SystemExit(main())
