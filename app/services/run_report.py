"""A training run's report: per checkpoint its results, running estimates and stored verdicts, and per benchmark
(one template) the signal and noise figures of `evaluators.signal_noise`, as the read model `RunPublic`.
`GET /api/v1/runs/{name}` returns it and the run page draws it; both call `build_run_report`, so they never
disagree."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from app.errors import InvalidRequestError, NotFoundError
from app.queries.estimates import running_estimates
from app.queries.run_reports import checkpoint_results, complete_scores, run_checkpoints
from app.queries.verdicts import run_verdicts
from app.schemas.runs import (
    CheckpointReportPublic,
    RunPublic,
    SignalNoiseFiguresPublic,
    SignalNoisePublic,
    VerdictPublic,
)
from evaluators.catalog import BENCHMARKS
from evaluators.signal_noise import NOISE_CHECKPOINTS, SignalNoise, signal_and_noise
from evaluators.templates import DEFAULT_TEMPLATE, TEMPLATES

SIGNAL_NOISE_MEANING = ("Signal is how far apart this benchmark puts different models (relative dispersion of the "
                        "complete leaderboard scores); noise is how much this run's score wobbles over its last "
                        "checkpoints (relative standard deviation); a ratio well above 1 means the benchmark can "
                        "tell checkpoints apart, near or below 1 means its checkpoint-to-checkpoint changes are "
                        "mostly noise.")


def _order(benchmark: str) -> int:
    return BENCHMARKS.index(benchmark) if benchmark in BENCHMARKS else len(BENCHMARKS)


def describe(benchmark: str, figures: SignalNoise) -> str:
    """One plain sentence about a benchmark's signal and noise in this run."""
    if figures.ratio is None:
        missing = "two complete leaderboard scores" if figures.signal is None else "two complete checkpoints"
        return f"{benchmark}: not enough data yet (needs at least {missing})."
    text = (f"{benchmark}: models differ by {figures.ratio:.1f}× this run's checkpoint noise "
            f"(±{figures.noise_points:.2f} points over the last {figures.checkpoints} checkpoints).")
    if figures.noisy:
        text += (f" Warning: its checkpoint-to-checkpoint jitter ({figures.jitter:.2f} points) is larger than the "
                 f"change per checkpoint it is asked to resolve ({figures.step_change:.2f} points): treat single-step "
                 "differences on it as noise.")
    return text


def build_run_report(session: Session, run: str, *, template: str = DEFAULT_TEMPLATE,
                     noise_checkpoints: int = NOISE_CHECKPOINTS,
                     signal_models: Collection[int] | None = None) -> RunPublic:
    if template not in TEMPLATES:
        raise InvalidRequestError(f"template must be one of {', '.join(TEMPLATES)}, got {template!r}")
    if not 2 <= noise_checkpoints <= 1000:
        raise InvalidRequestError(f"noise_checkpoints must be an integer from 2 to 1000, got {noise_checkpoints}")
    checkpoints = run_checkpoints(session, run)
    if not checkpoints:
        raise NotFoundError(f"training run {run!r} has no registered checkpoints")
    ids = [c.model_id for c in checkpoints]
    results = checkpoint_results(session, ids, template)
    estimates = running_estimates(session, ids, template)
    steps = {c.model_id: c.step for c in checkpoints}
    verdicts: dict[int, list[VerdictPublic]] = {}
    for v in run_verdicts(session, ids, template):
        verdicts.setdefault(v.model_id, []).append(VerdictPublic(
            benchmark=v.benchmark, baseline=v.baseline, baseline_model_id=v.baseline_model_id,
            baseline_step=steps.get(v.baseline_model_id), job_id=v.job_id, baseline_job_id=v.baseline_job_id, n=v.n,
            diff=v.diff, ci_low=v.ci_low, ci_high=v.ci_high, p_value=v.p_value, p_adjusted=v.p_adjusted,
            verdict=v.verdict, sample=v.sample))
    reports = [CheckpointReportPublic(model_id=c.model_id, name=c.name, step=c.step, tokens_seen=c.tokens_seen,
                                      results=results.get(c.model_id, {}), estimates=estimates.get(c.model_id, {}),
                                      verdicts=verdicts.get(c.model_id, [])) for c in checkpoints]
    benchmarks = sorted({b for found in (results, estimates) for by_bench in found.values() for b in by_bench},
                        key=_order)
    signal_set = complete_scores(session, template, signal_models)
    rows = []
    for bench in benchmarks:
        series = [r.results[bench].acc for r in reports if bench in r.results and r.results[bench].complete]
        figures = signal_and_noise(signal_set.get(bench, []), series, last=noise_checkpoints)
        rows.append(SignalNoisePublic(benchmark=bench, template=template,
                                      figures=SignalNoiseFiguresPublic.model_validate(figures),
                                      sentence=describe(bench, figures)))
    return RunPublic(run=run, template=template, noise_checkpoints=noise_checkpoints, benchmarks=benchmarks,
                     checkpoints=reports, signal_noise=rows, signal_noise_meaning=SIGNAL_NOISE_MEANING)
