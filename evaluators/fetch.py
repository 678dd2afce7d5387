"""Download the official public benchmark archives and extract the files the specs name into a data directory.

`ARCHIVES` is the one table of download locations (the commits are those of shared/data/README.md). A mirror
(`base_url`) serves each archive under the same path as the official URL, e.g. `<base>/~hendrycks/data.tar`.
Only files listed in a spec are extracted, each one only when its sha256 matches (a mismatch is refused and
reported); the directory is then verified with `evaluators.manifest`. Benchmarks already intact are skipped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from evaluators import catalog
from evaluators.loaders import resolve_data_path
from evaluators.manifest import sha256_file, verify

MAX_MEMBER_BYTES = 64 << 20  # no benchmark file is near this; guards against archive bombs
TIMEOUT_S = 60


@dataclass(frozen=True)
class Archive:
    url: str
    strip_components: int  # leading path parts to drop from member names (GitHub's "<repo>-<commit>/")
    prefix: str  # where the remaining member path goes, relative to the data dir


ARCHIVES: dict[str, Archive] = {
    "mmlu": Archive("https://people.eecs.berkeley.edu/~hendrycks/data.tar", 0, "mmlu/"),
    "cmmlu": Archive(
        "https://github.com/haonan-li/CMMLU/archive/d6e7b716d8ac694f38969a6c0407437d1fded799.tar.gz", 1, "cmmlu/"
    ),
    "agieval": Archive(
        "https://github.com/ruixiangcui/AGIEval/archive/5c77d073fda993f1652eaae3cf5d04cc5fd21d40.tar.gz", 1, "agieval/"
    ),
    "gaokao": Archive(
        "https://github.com/OpenLMLab/GAOKAO-Bench/archive/6dbb24f8d8439041e5431c4c184a582182a6ce9c.tar.gz",
        1,
        "gaokao/",
    ),
    "ceval": Archive("https://huggingface.co/datasets/ceval/ceval-exam/resolve/main/ceval-exam.zip", 0, "ceval/"),
}


@dataclass
class FetchResult:
    benchmark: str
    written: int = 0
    skipped: bool = False  # every file was already present and intact
    problems: list[str] = field(default_factory=list)


def archive_url(archive: Archive, base_url: str | None = None) -> str:
    if not base_url:
        return archive.url
    return base_url.rstrip("/") + urlsplit(archive.url).path


def member_target(archive: Archive, name: str) -> str | None:
    """The data-dir-relative path an archive member maps to (None when the name is too short)."""
    parts = [p for p in PurePosixPath(name).parts if p not in (".", "/")]
    if len(parts) <= archive.strip_components:
        return None
    return archive.prefix + "/".join(parts[archive.strip_components :])


def _download(url: str, target: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, target.open("wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ValueError(f"download of {url} failed: {exc}") from exc


def _members(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, content) of every regular file in a zip or (compressed) tar archive."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir() and info.file_size <= MAX_MEMBER_BYTES:
                    yield info.filename, archive.read(info)
        return
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                if member.isfile() and member.size <= MAX_MEMBER_BYTES:
                    handle = archive.extractfile(member)
                    if handle is not None:
                        yield member.name, handle.read()
    except tarfile.TarError as exc:
        raise ValueError(f"{path.name} is not a readable tar or zip archive: {exc}") from exc


def _write(data_dir: Path, relative: str, content: bytes) -> None:
    target = (data_dir / relative).resolve()
    if not target.is_relative_to(data_dir):
        raise ValueError(f"archive path {relative!r} escapes the data directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".part")
    temporary.write_bytes(content)
    os.replace(temporary, target)


def _intact(data_dir: Path, wanted: dict[str, str]) -> bool:
    for relative, sha in wanted.items():
        try:
            if sha256_file(resolve_data_path(data_dir, relative)) != sha:
                return False
        except ValueError:
            return False
    return True


def fetch_benchmark(name: str, data_dir: Path, base_url: str | None = None) -> FetchResult:
    """Download one benchmark's archive and extract its intact files; problems are reported, not raised."""
    spec, archive = catalog.load_spec(name), ARCHIVES[name]
    wanted = {entry.path: entry.sha256 for entry in spec.files}
    result = FetchResult(name)
    if _intact(data_dir, wanted):
        result.skipped = True
        return result
    url = archive_url(archive, base_url)
    found: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="cbench-fetch-") as tmp:
        download = Path(tmp) / "archive"
        try:
            _download(url, download)
            for member, content in _members(download):
                relative = member_target(archive, member)
                if relative not in wanted or relative in found:
                    continue
                found.add(relative)
                actual = hashlib.sha256(content).hexdigest()
                if actual != wanted[relative]:
                    result.problems.append(f"{name}: {relative}: sha256 mismatch in {url} (found {actual[:12]}…); not written")
                    continue
                _write(data_dir, relative, content)
                result.written += 1
        except ValueError as exc:
            result.problems.append(f"{name}: {exc}")
            return result
    result.problems += [f"{name}: {relative}: not in {url}" for relative in sorted(set(wanted) - found)]
    return result


@dataclass
class FetchReport:
    results: list[FetchResult]
    problems: list[str]  # download/extraction problems, else what the final verification found


def fetch(data_dir: Path | str, benchmarks: Iterable[str] = catalog.BENCHMARKS, base_url: str | None = None) -> FetchReport:
    """Fetch the benchmarks into `data_dir` (created if needed), then verify them."""
    names = list(benchmarks)
    for name in names:
        catalog.load_spec(name)  # unknown benchmark -> ValueError naming the valid ones
    root = Path(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    results = [fetch_benchmark(name, root, base_url) for name in names]
    problems = [line for result in results for line in result.problems]
    if not problems:
        problems = verify(root, names).problems
    return FetchReport(results, problems)
