"""Benchmark contamination: an n-gram overlap index of a training corpus and a check of benchmarks against it.

Pure logic, no database: `normalise` (text -> units), `ngrams` (units -> hashed n-grams), `corpus` (files ->
documents), `index` (streaming, bounded-memory, parallel, resumable build and lookup), `bloom` (the alternative
structure measured in bench/contamination_index.py), `check` (benchmark questions -> verified hits) and
`clean_scores` (accuracy on overlapping vs clean questions). `app/` stores and shows what these return.
"""
