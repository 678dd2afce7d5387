"""Evaluation engine: native benchmark files -> ColossalEval-exact prompts -> first-token scores -> summaries."""
