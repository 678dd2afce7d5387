"""C-Eval's official submission format from `cbench eval` results (hkust-nlp/ceval README, "How to Submit").

The file maps each subject key to `{"<native id>": "<letter>"}` for every test question. Native ids come from the
test CSVs (column `id`), so the export re-reads them from the data directory instead of trusting row positions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evaluators.catalog import load_spec
from evaluators.loaders import load_questions


def submission_from_results(results: dict[str, Any], data_dir: Path) -> dict[str, dict[str, str]]:
    predictions = results.get("predictions", {}).get("ceval")
    if not predictions:
        raise ValueError("the results hold no C-Eval predictions; run `cbench eval --benchmarks ceval --split test`")
    split = next((r["record"]["split"] for r in results.get("results", []) if r.get("benchmark") == "ceval"), None)
    if split != "test":
        raise ValueError(f"the C-Eval predictions are for split {split!r}; the submission needs split 'test'")
    subjects = sorted({p["subject"] for p in predictions})
    questions = load_questions(load_spec("ceval"), data_dir, split="test", subjects=subjects)
    native = {q.id: (q.source_id or str(q.index)) for qs in questions.values() for q in qs}
    submission: dict[str, dict[str, str]] = {}
    for p in predictions:
        if p["question_id"] not in native:
            raise ValueError(f"unknown C-Eval test question {p['question_id']!r}")
        submission.setdefault(p["subject"], {})[native[p["question_id"]]] = p["pred"]
    return submission
