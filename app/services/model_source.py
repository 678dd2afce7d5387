"""Where a model lives: a local directory under `CBENCH_MODEL_ROOTS`, or a Hugging Face Hub id plus revision.

Local paths are resolved (links followed) before the root check, so a link cannot escape the roots. Facts read
here are cheap: config.json, safetensors headers for the parameter count, and the tokenizer files. The weights'
fingerprint (`content_hash`) reads every byte and lives in `app.services.fingerprint`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from app.errors import InvalidRequestError
from evaluators.model_files import UnreadableSafetensors, is_model_dir, safetensors_parameter_count

# A Hub id `owner/name` as the Hub allows it: each part 1-96 of letters, digits, `_ . -`, not starting or ending
# with `.` or `-`, without `..` or `--`.
HUB_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
HUB_ID = re.compile(rf"^{HUB_PART}/{HUB_PART}$")
TOKENIZER_FILES = ("tokenizer.model", "tokenizer.json")


@dataclass(frozen=True)
class ModelFacts:
    path: str
    source: str  # "local", "hub" or "gguf" (a file a worker converts into a local directory)
    tokenizer: str | None = None
    parameter_count: int | None = None
    dtype: str | None = None


def is_hub_id(path: str) -> bool:
    return (bool(HUB_ID.match(path)) and ".." not in path and "--" not in path
            and not path.startswith((".", "/", "~")) and not Path(path).exists())


def resolve_local(path: str, roots: list[Path]) -> Path:
    """The resolved directory, refused with a message naming CBENCH_MODEL_ROOTS when outside every root."""
    resolved = Path(path).expanduser().resolve()
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        shown = ":".join(str(r) for r in roots) or "(empty)"
        raise InvalidRequestError(f"model path {path!r} resolves to {resolved}, outside CBENCH_MODEL_ROOTS ({shown})")
    if not resolved.is_dir():
        raise InvalidRequestError(f"model path {path!r} is not a directory")
    if not is_model_dir(resolved):
        raise InvalidRequestError(f"model path {path!r} has no config.json; not a Hugging Face model directory")
    return resolved


def resolve_gguf(path: str, roots: list[Path]) -> Path:
    """The resolved .gguf file under a model root, refused with a message when it is outside or not GGUF."""
    resolved = Path(path).expanduser().resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        shown = ":".join(str(r) for r in roots) or "(empty)"
        raise InvalidRequestError(f"model path {path!r} resolves to {resolved}, outside CBENCH_MODEL_ROOTS ({shown})")
    if not resolved.is_file():
        raise InvalidRequestError(f"model path {path!r} is not a file")
    with resolved.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise InvalidRequestError(f"model path {path!r} does not start with the GGUF magic; not a GGUF file")
    return resolved


def inspect_model(path: str, roots: list[Path], *, allow_remote_code: bool = False) -> ModelFacts:
    """Facts about a model reference; hub ids are only recorded here (the worker downloads them, and its backend
    refuses their shipped code unless remote code is allowed); a .gguf file is checked here and converted by a
    worker (`app/worker/conversion.py`)."""
    if path.endswith(".gguf"):
        return ModelFacts(path=str(resolve_gguf(path, roots)), source="gguf")
    if is_hub_id(path):
        return ModelFacts(path=path, source="hub")
    directory = resolve_local(path, roots)
    try:
        config = json.loads((directory / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise InvalidRequestError(f"model path {path!r}: config.json is not valid JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise InvalidRequestError(f"model path {path!r}: config.json is not a JSON object")
    if config.get("auto_map") and not allow_remote_code:
        raise InvalidRequestError(f"model path {path!r} ships its own model code (config.json auto_map), which "
                                  "needs trust_remote_code; the server refuses it unless the operator sets "
                                  "CBENCH_ALLOW_REMOTE_CODE=true")
    dtype = config.get("torch_dtype") or config.get("dtype")
    return ModelFacts(path=str(directory), source="local", tokenizer=tokenizer_id(directory),
                      parameter_count=parameter_count(directory),
                      dtype=str(dtype) if dtype else None)


def tokenizer_id(directory: Path) -> str | None:
    """`<tokenizer_class> sha256:<12 hex>` of the first tokenizer file found, else None."""
    klass = ""
    if (directory / "tokenizer_config.json").is_file():
        try:
            klass = json.loads((directory / "tokenizer_config.json").read_text()).get("tokenizer_class") or ""
        except ValueError:
            klass = ""
    for name in TOKENIZER_FILES:
        if (directory / name).is_file():
            digest = hashlib.sha256((directory / name).read_bytes()).hexdigest()[:12]
            return f"{klass} sha256:{digest}".strip()
    return klass or None


def parameter_count(directory: Path) -> int | None:
    """Sum of tensor sizes from the safetensors headers; 422 naming the file when one is unreadable."""
    try:
        return safetensors_parameter_count(directory)
    except UnreadableSafetensors as exc:
        raise InvalidRequestError(f"path: {exc}") from None

