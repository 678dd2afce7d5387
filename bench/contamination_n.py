"""Choosing n for Chinese character n-grams, measured on the benchmarks themselves.

For each candidate n, over the question texts of the Chinese benchmarks (CMMLU, C-Eval val, GAOKAO, AGIEval's
Chinese subjects): the share of questions long enough to hold one n-gram (checkable at all), and the share whose
n-grams also occur in a question of *another subject* of the same benchmark -- stock phrasing ("下列关于……的说法
正确的是") that a web corpus contains too, so a proxy for false alarms. Small n flags boilerplate, large n leaves
short questions unchecked.

    CBENCH_DATA_DIR=../shared/data .venv/bin/python -m bench.contamination_n
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from bench.options import add_data_dir_argument
from contamination.check import load_benchmark
from contamination.ngrams import UnitHasher, window_hashes
from contamination.normalise import cjk_share, units

CANDIDATES = (8, 10, 13, 16, 20, 26)
CHINESE = ("cmmlu", "ceval", "gaokao", "agieval")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_dir_argument(parser)
    args = parser.parse_args()
    hasher = UnitHasher(2_000_000)
    texts: list[tuple[str, str, list[str]]] = []  # (benchmark, subject, units)
    for bench in CHINESE:
        _split, questions = load_benchmark(bench, str(args.data_dir))
        for subject, items in questions.items():
            for q in items:
                u = units(f"{q.passage} {q.question}")
                if cjk_share(u) >= 0.5:
                    texts.append((bench, subject, u))
    print(f"{len(texts)} Chinese question texts; median {int(np.median([len(t[2]) for t in texts]))} units")
    print("n    checkable  shares-an-n-gram-with-another-subject")
    for n in CANDIDATES:
        owners: dict[tuple[str, int], set[str]] = defaultdict(set)
        grams = []
        for bench, subject, u in texts:
            hashes = set(window_hashes(hasher.hashes(u), n).tolist())
            grams.append(hashes)
            for h in hashes:
                owners[(bench, h)].add(subject)
        checkable = sum(1 for g in grams if g)
        shared = sum(1 for (bench, subject, _u), g in zip(texts, grams, strict=True)
                     if any(len(owners[(bench, h)] - {subject}) > 0 for h in g))
        print(f"{n:<4} {100 * checkable / len(texts):8.1f}%  {100 * shared / max(1, checkable):8.2f}%")


if __name__ == "__main__":
    main()
