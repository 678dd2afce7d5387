"""The demo's training run: with the trainer's environment installed, `cbench serve --demo` also continues
SmolLM2-135M for a few steps on CPU, and every checkpoint registers itself and gets scored, so `/runs/demo-cpt` has
a curve.

What it trains on: the dev questions of MMLU and CMMLU with their answers, in the prompt layout the demo scores,
as plain continued pretraining (the loss is on every token of the question and its answer; a loss on the answer
letter alone collapsed the model onto one letter within two steps). The dev split is the few-shot examples' split,
never the test split the demo scores. The run starts from the demo's converted SmolLM2 (`SMOLLM2_NAME`) once the worker has
converted it, and runs in the trainer's own interpreter (`Settings.train_python`) as subprocesses (`cbench-train
prepare`, then `run`) started from a daemon thread, never in a request and never importing torch here. The run
registers its checkpoints through the real API (`--server URL`, a token created for it here, passed in the
environment and revoked when the run ends) and each is scored on the demo's MMLU subjects by the in-process worker.
Its output goes to `<demo_train_dir>/train.log`; a failure is one error log line and a notice on every page, never
a crash of the server.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from app.core.config import REPO_ROOT, Settings
from app.demo import DEMO_SUBJECTS, SMOLLM2_NAME
from app.middleware.response_cache import invalidate as invalidate_cached_pages
from app.queries import models as model_queries
from app.queries import tokens as token_queries
from app.services.submission import checkpoint_name
from app.web.notices import clear_notice, set_notice
from app.worker.lease import SessionFactory

log = logging.getLogger(__name__)

RUN_NAME = "demo-cpt"
RUN_TAGS = ("demo", "continued-pretraining", "cpu-sample")
RUN_DESCRIPTION = ("demo run: SmolLM2-135M-Instruct (the demo's dequantised GGUF) continued for a few steps on CPU "
                   "on the MMLU and CMMLU dev questions with their answers (plain continued pretraining; the scored "
                   "test questions are not trained on); each checkpoint is scored on the demo's MMLU sample, so the "
                   "differences between points are mostly noise")
CORPUS_SPLIT = "dev"
CORPUS_BENCHMARKS = ("mmlu", "cmmlu")
EVAL_BENCHMARK = "mmlu"
NOTICE_KEY = "demo-training"
LOG_FILE = "train.log"
READY_POLL_SECONDS = 2.0


@dataclass(frozen=True)
class TrainingPaths:
    """Where the run reads and writes: its work directory (corpus, packed data, log) and the checkpoints' directory
    under the first model root (so the server accepts their paths)."""

    work: Path
    save: Path

    @property
    def log(self) -> Path:
        return self.work / LOG_FILE


def training_paths(settings: Settings) -> TrainingPaths:
    return TrainingPaths(work=Path(settings.demo_train_dir).resolve(), save=settings.model_root_paths[0] / RUN_NAME)


def write_corpus(data_dir: Path, output: Path) -> int:
    """JSON lines {"source": "", "target": prompt item and its gold letter, "category"} from the dev split of
    `CORPUS_BENCHMARKS`, in the ColossalEval item layout (no source: every token is trained on); returns the number
    of documents."""
    from evaluators.catalog import load_spec
    from evaluators.loaders import load_file
    from evaluators.templates import colossal_item

    count = 0
    with open(output, "w", encoding="utf-8") as handle:
        for benchmark in CORPUS_BENCHMARKS:
            spec = load_spec(benchmark)
            for subject in spec.subjects:
                for question in load_file(spec, data_dir, subject.key, CORPUS_SPLIT):
                    handle.write(json.dumps({"source": "", "target": colossal_item(question) + question.gold,
                                             "category": f"{benchmark}/{subject.key}"}, ensure_ascii=False) + "\n")
                    count += 1
    return count


def train_commands(settings: Settings, paths: TrainingPaths, base_model: Path, server_url: str) -> list[list[str]]:
    """`cbench-train prepare` and `cbench-train run` for the demo run, in the trainer's interpreter."""
    python = str(settings.train_python)
    data = paths.work / "data"
    prepare = [python, "-m", "trainer", "prepare", "--input", str(paths.work / "corpus.jsonl"),
               "--tokenizer", str(base_model), "--output", str(data),
               "--max-length", str(settings.demo_train_max_length), "--bins", "1", "--no-contamination-index"]
    run = [python, "-m", "trainer", "run", "--model", str(base_model), "--data", str(data),
           "--save-dir", str(paths.save), "--plugin", "ddp", "--batch-size", "1",
           "--max-steps", str(settings.demo_train_steps), "--save-interval", str(settings.demo_train_save_interval),
           "--lr", "1e-4", "--warmup-steps", "1", "--server", server_url, "--run-name", RUN_NAME,
           "--benchmarks", EVAL_BENCHMARK, "--eval-subjects", ",".join(DEMO_SUBJECTS[EVAL_BENCHMARK]),
           "--eval-limit", str(settings.demo_limit), "--tags", ",".join(RUN_TAGS), "--description", RUN_DESCRIPTION]
    return [prepare, run]


class DemoTraining:
    """Runs the demo's training run in a daemon thread (`start`); `outcome` says how it ended."""

    def __init__(self, session_factory: SessionFactory, settings: Settings, server_url: str) -> None:
        self.session_factory, self.settings, self.server_url = session_factory, settings, server_url
        self.paths = training_paths(settings)
        self.outcome: str | None = None
        self._process: subprocess.Popen | None = None
        self._stopping = threading.Event()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="cbench-demo-training", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """End a running subprocess (the server is shutting down); the run then counts as stopped, not failed."""
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    def run(self) -> None:
        try:
            self.outcome = self._run()
        except Exception as exc:  # never into the server: one line and a notice
            self.outcome = f"failed: {type(exc).__name__}: {exc}"
        if self.outcome.startswith("failed"):
            log.error("demo training run %s (%s)", self.outcome, self.paths.log)
            set_notice(NOTICE_KEY, f"The demo training run {self.outcome}. Its output: {self.paths.log}")
            invalidate_cached_pages()
        else:
            log.info("demo training run %s", self.outcome)

    def _run(self) -> str:
        final = checkpoint_name(RUN_NAME, self.settings.demo_train_steps)
        with self.session_factory() as session:
            if model_queries.get_model_by_name(session, final) is not None:
                return f"already done by an earlier `serve --demo` ({final} is registered)"
        base_model = self._wait_for_base_model()
        if self._stopping.is_set():
            return "stopped with the server"
        for directory in (self.paths.work, self.paths.save):  # a run cut short before: start it again
            shutil.rmtree(directory, ignore_errors=True)
        self.paths.work.mkdir(parents=True)
        documents = write_corpus(Path(self.settings.data_dir), self.paths.work / "corpus.jsonl")
        log.info("demo training run: %d documents, %d steps from %s; output in %s", documents,
                 self.settings.demo_train_steps, base_model, self.paths.log)
        clear_notice(NOTICE_KEY)
        with self.session_factory() as session:
            row, token = token_queries.create_token(session, f"{RUN_NAME} training run (serve --demo)")
            session.commit()
            key = row.key
        try:
            for command in train_commands(self.settings, self.paths, base_model, self.server_url):
                code = self._subprocess(command, token)
                if self._stopping.is_set():
                    return "stopped with the server"
                if code != 0:
                    return f"failed: `cbench-train {command[3]}` exited with {code}"
        finally:
            with self.session_factory() as session:
                token_queries.revoke_token(session, key)
                session.commit()
        return f"finished: {self.settings.demo_train_steps} steps, checkpoints in {self.paths.save}"

    def _wait_for_base_model(self) -> Path:
        """The converted SmolLM2 directory, once the worker has converted it."""
        while True:
            with self.session_factory() as session:
                model = model_queries.get_model_by_name(session, SMOLLM2_NAME)
                if model is None:
                    raise RuntimeError(f"the demo model {SMOLLM2_NAME!r} is not registered")
                if model.status == "failed":
                    raise RuntimeError(f"the demo model could not be converted: {model.error}")
                if model.status == "ready":
                    return Path(model.path)
            if self._stopping.wait(READY_POLL_SECONDS):
                return Path()

    def _subprocess(self, command: list[str], token: str) -> int:
        threads = str(max(1, (os.cpu_count() or 2) // 2))  # the in-process worker scores at the same time
        env = {**os.environ, "CBENCH_TOKEN": token, "OMP_NUM_THREADS": threads, "PYTHONUNBUFFERED": "1"}
        with open(self.paths.log, "a", encoding="utf-8") as handle:
            handle.write(f"$ {' '.join(command)}\n")
            handle.flush()
            self._process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env,
                                             cwd=REPO_ROOT)
            if self._stopping.is_set():  # `stop` came between the last check and the start
                self._process.terminate()
            return self._process.wait()


def start_demo_training(session_factory: SessionFactory, settings: Settings, server_url: str) -> DemoTraining | None:
    """Start the run when the trainer's interpreter exists; otherwise say in one log line how to add it."""
    if not Path(settings.train_python).is_file():
        log.info("demo: no trainer environment at %s, so no training run (scripts/setup_trainer_venv.sh adds it)",
                 settings.train_python)
        return None
    training = DemoTraining(session_factory, settings, server_url)
    training.start()
    return training
