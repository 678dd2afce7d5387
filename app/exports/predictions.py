"""Per-question predictions streamed as CSV, JSON lines or Parquet, read from the database a chunk at a time
(keyset pages on the row id), so a full run never sits in memory.

Every format carries the job's reproducibility record: CSV as the first line, `# record: {json}` (pandas:
`read_csv(url, skiprows=1)`); JSON lines as the first object, `{"record": ...}`, then one prediction per line;
Parquet in the file's key-value metadata under `cbench.record` (`pyarrow.parquet.read_schema(f).metadata`).
Parquet needs pyarrow (`pip install 'colossal-bench[exports]'`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import PredictionRow, Prompt

FORMATS = ("csv", "jsonl", "parquet")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson",
               "parquet": "application/vnd.apache.parquet"}
CHUNK_ROWS = 2000
COLUMNS = ("job_id", "question_id", "subject", "gold", "pred", "correct", "correct_combined", "scores", "output",
           "letter", "prompt_sha256", "prompt")
RECORD_KEY = b"cbench.record"


def _rows(session_factory: Callable[[], Session], job_id: int, subject: str | None,
          correct: bool | None) -> Iterator[list[dict[str, Any]]]:
    """Chunks of predictions as plain dicts, in row order, each chunk from its own short session."""
    last = 0
    while True:
        query = (select(PredictionRow, Prompt.text).outerjoin(Prompt, Prompt.sha256 == PredictionRow.prompt_sha256)
                 .where(PredictionRow.job_id == job_id, PredictionRow.id > last))
        if subject is not None:
            query = query.where(PredictionRow.subject == subject)
        if correct is not None:
            query = query.where(PredictionRow.correct == correct)
        with session_factory() as session:
            chunk = list(session.execute(query.order_by(PredictionRow.id).limit(CHUNK_ROWS)))
            rows = [{"job_id": r.job_id, "question_id": r.question_id, "subject": r.subject, "gold": r.gold,
                     "pred": r.pred, "correct": r.correct, "correct_combined": r.correct_combined,
                     "scores": dict(r.scores), "output": r.output, "letter": r.letter,
                     "prompt_sha256": r.prompt_sha256, "prompt": prompt} for r, prompt in chunk]
        if not rows:
            return
        last = chunk[-1][0].id
        yield rows


def _record_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)


def stream_csv(chunks: Iterator[list[dict[str, Any]]], record: dict[str, Any]) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    out.write("# record: " + _record_line(record) + "\n")
    writer.writeheader()
    yield out.getvalue().encode("utf-8")
    for chunk in chunks:
        out.seek(0)
        out.truncate()
        writer.writerows({**row, "scores": json.dumps(row["scores"], sort_keys=True)} for row in chunk)
        yield out.getvalue().encode("utf-8")


def stream_jsonl(chunks: Iterator[list[dict[str, Any]]], record: dict[str, Any]) -> Iterator[bytes]:
    yield ('{"record": ' + _record_line(record) + "}\n").encode("utf-8")
    for chunk in chunks:
        yield "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in chunk).encode("utf-8")


class _Sink:
    """A write-only file for pyarrow that hands out what was written since the last `take()`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def stream_parquet(chunks: Iterator[list[dict[str, Any]]], record: dict[str, Any]) -> Iterator[bytes]:
    """One row group per chunk; the candidates' scores as a map<string, double> column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("job_id", pa.int64()), ("question_id", pa.string()), ("subject", pa.string()),
                        ("gold", pa.string()), ("pred", pa.string()), ("correct", pa.bool_()),
                        ("correct_combined", pa.bool_()), ("scores", pa.map_(pa.string(), pa.float64())),
                        ("output", pa.string()), ("letter", pa.string()), ("prompt_sha256", pa.string()),
                        ("prompt", pa.string())], metadata={RECORD_KEY: _record_line(record).encode("utf-8")})
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    for chunk in chunks:
        columns = {name: [row[name] for row in chunk] for name in COLUMNS}
        columns["scores"] = [sorted(row["scores"].items()) for row in chunk]
        writer.write_table(pa.Table.from_pydict(columns, schema=schema))
        yield sink.take()
    writer.close()
    yield sink.take()


STREAMERS = {"csv": stream_csv, "jsonl": stream_jsonl, "parquet": stream_parquet}


def parquet_available() -> bool:
    try:
        import pyarrow.parquet  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


def stream_predictions(session_factory: Callable[[], Session], job_id: int, fmt: str, record: dict[str, Any], *,
                       subject: str | None = None, correct: bool | None = None) -> Iterator[bytes]:
    return STREAMERS[fmt](_rows(session_factory, job_id, subject, correct), record)
