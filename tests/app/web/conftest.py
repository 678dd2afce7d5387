"""Seed data for the page tests: models, succeeded jobs whose summaries are computed with
`evaluators.aggregate.summarize` from the very predictions inserted, subject rows, and queued/running/failed jobs."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.db.base import utcnow
from app.db.models import Job, Model, SubjectResult
from app.queries.predictions import insert_predictions
from evaluators.aggregate import summarize
from evaluators.records import Prediction

XSS_NAME = "<script>alert(1)</script>"
LETTERS = ("A", "B", "C", "D")
SUBJECTS = {"mmlu": ("abstract_algebra", "anatomy", "astronomy"), "cmmlu": ("agronomy", "anatomy"),
            "agieval": ("logiqa-en",)}
PER_SUBJECT = 12
SHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"
"""Where the browser tests save their screenshots."""


def shot(page, name: str) -> None:
    """A full-page screenshot of a browser tab, saved as `artifacts/screenshots/<name>.png`."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def leaderboard_names(page) -> list[str]:
    """The model names of the leaderboard's rows, top to bottom."""
    return page.locator("#leaderboard tbody tr td.name a").all_inner_texts()


@dataclass
class Seeded:
    models: dict[str, int] = field(default_factory=dict)
    jobs: dict[tuple[str, str], int] = field(default_factory=dict)
    run_checkpoints: list[int] = field(default_factory=list)
    queued: int = 0
    running: int = 0
    failed: int = 0


def make_predictions(model: str, benchmark: str, skill: float, subjects: tuple[str, ...],
                     per_subject: int = PER_SUBJECT) -> list[Prediction]:
    """Deterministic predictions: model `model` answers each question right with probability `skill`."""
    rng = random.Random(f"{model}/{benchmark}")
    out = []
    for subject in subjects:
        for index in range(per_subject):
            qid = f"{subject}/{index}"
            gold = LETTERS[index % 4]
            right = rng.random() < skill
            pred = gold if right else LETTERS[(index + 1) % 4]
            scores = {letter: (-0.5 if letter == pred else -2.0 - LETTERS.index(letter) * 0.25) for letter in LETTERS}
            prompt = f"The following is a question about {subject}.\n\nQuestion {index}: <b>what</b> & why?\n" \
                     f"A. one\nB. two\nC. three\nD. four\nAnswer:"
            combined = right if benchmark == "agieval" else None
            out.append(Prediction(question_id=qid, subject=subject, gold=gold, pred=pred, scores=scores,
                                  correct=right, prompt_sha256=hashlib.sha256(prompt.encode()).hexdigest(),
                                  output=pred if benchmark == "agieval" else None,
                                  letter=pred if benchmark == "agieval" else None, correct_combined=combined,
                                  prompt=prompt))
    return out


def add_succeeded_job(session: Session, model_id: int, model: str, benchmark: str, skill: float, *,
                      partial: bool = False, subjects: tuple[str, ...] | None = None) -> int:
    subjects = subjects or SUBJECTS[benchmark]
    predictions = make_predictions(model, benchmark, skill, subjects)
    return store_succeeded_job(session, model_id, benchmark, predictions,
                               expected_n=len(predictions) + 7 if partial else len(predictions),
                               subject_names={s: s.replace("_", " ").title() for s in subjects})


def store_succeeded_job(session: Session, model_id: int, benchmark: str, predictions: list[Prediction], *,
                        expected_n: int, subject_names: dict[str, str], record: dict | None = None) -> int:
    """A succeeded job of `predictions`, with the summary and per-subject rows the worker would store."""
    n = len(predictions)
    metric = "combined" if benchmark == "agieval" else "first_token"
    summary = summarize(benchmark, predictions, metric=metric, expected_n=expected_n, subject_names=subject_names)
    job = Job(model_id=model_id, benchmark=benchmark, template="colossaleval", config={}, status="succeeded",
              progress_done=n, progress_total=n, attempts=1, summary=summary.to_dict(), finished_at=utcnow(),
              record=record or {"template": "colossaleval", "prompts_sha256": "ab" * 32, "git_revision": "test"})
    session.add(job)
    session.flush()
    insert_predictions(session, job.id, predictions)
    session.add_all(SubjectResult(job_id=job.id, subject=s.subject, display=s.display, correct=s.accuracy.correct,
                                  n=s.accuracy.n, acc=s.accuracy.acc, stderr=s.accuracy.stderr,
                                  ci_low=s.accuracy.ci_low, ci_high=s.accuracy.ci_high) for s in summary.subjects)
    return job.id


def seed(session: Session) -> Seeded:
    seeded = Seeded()

    def model(name: str, **fields) -> int:
        row = Model(name=name, path=f"/models/{name}", source="local", tags=fields.pop("tags", []), **fields)
        session.add(row)
        session.flush()
        seeded.models[name] = row.id
        return row.id

    plan = [("alpha-7b", 0.8, ["base"], ("mmlu", "cmmlu", "agieval")),
            ("beta-7b", 0.35, ["chat"], ("mmlu", "cmmlu", "agieval")),
            (XSS_NAME, 0.55, ["<i>tag</i>"], ("mmlu",))]
    for name, skill, tags, benchmarks in plan:
        model_id = model(name, tags=tags, description=f"{name} & friends", parameter_count=7_000_000_000)
        for benchmark in benchmarks:
            seeded.jobs[(name, benchmark)] = add_succeeded_job(session, model_id, name, benchmark, skill)
    # a partial run: fewer questions than expected
    gamma = model("gamma-partial", tags=["base"])
    seeded.jobs[("gamma-partial", "mmlu")] = add_succeeded_job(session, gamma, "gamma-partial", "mmlu", 0.6,
                                                               partial=True)
    for i, step in enumerate((1000, 2000, 3000, 4000)):
        name = f"ckpt-{step}"
        model_id = model(name, tags=["run"], training_run="run-x", step=step, tokens_seen=step * 4_000_000)
        seeded.run_checkpoints.append(model_id)
        for benchmark in ("mmlu", "cmmlu"):
            seeded.jobs[(name, benchmark)] = add_succeeded_job(session, model_id, name, benchmark, 0.3 + 0.12 * i)
    alpha = seeded.models["alpha-7b"]
    for status, error in (("queued", None), ("running", None), ("failed", "CUDA out of memory <oom> at layer 3")):
        job = Job(model_id=alpha, benchmark="gaokao", template="colossaleval", config={}, status=status,
                  progress_done=5 if status == "running" else 0, progress_total=40 if status == "running" else None,
                  error=error, attempts=1 if status != "queued" else 0)
        session.add(job)
        session.flush()
        setattr(seeded, status, job.id)
    session.commit()
    return seeded


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The service settings with the leaderboard response cache off: these tests are about rendering."""
    return settings.model_copy(update={"leaderboard_cache_seconds": 0})


@pytest.fixture
def seeded(app: FastAPI) -> Seeded:
    with app.state.session_factory() as session:
        return seed(session)
