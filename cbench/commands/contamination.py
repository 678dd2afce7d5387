"""`cbench contamination index` (build or resume an n-gram overlap index of a corpus) and `cbench contamination
check` (check benchmarks against it, print per-subject overlap, store the result in the database)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from contamination.corpus import DEFAULT_FIELDS, ReadOptions


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("contamination", help="n-gram overlap between a training corpus and the benchmarks")
    commands = group.add_subparsers(dest="contamination_command", metavar="ACTION")

    index = commands.add_parser("index", help="build (or resume) the overlap index of a corpus")
    index.add_argument("corpus", nargs="+", help="JSON-lines / text files or directories, or `cbench-train prepare` "
                                                 "output directories")
    index.add_argument("--output", required=True, help="index directory (re-running resumes it)")
    index.add_argument("--memory-mb", type=float, default=1024.0,
                       help="cap on the n-gram buffers of all workers together (default 1024)")
    index.add_argument("--workers", type=int, default=1, help="files indexed in parallel (processes)")
    index.add_argument("--field", action="append", dest="fields",
                       help=f"JSON-lines string field to read (repeatable; default {', '.join(DEFAULT_FIELDS)})")
    index.add_argument("--tokenizer", help="tokenizer.model (or its directory) to decode prepared data with")
    index.set_defaults(func=run_index)

    check = commands.add_parser("check", help="check benchmarks against an index and store the result")
    check.add_argument("--index", required=True, help="index directory")
    check.add_argument("--benchmarks", required=True, help="comma-separated: mmlu,cmmlu,agieval,gaokao,ceval")
    check.add_argument("--subjects", default=None, help="comma-separated subjects (default: all scored subjects)")
    check.add_argument("--split", default=None, help="split to check (default: each benchmark's scored split)")
    check.add_argument("--data-dir", default=None, help="benchmark files (default: CBENCH_DATA_DIR)")
    check.add_argument("--output", default=None, help="also write the full report (with every hit) as JSON")
    check.add_argument("--run", default=None, help="link this training run's checkpoints to the index")
    check.add_argument("--no-store", action="store_true", help="do not write to the database (DATABASE_URL)")
    check.set_defaults(func=run_check)


def run_index(args: argparse.Namespace) -> int:
    from contamination.index import BuildOptions, build_index

    options = BuildOptions(memory_mb=args.memory_mb, workers=args.workers,
                           read=ReadOptions(fields=tuple(args.fields or DEFAULT_FIELDS), tokenizer=args.tokenizer))

    def progress(result) -> None:
        state = "already indexed" if result.skipped else f"{result.ngrams:,} n-grams in {result.shards} shard(s)"
        print(f"{result.path}: {result.documents:,} documents, {state}", file=sys.stderr)

    manifest = build_index(args.corpus, args.output, options, progress)
    print(f"index {manifest['id']}: {len(manifest['files'])} files, {manifest['bytes']:,} bytes, "
          f"{manifest['documents']:,} documents, {manifest['ngrams']:,} n-grams, {manifest['build']['seconds']} s "
          f"-> {args.output}")
    return 0


def check_record(manifest: dict, benchmark: str, split: str, data_dir: str, seconds: float) -> dict:
    """What produced a check: index id and parameters, dataset checksums, code revision."""
    from evaluators.catalog import load_spec
    from evaluators.run_record import git_revision

    spec = load_spec(benchmark)
    return {"index_id": manifest["id"], "normalisation": manifest["normalisation"], "n_latin": manifest["n_latin"],
            "n_cjk": manifest["n_cjk"], "benchmark": benchmark, "split": split, "data_dir": str(data_dir),
            "dataset_files": {f.path: f.sha256 for f in spec.files},
            "git_revision": git_revision(), "seconds": seconds}


def run_check(args: argparse.Namespace) -> int:
    from app.core.config import get_settings
    from contamination.check import FIELDS, check_questions, load_benchmark
    from contamination.index import IndexReader
    from evaluators.catalog import BENCHMARKS, scored_subjects

    benchmarks = [b.strip() for b in args.benchmarks.split(",") if b.strip()]
    unknown = [b for b in benchmarks if b not in BENCHMARKS]
    if not benchmarks or unknown:
        raise ValueError(f"--benchmarks: unknown {', '.join(unknown) or '(none given)'}; valid: {', '.join(BENCHMARKS)}")
    subjects = [s.strip() for s in args.subjects.split(",") if s.strip()] if args.subjects else None
    if subjects is not None:
        from evaluators.catalog import validate_request

        validate_request(benchmarks, "colossaleval", subjects)  # every subject belongs to one of the benchmarks
    settings = get_settings()
    data_dir = args.data_dir or str(settings.data_dir)
    reader = IndexReader(args.index)
    manifest = reader.manifest
    results = []
    for bench in benchmarks:
        own = None if subjects is None else [s for s in subjects if s in scored_subjects(bench)]
        if own == []:
            raise ValueError(f"--subjects: none of them is a subject of {bench}")
        split, questions = load_benchmark(bench, data_dir, args.split, own)
        result = check_questions(reader, bench, split, questions)
        results.append(result)
        print(f"{bench} ({split}): {result.questions} questions; overlapping: "
              + ", ".join(f"{f} {result.totals[f]}" for f in FIELDS) + f", any {result.totals['any_field']} "
              f"({result.seconds} s)")
        for subject in result.subjects:
            if subject.any_field:
                print(f"  {subject.subject}: {subject.any_field}/{subject.questions} "
                      + " ".join(f"{f}={subject.overlapping[f]}/{subject.checked[f]}" for f in FIELDS))
    if args.output:
        Path(args.output).write_text(json.dumps({"index": manifest["id"], "checks": [asdict(r) for r in results]},
                                                indent=1, ensure_ascii=False), encoding="utf-8")
    if not args.no_store:
        from app.db.migrate import upgrade
        from app.db.session import make_engine, make_session_factory
        from app.queries import contamination as queries

        upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        try:
            with make_session_factory(engine)() as session:
                index = queries.upsert_index(session, manifest, str(Path(args.index).resolve()))
                ids = [queries.store_check(session, index, r, check_record(manifest, r.benchmark, r.split, data_dir,
                                                                           r.seconds)).id for r in results]
                linked = queries.link_run(session, args.run, manifest["id"]) if args.run else 0
                session.commit()
        finally:
            engine.dispose()
        print(f"stored checks {', '.join(map(str, ids))} for index {manifest['id']}"
              + (f"; {linked} checkpoint(s) of run {args.run} linked" if args.run else ""))
    return 0
