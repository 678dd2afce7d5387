"""Contamination index: sorted hashed n-gram arrays (the index) vs a Bloom filter with a verification pass vs a
Python set, on one synthetic corpus, in one script (interleaved per corpus size), on this shared machine.

For each corpus size: build time and rate, peak resident memory of the build process (a fresh subprocess each),
size of the structure; then the check of all five benchmarks' question fields: the sorted index answers with
locations directly, the Bloom filter answers "maybe" and needs a second pass over the corpus to verify and locate.

    .venv/bin/python -m bench.contamination_index --sizes-mb 32,64,128 --memory-mb 256
    .venv/bin/python -m bench.contamination_index --sizes-mb 8 --memory-mb 64      # quick
    .venv/bin/python -m bench.contamination_index --sizes-mb 128 --memory-mb 64 --structures sorted   # the cap

The corpus is generated (Zipf-distributed pseudo-words, 25% of documents Chinese characters) with 50 real
questions of each benchmark planted in it, so every structure has true hits to find; nothing is written to the
repository.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.options import add_data_dir_argument

FILE_MB = 16
BENCHMARKS = ("mmlu", "cmmlu", "agieval", "gaokao", "ceval")


def make_corpus(directory: Path, size_mb: int, data_dir: str, seed: int = 0) -> list[Path]:
    from contamination.check import load_benchmark

    rng = random.Random(seed)
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(30000)]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    cum = np.cumsum(weights)
    planted = []
    for bench in BENCHMARKS:
        _split, questions = load_benchmark(bench, data_dir)
        items = [q for qs in questions.values() for q in qs]
        planted += [q.question + " " + " ".join(q.options) for q in rng.sample(items, 50)]
    files, written, number = [], 0, 0
    while written < size_mb * 2**20:
        path = directory / f"part-{number:04d}.jsonl"
        with open(path, "w", encoding="utf-8") as handle:
            size = 0
            while size < FILE_MB * 2**20 and written + size < size_mb * 2**20:
                if rng.random() < 0.25:
                    text = "".join(chr(0x4E00 + int(rng.paretovariate(1.2) * 40) % 3500) for _ in range(400))
                else:
                    picks = np.searchsorted(cum, np.random.default_rng(rng.randrange(2**32)).random(300) * cum[-1])
                    text = " ".join(vocab[i] for i in picks)
                if planted and rng.random() < 0.002:
                    text += " " + planted.pop()
                line = json.dumps({"text": text}, ensure_ascii=False) + "\n"
                handle.write(line)
                size += len(line.encode("utf-8"))
        files.append(path)
        written += size
        number += 1
    return files


def query_hashes(data_dir: str) -> np.ndarray:
    from contamination.check import field_units, load_benchmark
    from contamination.ngrams import UnitHasher, window_hashes
    from contamination.normalise import query_n

    hasher, parts = UnitHasher(), []
    for bench in BENCHMARKS:
        _split, questions = load_benchmark(bench, data_dir)
        for items in questions.values():
            for q in items:
                for text_units, first in field_units(q).values():
                    parts.append(window_hashes(hasher.hashes(text_units), query_n(text_units))[first:])
    return np.unique(np.concatenate(parts))


def worker(args: argparse.Namespace) -> dict:
    """One build (and lookup) in this fresh process; prints its figures as JSON."""
    from contamination.bloom import BloomFilter, verify_pass
    from contamination.corpus import CorpusFile, ReadOptions
    from contamination.index import Budget, BuildOptions, IndexReader, build_index, ngram_batches

    files = [CorpusFile(str(p), "jsonl") for p in args.files]
    queries = np.load(args.queries)
    budget = Budget.of(args.memory_mb * 2**20)
    started = time.perf_counter()
    out: dict = {"structure": args.worker}
    if args.worker == "sorted":
        manifest = build_index(args.files, args.output, BuildOptions(memory_mb=args.memory_mb, workers=args.workers))
        out["build_s"] = time.perf_counter() - started
        out["build_peak_rss_mb"] = peak_rss_mb()  # before the lookup maps the shards
        out["ngrams"] = manifest["ngrams"]
        out["bytes"] = sum(p.stat().st_size for p in Path(args.output).rglob("*.npy"))
        t = time.perf_counter()
        matches = IndexReader(args.output).lookup(queries)
        out["check_s"] = time.perf_counter() - t
        out["hits"] = len({m.query for m in matches})
    elif args.worker == "bloom":
        bloom = BloomFilter(args.expected, 0.01)
        for file in files:
            for hashes, _loc in ngram_batches(file, ReadOptions(), budget):
                bloom.add(hashes)
        out["build_s"] = time.perf_counter() - started
        out["build_peak_rss_mb"] = peak_rss_mb()
        out["bytes"] = bloom.nbytes
        t = time.perf_counter()
        maybe = queries[bloom.contains(queries)]
        out["filter_s"] = time.perf_counter() - t
        located = verify_pass(maybe, (b for f in files for b in ngram_batches(f, ReadOptions(), budget)))
        out["check_s"] = time.perf_counter() - t
        out["candidates"], out["hits"] = len(maybe), len(located)
    else:  # a Python set of ints
        seen: set[int] = set()
        for file in files:
            for hashes, _loc in ngram_batches(file, ReadOptions(), budget):
                seen.update(hashes.tolist())
        out["build_s"] = time.perf_counter() - started
        out["build_peak_rss_mb"] = peak_rss_mb()
        out["bytes"] = None
        t = time.perf_counter()
        out["hits"] = sum(1 for q in queries.tolist() if q in seen)
        out["check_s"] = time.perf_counter() - t
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def peak_rss_mb() -> float:
    """VmHWM, this process's own peak resident set (ru_maxrss would carry the parent's peak over the fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(kind: str, files: list[Path], output: Path, queries: Path, memory_mb: float, workers: int,
               expected: int = 0) -> dict:
    command = [sys.executable, "-m", "bench.contamination_index", "--worker", kind, "--output", str(output),
               "--queries", str(queries), "--memory-mb", str(memory_mb), "--workers", str(workers),
               "--expected", str(expected), "--files", *map(str, files)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if kind == "sorted" and workers > 1:  # workers are child processes: their peak is not in ru_maxrss
        result["note"] = "peak of the parent only"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_dir_argument(parser)
    parser.add_argument("--sizes-mb", default="32,64,128")
    parser.add_argument("--memory-mb", type=float, default=256.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--structures", default="sorted,bloom,set", help="which of sorted, bloom, set to run")
    parser.add_argument("--set-up-to-mb", type=int, default=32, help="the Python set only up to this corpus size")
    parser.add_argument("--worker", choices=("sorted", "bloom", "set", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--files", nargs="*", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--queries", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--expected", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "baseline":
        import contamination.bloom
        import contamination.index  # noqa: F401

        print(json.dumps({"peak_rss_mb": peak_rss_mb()}))
        return
    if args.worker:
        print(json.dumps(worker(args)))
        return
    with tempfile.TemporaryDirectory(prefix="cbench-contamination-") as tmp:
        root = Path(tmp)
        queries = root / "queries.npy"
        np.save(queries, query_hashes(args.data_dir))
        print(f"{len(np.load(queries)):,} distinct query n-grams (all fields of all five benchmarks)")
        baseline = json.loads(subprocess.run([sys.executable, "-m", "bench.contamination_index", "--worker",
                                              "baseline"], capture_output=True, text=True, check=True).stdout)
        print(f"interpreter + numpy + contamination imported: {baseline['peak_rss_mb']:.0f} MB resident")
        print("size_mb structure build_s MB/s build_peak_mb peak_mb bytes/corpus_byte check_s hits extra")
        structures = args.structures.split(",")
        for size in (int(s) for s in args.sizes_mb.split(",")):
            corpus = root / f"corpus-{size}"
            corpus.mkdir()
            files = make_corpus(corpus, size, args.data_dir)
            actual = sum(f.stat().st_size for f in files) / 2**20
            rows = [run_worker("sorted", files, root / f"sorted-{size}", queries, args.memory_mb, args.workers)]
            if "bloom" in structures:
                rows.append(run_worker("bloom", files, root / f"bloom-{size}", queries, args.memory_mb, 1,
                                       expected=rows[0]["ngrams"]))
            if "set" in structures and size <= args.set_up_to_mb:
                rows.append(run_worker("set", files, root / f"set-{size}", queries, args.memory_mb, 1))
            for r in rows:
                ratio = f"{r['bytes'] / (actual * 2**20):.2f}" if r["bytes"] else "-"
                extra = (f"candidates={r['candidates']} filter_s={r['filter_s']:.3f}" if "candidates" in r
                         else f"ngrams={r.get('ngrams', '-')}")
                print(f"{actual:7.1f} {r['structure']:9} {r['build_s']:7.1f} {actual / r['build_s']:5.2f} "
                      f"{r['build_peak_rss_mb']:13.0f} {r['peak_rss_mb']:7.0f} {ratio:>17} {r['check_s']:7.2f} "
                      f"{r['hits']:5} {extra}", flush=True)
            for path in files:
                path.unlink()


if __name__ == "__main__":
    main()
