"""The reproducibility record stored with every benchmark result (scoring.md §5).

It names everything that produced the numbers: template id and header variant, a hash over the prompts, the
dataset files' checksums (from the dataset definition, which `cbench data verify` checks against the files),
tokenizer implementation and file hash, candidate ids, the over-length rule counters, backend facts (dtype,
device, attention implementation, batch limits), library versions and the git revision of this code. A model
converted from GGUF adds its import record (source sha256, quantisation type, architecture); the tokenizer part says
whether the prompts round-tripped, whether BOS was added (the tokenizer's own policy), why a `tokenizer.model` was
not used, and how much of the prompts reused a subject's prefix KV.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
from collections.abc import Iterable
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from evaluators.gguf_import import read_import_record
from evaluators.plan import Plan

REPO_ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = ("torch", "transformers", "tokenizers", "sentencepiece", "vllm", "flash-attn", "colossal-bench")


def prompts_sha256(prompt_hashes: Iterable[str]) -> str:
    """sha256 over the per-question prompt hashes, in question order."""
    digest = hashlib.sha256()
    for h in prompt_hashes:
        digest.update(h.encode())
        digest.update(b"\n")
    return digest.hexdigest()


@lru_cache(maxsize=1)
def git_revision() -> str:
    """`git rev-parse HEAD` of this checkout (with `-dirty` when modified), or "unknown"."""
    try:
        rev = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def dataset_checksums(plan: Plan) -> dict[str, str]:
    """sha256 of every file the run read (the plan's subjects, its split and the shot files)."""
    wanted_splits = {plan.split, plan.spec.shot_split}
    subjects = set(plan.subjects)
    return {f.path: f.sha256 for f in plan.spec.files
            if (f.subject is None or f.subject in subjects) and (f.split in wanted_splits or f.subject is None)}


def build_record(plan: Plan, *, tokenizer_impl: str, tokenizer_sha256: str, backend_info: dict[str, Any],
                 max_length: int, max_new_tokens: int, limit: int | None, reuse_prefix: bool,
                 nan_count: int = 0, tokenizer_fallback: str | None = None) -> dict[str, Any]:
    return {
        "benchmark": plan.spec.name,
        "dataset_version": plan.spec.version,
        "split": plan.split,
        "subjects": plan.subjects,
        "limit_per_subject": limit,
        "questions": len(plan.items),
        "template": plan.template.id,
        "header_variant": plan.template.header_variant,
        "scoring_method": plan.template.scoring_method,
        "metric": plan.spec.metric,
        "prompts_sha256": prompts_sha256(item.prompt.sha256 for item in plan.items),
        "dataset_checksums": dataset_checksums(plan),
        "tokenizer": {"implementation": tokenizer_impl, "policy": plan.template.tokenizer_policy,
                      "files_sha256": tokenizer_sha256, "bos_added": plan.bos_added,
                      "sentencepiece_fallback": tokenizer_fallback,
                      "round_trip": plan.round_trip.to_dict() if plan.round_trip else None},
        "candidate_ids": [list(c) for c in plan.candidate_ids] if plan.candidate_ids else None,
        "max_length": max_length,
        "max_new_tokens": max_new_tokens,
        "truncation_side": "left" if plan.template.scoring_method == "logprob" else "middle",
        "counts": {"shots_dropped": plan.shots_dropped, "truncated": plan.truncated,
                   "prefix_fallbacks": plan.prefix_fallbacks, "nan_rule": nan_count},
        "prefix_reuse": reuse_prefix,
        "prefix_reuse_rate": plan.prefix_reuse.to_dict(),
        "model_import": read_import_record(backend_info["model_path"]) if backend_info.get("model_path") else None,
        "backend": backend_info,
        "versions": library_versions(),
        "git_revision": git_revision(),
    }
