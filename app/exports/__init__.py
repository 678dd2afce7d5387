"""Exports for other tools: lm-evaluation-harness's results JSON layout, and per-question predictions streamed as
CSV, JSON lines or Parquet, each carrying the job's reproducibility record."""
