"""Workers: lease one queued job at a time, run it with `evaluators.runner`, store predictions as they come."""
