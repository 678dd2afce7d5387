"""Results in lm-evaluation-harness 0.4's results JSON layout (what `lm_eval --output_path` writes), so tools that
read those files (`lm_eval.utils.make_table`, leaderboard scrapers, notebooks) read ours.

Pure: stored summaries in, one dict out. Each benchmark is a group (`mmlu`) whose subtasks are its subjects
(`mmlu_abstract_algebra`); accuracies are fractions (`acc,none`) with their standard errors (`acc_stderr,none`), as
lm-eval reports them. The group's `acc` is the micro (per-question) accuracy, lm-eval's size-weighted group mean.
Our reproducibility records travel under `colossal_bench` (lm-eval readers ignore keys they do not know).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from evaluators.catalog import BENCHMARKS, load_spec

FILTER = "none"  # lm-eval's name for "no answer filter": `acc,none`
LAYOUT_VERSION = "lm-eval 0.4 results JSON"


@dataclass(frozen=True)
class ScoredJob:
    """One succeeded job as the export needs it."""

    job_id: int
    benchmark: str
    template: str
    summary: dict[str, Any]
    record: dict[str, Any] | None
    finished_at: datetime | None


def _task(benchmark: str, subject: str) -> str:
    return f"{benchmark}_{subject}"


def _metrics(acc_percent: float, stderr_percent: float, alias: str) -> dict[str, Any]:
    return {"alias": alias, f"acc,{FILTER}": acc_percent / 100.0, f"acc_stderr,{FILTER}": stderr_percent / 100.0}


def _shots(benchmark: str) -> dict[str, int]:
    if benchmark not in BENCHMARKS:
        return {}
    return {s.key: s.shots for s in load_spec(benchmark).subjects}


def lm_eval_results(model_name: str, model_path: str, jobs: Sequence[ScoredJob]) -> dict[str, Any]:
    """The lm-eval results document of one model's jobs (one job per benchmark)."""
    results: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    group_subtasks: dict[str, list[str]] = {}
    versions: dict[str, Any] = {}
    n_shot: dict[str, Any] = {}
    higher: dict[str, Any] = {}
    samples: dict[str, Any] = {}
    records: dict[str, Any] = {}
    for job in jobs:
        summary, bench = job.summary, job.benchmark
        micro = summary["micro"]
        groups[bench] = results[bench] = _metrics(micro["acc"], micro["stderr"], bench)
        shots = _shots(bench)
        subtasks = []
        for subject in summary.get("subjects", []):
            task = _task(bench, subject["subject"])
            subtasks.append(task)
            accuracy = subject["accuracy"]
            results[task] = _metrics(accuracy["acc"], accuracy["stderr"], f" - {subject.get('display', subject['subject'])}")
            versions[task] = 1.0
            n_shot[task] = shots.get(subject["subject"], 0)
            higher[task] = {"acc": True}
            samples[task] = {"original": accuracy["n"], "effective": accuracy["n"]}
        group_subtasks[bench] = subtasks
        versions[bench] = 1.0
        n_shot[bench] = max(n_shot.get(t, 0) for t in subtasks) if subtasks else 0
        higher[bench] = {"acc": True}
        records[bench] = {"job_id": job.job_id, "template": job.template, "metric": summary.get("metric"),
                          "complete": summary.get("complete"), "n": summary.get("n"),
                          "expected_n": summary.get("expected_n"), "macro_acc": summary.get("macro_acc"),
                          "record": job.record}
    finished = [j.finished_at for j in jobs if j.finished_at is not None]
    revisions = {(j.record or {}).get("git_revision") for j in jobs} - {None}
    return {
        "results": results,
        "groups": groups,
        "group_subtasks": group_subtasks,
        "configs": {},
        "versions": versions,
        "n-shot": n_shot,
        "higher_is_better": higher,
        "n-samples": samples,
        "config": {"model": "colossal-bench", "model_args": f"pretrained={model_path}", "model_name": model_name,
                   "batch_size": None, "device": None, "limit": None},
        "git_hash": ",".join(sorted(revisions)) or None,
        "date": max(finished).replace(tzinfo=timezone.utc).timestamp() if finished else None,
        "colossal_bench": {"layout": LAYOUT_VERSION, "jobs": records},
    }
