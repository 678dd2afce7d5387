"""Benchmarks of the evaluation engine: speed and agreement against lm-evaluation-harness, GPU throughput.

Run the scripts as modules from the repository root, e.g. `python -m bench.eval_vs_lmeval`; see bench/README.md.
"""
