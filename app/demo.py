"""`cbench serve --demo`: two small random-init LLaMA models and a few short MMLU jobs, so a new user sees real
jobs run within minutes. The models are labelled "random-init demo" everywhere: their scores are chance level.

Building the models imports torch, so this runs in the `serve` process only when `--demo` is given.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.core.config import Settings
from app.errors import DomainError
from app.queries import jobs as job_queries
from app.queries import models as model_queries
from app.schemas.jobs import JobCreate, JobOptions
from app.schemas.models import ModelCreate
from app.services.submission import register_model, submit_jobs
from app.worker.lease import SessionFactory
from evaluators.model_files import is_model_dir

log = logging.getLogger(__name__)

DEMO_MODELS = (("demo-random-llama-a", 1), ("demo-random-llama-b", 2))
DEMO_SUBJECTS = ["abstract_algebra", "anatomy", "astronomy"]
DEMO_LIMIT = 5
TOKENIZER_DIR = Path("tokenizers/llama2")  # inside the data directory


def queue_demo(session_factory: SessionFactory, settings: Settings) -> None:
    """Build (once) the demo models under the first model root, register them and queue MMLU jobs."""
    from evaluators.tiny_model import build_tiny_llama

    roots = settings.model_root_paths
    if not roots:
        raise ValueError("--demo needs CBENCH_MODEL_ROOTS to name a directory for the demo models")
    tokenizer_dir = Path(settings.data_dir) / TOKENIZER_DIR
    if not (tokenizer_dir / "tokenizer.model").is_file():
        raise FileNotFoundError(f"--demo needs the LLaMA-2 tokenizer at {tokenizer_dir} (CBENCH_DATA_DIR)")
    for name, seed in DEMO_MODELS:
        directory = roots[0] / name
        if not is_model_dir(directory):
            log.info("building %s (random init, seed %s) in %s", name, seed, directory)
            build_tiny_llama(directory, tokenizer_dir, seed=seed)
        with session_factory() as session:
            try:
                model = model_queries.get_model_by_name(session, name) or register_model(
                    session, settings, ModelCreate(name=name, path=str(directory), tags=["demo"],
                                                   description="random-init demo: chance-level scores expected"))
                if job_queries.jobs_for_model(session, model.id):
                    continue  # queued by an earlier `serve --demo`
                submit_jobs(session, JobCreate(model=model.id, benchmarks=["mmlu"], options=JobOptions(
                    subjects=DEMO_SUBJECTS, limit=DEMO_LIMIT, device="cpu")))
                session.commit()
            except DomainError as exc:
                raise ValueError(f"demo setup failed: {exc.message}") from exc
