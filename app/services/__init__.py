"""Domain operations that combine queries with rules: model registration, job submission, checkpoints."""
