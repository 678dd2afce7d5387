"""The leaderboard page `/`, its JSON twin `/leaderboard.json` and CSV export `/leaderboard.csv`.

One row per model, one column per benchmark (newest succeeded job) plus the average over the shown columns.
The view state lives in the query string: `q` (a regex on the name, run by RE2 in linear time, so no pattern can
make a request take long; RE2 has no backreferences or lookaround), `tag`, `run`, `metric` (micro|macro|clean:
the accuracy on the questions a contamination check did not flag, where the model's corpus was checked),
`sort` (a column, `-` prefix for descending), `cols` (comma-separated benchmarks to show) and `unscored=1` (also list
models with no result for the template; hidden by default). Names sort naturally (`step-2` before `step-10`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import re2
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from app.api.deps import SessionDep
from app.errors import DomainError, InvalidRequestError
from app.queries.contamination import clean_scores
from app.queries.estimates import running_estimates
from app.queries.leaderboard import leaderboard
from app.queries.results import Result
from app.web.interval_charts import IntervalInput, grouped_intervals
from app.web.render import Context, respond
from evaluators.catalog import BENCHMARKS, TEMPLATE_IDS, chance_level
from evaluators.records import Accuracy
from evaluators.templates import DEFAULT_TEMPLATE

router = APIRouter(include_in_schema=False)

METRICS = ("micro", "macro", "clean")
FIXED_SORTS = ("name", "avg", "step")
CHART_MODELS = 12  # the chart above the table draws the first rows of the current order


@dataclass(frozen=True)
class LeaderboardParams:
    q: str = ""
    tag: str = ""
    run: str = ""
    metric: str = "micro"
    sort: str = "-avg"
    cols: tuple[str, ...] | None = None
    template: str = DEFAULT_TEMPLATE
    unscored: bool = False

    def as_query(self) -> dict[str, str]:
        """The non-default parameters, for links and exports."""
        values = {"q": self.q, "tag": self.tag, "run": self.run,
                  "template": "" if self.template == DEFAULT_TEMPLATE else self.template,
                  "metric": "" if self.metric == "micro" else self.metric,
                  "sort": "" if self.sort == "-avg" else self.sort,
                  "cols": ",".join(self.cols) if self.cols is not None else "",
                  "unscored": "1" if self.unscored else ""}
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class Cell:
    job_id: int
    value: float
    acc: float
    ci_low: float
    ci_high: float
    macro_acc: float
    n: int
    expected_n: int | None
    partial: bool
    template: str
    metric: str
    title: str
    newer_partial: Cell | None = None  # a partial run newer than this complete one (never replaces it)


@dataclass(frozen=True)
class Row:
    model_id: int
    name: str
    tags: list[str]
    training_run: str | None
    step: int | None
    cells: dict[str, Cell | None]
    avg: float | None
    avg_over: int  # how many of the shown benchmarks the average covers (complete runs only)


def parse_params(query: Mapping[str, str]) -> LeaderboardParams:
    """Validate the query string; a bad value raises `InvalidRequestError` with a one-line message."""
    q = query.get("q", "").strip()
    if q:
        name_pattern(q)
    metric = query.get("metric", "") or "micro"
    if metric not in METRICS:
        raise InvalidRequestError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
    sort = query.get("sort", "") or "-avg"
    if sort.lstrip("-") not in (*FIXED_SORTS, *BENCHMARKS):
        raise InvalidRequestError(f"unknown sort column {sort!r}; valid: {', '.join((*FIXED_SORTS, *BENCHMARKS))}"
                                  " (prefix '-' for descending)")
    cols_text = query.get("cols")
    cols = None
    if cols_text is not None and cols_text.strip():
        cols = tuple(c.strip() for c in cols_text.split(",") if c.strip())
        unknown = [c for c in cols if c not in BENCHMARKS]
        if unknown:
            raise InvalidRequestError(f"unknown benchmark column(s) {', '.join(unknown)}; valid: {', '.join(BENCHMARKS)}")
    template = query.get("template", "") or DEFAULT_TEMPLATE
    if template not in TEMPLATE_IDS:
        raise InvalidRequestError(f"unknown template {template!r}; valid: {', '.join(TEMPLATE_IDS)}")
    unscored = query.get("unscored", "") or "0"
    if unscored not in ("0", "1"):
        raise InvalidRequestError(f"unscored must be 0 or 1, got {unscored!r}")
    return LeaderboardParams(q=q, tag=query.get("tag", "").strip(), run=query.get("run", "").strip(), metric=metric,
                             sort=sort, cols=cols, template=template, unscored=unscored == "1")


MAX_PATTERN_CHARS = 200


def name_pattern(q: str) -> Any:
    """The compiled name filter (case-insensitive, linear time); `InvalidRequestError` naming `q` when invalid."""
    if len(q) > MAX_PATTERN_CHARS:
        raise InvalidRequestError(f"q: the name filter is longer than {MAX_PATTERN_CHARS} characters")
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    try:
        return re2.compile(q, options)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise InvalidRequestError(f"q: invalid name filter regex {q!r} ({reason}; RE2 syntax, no backreferences "
                                  "or lookaround)") from None


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Case-insensitive order with digit runs compared as numbers: `step-2` < `step-10`."""
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.split(r"(\d+)", text.lower()) if part)


def _cell(result: Result, metric: str, clean: Accuracy | None = None) -> Cell:
    value = result.macro_acc if metric == "macro" else result.acc
    if metric == "clean" and clean is not None:
        value = clean.acc
    expected = f" of {result.expected_n:,}" if result.expected_n is not None else ""
    title = (f"micro {result.acc:.2f}% (95% CI {result.ci_low:.2f}–{result.ci_high:.2f}), "
             f"macro {result.macro_acc:.2f}% over {result.subject_count} subjects; "
             f"n = {result.n:,}{expected}; {result.template} / {result.metric}")
    if result.partial:
        title += "; PARTIAL run"
    if metric == "clean":
        title += (f"; clean {clean.acc:.2f}% on {clean.n:,} questions not in the training corpus" if clean
                  else "; no contamination check: the micro score")
    newer = _cell(result.newer_partial, metric) if result.newer_partial else None
    if newer is not None:
        title += f"; a newer partial run (job {newer.job_id}, n = {newer.n:,}) scored {newer.value:.2f}%"
    return Cell(job_id=result.job_id, value=value, acc=result.acc, ci_low=result.ci_low, ci_high=result.ci_high,
                macro_acc=result.macro_acc, n=result.n, expected_n=result.expected_n, partial=result.partial,
                template=result.template, metric=result.metric, title=title, newer_partial=newer)


def _sort_key(row: Row, column: str) -> tuple[int, Any]:
    """Missing values sort last in both directions (handled by the caller); names case-insensitively."""
    if column == "name":
        return (0, natural_key(row.name))
    if column == "step":
        return (0, row.step) if row.step is not None else (1, 0)
    value = row.avg if column == "avg" else (row.cells.get(column).value if row.cells.get(column) else None)
    return (0, value) if value is not None else (1, 0)


def sort_rows(rows: list[Row], sort: str) -> list[Row]:
    column = sort.lstrip("-")
    descending = sort.startswith("-")
    present = [r for r in rows if _sort_key(r, column)[0] == 0]
    missing = [r for r in rows if _sort_key(r, column)[0] == 1]
    present.sort(key=lambda r: (natural_key(r.name), r.model_id))
    present.sort(key=lambda r: _sort_key(r, column)[1], reverse=descending)
    missing.sort(key=lambda r: (natural_key(r.name), r.model_id))
    return present + missing


def leaderboard_context(session: Session, params: LeaderboardParams) -> Context:
    pattern = name_pattern(params.q) if params.q else None
    board = leaderboard(session, template=params.template, tag=params.tag, run=params.run,
                        name_matches=pattern.search if pattern else None)
    models, chosen = board.models, board.shown
    all_tags = sorted({t for m in models for t in m.tags})
    all_runs = sorted({m.training_run for m in models if m.training_run})
    by_model: dict[int, dict[str, Result]] = {}
    for result in board.results:
        by_model.setdefault(result.model_id, {})[result.benchmark] = result
    present = [b for b in BENCHMARKS if any(b in cells for cells in by_model.values())]
    columns = [b for b in (params.cols if params.cols is not None else present)]
    rows, unscored = [], 0
    clean = {} if params.metric != "clean" else {
        (s.model_id, s.benchmark): s.split.clean for scores in
        clean_scores(session, [m.id for m in chosen], params.template).values() for s in scores}
    estimates = {model_id: {b: {**e.estimate, "job_id": e.job_id} for b, e in by_bench.items()}
                 for model_id, by_bench in running_estimates(session, [m.id for m in chosen], params.template).items()}
    for model in chosen:
        if model.id not in by_model and model.id not in estimates and not params.unscored:
            unscored += 1
            continue
        cells = {b: _cell(r, params.metric, clean.get((model.id, b))) for b, r in by_model.get(model.id, {}).items()}
        complete = [cells[b].value for b in columns if b in cells and not cells[b].partial]
        rows.append(Row(model_id=model.id, name=model.name, tags=model.tags, training_run=model.training_run,
                        step=model.step, cells={b: cells.get(b) for b in BENCHMARKS if b in cells or b in columns},
                        avg=sum(complete) / len(complete) if complete else None, avg_over=len(complete)))
    return {"title": "Leaderboard", "estimates": estimates, "params": asdict(params), "qs": params.as_query(), "benchmarks": list(BENCHMARKS),
            "templates": list(TEMPLATE_IDS), "present": present, "columns": columns, "tags": all_tags, "runs": all_runs,
            "rows": sort_rows(rows, params.sort), "model_count": len(models), "hidden_unscored": unscored,
            "chance": {b: chance_level(b) for b in BENCHMARKS}}


def _chart(context: Context) -> Context:
    """The first `CHART_MODELS` rows' micro scores per shown benchmark with intervals, chance level marked."""
    shown = context["rows"][:CHART_MODELS]
    items = [IntervalInput(series=row.name, group=bench, value=cell.acc, low=cell.ci_low, high=cell.ci_high,
                           href=f"/jobs/{cell.job_id}", partial=cell.partial)
             for row in shown for bench in context["columns"] if (cell := row.cells.get(bench)) is not None]
    chart = grouped_intervals(items, context["columns"], [row.name for row in shown], context["chance"])
    return {"chart": chart, "chart_models": len(shown)}


CSV_FIXED = ("model_id", "model", "training_run", "step", "tags")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula: a leading = + - @ tab or CR gets a `'` in front (OWASP)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def leaderboard_csv(context: Context) -> str:
    """The current view as CSV: value, interval, n and partial flag per shown benchmark, then the average."""
    metric = context["params"]["metric"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = list(CSV_FIXED)
    for bench in context["columns"]:
        header += [f"{bench}_{metric}", f"{bench}_ci_low", f"{bench}_ci_high", f"{bench}_n", f"{bench}_partial",
                   f"{bench}_job_id"]
    writer.writerow([*header, f"average_{metric}", "average_over"])
    for row in context["rows"]:
        line: list[Any] = [row.model_id, spreadsheet_safe(row.name), spreadsheet_safe(row.training_run or ""),
                           row.step if row.step is not None else "", spreadsheet_safe(";".join(row.tags))]
        for bench in context["columns"]:
            cell = row.cells.get(bench)
            line += ([f"{cell.value:.4f}", f"{cell.ci_low:.4f}", f"{cell.ci_high:.4f}", cell.n, int(cell.partial),
                      cell.job_id] if cell else ["", "", "", "", "", ""])
        line += [f"{row.avg:.4f}" if row.avg is not None else "", row.avg_over]
        writer.writerow(line)
    return out.getvalue()


def _build(session: Session, request: Request) -> Context:
    return leaderboard_context(session, parse_params(request.query_params))


@router.get("/")
def leaderboard_page(request: Request, session: SessionDep) -> Response:
    return respond(request, "leaderboard.html", lambda: _build(session, request), as_json=False, decorate=_chart)


@router.get("/leaderboard.json")
def leaderboard_json(request: Request, session: SessionDep) -> Response:
    return respond(request, "leaderboard.html", lambda: _build(session, request), as_json=True)


@router.get("/leaderboard.csv")
def leaderboard_export(request: Request, session: SessionDep) -> Response:
    try:
        context = _build(session, request)
    except DomainError as exc:
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code)
    return Response(leaderboard_csv(context), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="leaderboard.csv"'})
