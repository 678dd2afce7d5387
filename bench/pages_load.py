"""Page load benchmark: seed many models x 5 benchmarks, then time every web page (in process, no network).

    .venv/bin/python bench/pages_load.py                      # 200 models, temporary SQLite file
    .venv/bin/python bench/pages_load.py --models 200 --database-url postgresql+psycopg://postgres@127.0.0.1/bench

Each model gets a succeeded job per benchmark over every scored subject (`--per-subject` questions each), with
predictions, per-subject rows and a summary computed by `evaluators.aggregate.summarize` from those predictions;
models are grouped into training runs of `--run-size` checkpoints. Prints the median and worst render time and
the number of SQL statements of each page. The target database must be empty (it is migrated first).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, func, insert, select

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from app.core.config import Settings  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.models import Job, Model, PredictionRow, SubjectResult  # noqa: E402
from app.main import create_app  # noqa: E402
from app.queries.predictions import insert_predictions  # noqa: E402
from evaluators.aggregate import summarize  # noqa: E402
from evaluators.catalog import BENCHMARKS, load_spec  # noqa: E402
from evaluators.records import Prediction  # noqa: E402
from evaluators.templates import DEFAULT_TEMPLATE  # noqa: E402

LETTERS = ("A", "B", "C", "D")
TAGS = ("base", "chat", "zh", "en", "7b", "13b")


def _predictions(rng: random.Random, benchmark: str, subjects: list[str], per_subject: int,
                 skill: float) -> list[Prediction]:
    combined = load_spec(benchmark).metric == "combined"
    out = []
    for subject in subjects:
        for index in range(per_subject):
            gold = LETTERS[index % 4]
            right = rng.random() < skill
            pred = gold if right else LETTERS[(index + 1 + rng.randrange(3)) % 4]
            prompt = f"Question {index} of {subject}: which option is right?\nA. a\nB. b\nC. c\nD. d\nAnswer:"
            out.append(Prediction(
                question_id=f"{subject}/{index}", subject=subject, gold=gold, pred=pred,
                scores={letter: (-0.3 if letter == pred else -1.5 - rng.random()) for letter in LETTERS},
                correct=right, prompt_sha256=hashlib.sha256(prompt.encode()).hexdigest(),
                output=pred if combined else None, letter=pred if combined else None,
                correct_combined=right if combined else None, prompt=prompt))
    return out


def seed(session_factory, models: int, per_subject: int, run_size: int) -> dict[str, int]:
    """Insert the data set; returns ids of a few rows the pages will be asked about."""
    rng = random.Random(0)
    specs = {b: load_spec(b) for b in BENCHMARKS}
    with session_factory() as session:
        if session.scalar(select(func.count()).select_from(Model)):
            raise SystemExit("pages_load: the database already has models; give an empty one")
        model_ids = []
        for i in range(models):
            run = f"run-{i // run_size:02d}" if run_size else None
            step = (i % run_size + 1) * 1000 if run_size else None
            model = Model(name=f"model-{i:03d}", path=f"/models/model-{i:03d}", source="local",
                          tags=rng.sample(TAGS, 2), training_run=run, step=step,
                          tokens_seen=step * 4_000_000 if step else None, parameter_count=7_000_000_000)
            session.add(model)
            session.flush()
            model_ids.append(model.id)
            skill = 0.25 + 0.5 * rng.random()
            for benchmark, spec in specs.items():
                subjects = [s.key for s in spec.subjects]
                predictions = _predictions(rng, benchmark, subjects, per_subject, skill)
                summary = summarize(benchmark, predictions, metric=spec.metric, expected_n=len(predictions),
                                    subject_names={s.key: s.display for s in spec.subjects})
                job = Job(model_id=model.id, benchmark=benchmark, template=DEFAULT_TEMPLATE, config={},
                          status="succeeded", progress_done=len(predictions), progress_total=len(predictions),
                          attempts=1, summary=summary.to_dict(), record={"template": DEFAULT_TEMPLATE})
                session.add(job)
                session.flush()
                insert_predictions(session, job.id, predictions)
                session.execute(insert(SubjectResult), [{
                    "job_id": job.id, "subject": s.subject, "display": s.display, "correct": s.accuracy.correct,
                    "n": s.accuracy.n, "acc": s.accuracy.acc, "stderr": s.accuracy.stderr,
                    "ci_low": s.accuracy.ci_low, "ci_high": s.accuracy.ci_high} for s in summary.subjects])
            session.commit()
        for k in range(60):
            status = ("queued", "running", "failed")[k % 3]
            session.add(Job(model_id=model_ids[k % len(model_ids)], benchmark="mmlu", template="harness", config={},
                            status=status, attempts=0 if status == "queued" else 1,
                            error="RuntimeError: out of memory" if status == "failed" else None))
        session.commit()
        job = session.scalar(select(Job.id).where(Job.model_id == model_ids[0], Job.benchmark == "mmlu"))
    return {"model": model_ids[0], "other": model_ids[1], "job": job}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--per-subject", type=int, default=5, help="questions per subject per job")
    parser.add_argument("--run-size", type=int, default=20, help="checkpoints per training run (0: no runs)")
    parser.add_argument("--repeat", type=int, default=5, help="requests per page")
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: a temporary SQLite file)")
    parser.add_argument("--cache", action="store_true",
                        help="keep the app's leaderboard response cache on (default off: measure rendering)")
    args = parser.parse_args(argv)
    if args.models < 2 or args.per_subject < 1 or args.repeat < 1 or args.run_size < 0:
        parser.error("need --models >= 2, --per-subject >= 1, --repeat >= 1, --run-size >= 0")

    from fastapi.testclient import TestClient

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'pages.db'}"
        upgrade(url)
        cache = {} if args.cache else {"leaderboard_cache_seconds": 0}
        app = create_app(Settings(_env_file=None, database_url=url, **cache))
        started = time.perf_counter()
        ids = seed(app.state.session_factory, args.models, args.per_subject, args.run_size)
        with app.state.session_factory() as session:
            predictions = session.scalar(select(func.count()).select_from(PredictionRow))
        print(f"seeded {args.models} models x {len(BENCHMARKS)} benchmarks, {predictions:,} predictions "
              f"in {time.perf_counter() - started:.1f}s ({app.state.engine.dialect.name})")
        pages = ["/", "/?metric=macro&sort=-mmlu&q=model-1", "/leaderboard.json", "/leaderboard.csv",
                 f"/models/{ids['model']}", f"/jobs/{ids['job']}", f"/jobs/{ids['job']}?result=wrong&page=2",
                 "/runs/run-00", f"/compare?a={ids['model']}&b={ids['other']}", "/queue"]
        statements = [0]
        event.listen(app.state.engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
        print(f"{'page':44} {'median ms':>10} {'worst ms':>9} {'SQL':>4} {'KiB':>6}")
        with TestClient(app) as client:
            for page in pages:
                times = []
                for _ in range(args.repeat):
                    statements[0] = 0
                    t0 = time.perf_counter()
                    response = client.get(page)
                    times.append(1000 * (time.perf_counter() - t0))
                    if response.status_code != 200:
                        print(f"{page}: HTTP {response.status_code}: {response.text[:200]}", file=sys.stderr)
                        return 1
                print(f"{page:44} {statistics.median(times):10.1f} {max(times):9.1f} {statements[0]:4d} "
                      f"{len(response.content) / 1024:6.0f}")
        app.state.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
