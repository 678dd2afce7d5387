"""Clean-subset score rows for the model and run pages (`_clean_scores.html`), from `app.queries.contamination`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.queries.contamination import CleanScore, clean_scores


def clean_score_rows(session: Session, models: Sequence[tuple[int, str]],
                     template: str | None = None) -> list[dict]:
    """One row per (model, benchmark) with a contamination check: the model's name next to its CleanScore."""
    scores = clean_scores(session, [model_id for model_id, _name in models], template)
    rows: list[dict] = []
    for model_id, name in models:
        for score in scores.get(model_id, []):
            rows.append({"model_id": model_id, "model": name, **_flat(score)})
    return rows


def _flat(score: CleanScore) -> dict:
    return {"benchmark": score.benchmark, "job_id": score.job_id, "template": score.template,
            "index_id": score.index_id, "check_id": score.check_id, "flagged": score.flagged,
            "split": score.split}
