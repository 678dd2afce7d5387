"""`evaluators.fetch` and `cbench data fetch` against archives served from 127.0.0.1 (never the network).

The archives are built in a temporary directory from the real files, laid out like the official ones (MMLU
`data.tar`, GitHub `<repo>-<commit>/` tarballs, C-Eval `ceval-exam.zip`), under the official URL paths.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cbench.main import main
from evaluators import catalog
from evaluators.fetch import ARCHIVES, Archive, archive_url, fetch, member_target
from evaluators.manifest import verify

GAOKAO_BIOLOGY = "gaokao/Data/Objective_Questions/2010-2022_Biology_MCQs.json"


def _archive_root(name: str) -> str:
    """GitHub tarballs hold everything under `<Repo>-<commit>/`."""
    archive = ARCHIVES[name]
    if not archive.strip_components:
        return ""
    parts = urlsplit(archive.url).path.split("/")  # /owner/repo/archive/<commit>.tar.gz
    return f"{parts[2]}-{parts[4].removesuffix('.tar.gz')}/"


def build_archive(name: str, data_dir: Path, mirror: Path, *, replace: dict[str, bytes | None] | None = None) -> None:
    """Write benchmark `name`'s archive under `mirror`, from every file of its data folder (extras included).
    `replace` maps data-dir-relative paths to other content, or to None to leave the file out."""
    archive, replace = ARCHIVES[name], replace or {}
    source = data_dir / archive.prefix.rstrip("/")
    files = {}
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = path.relative_to(data_dir).as_posix()
        content = replace.get(relative, path.read_bytes())
        if content is not None:
            files[_archive_root(name) + path.relative_to(source).as_posix()] = content
    target = mirror / urlsplit(archive.url).path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.name.endswith(".zip"):
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
            for member, content in files.items():
                out.writestr(member, content)
        return
    mode = "w:gz" if target.name.endswith(".gz") else "w"
    with tarfile.open(target, mode, **({"compresslevel": 1} if mode == "w:gz" else {})) as out:
        for member, content in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(content)
            out.addfile(info, io.BytesIO(content))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def _serve(root: Path) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 (free port) serving `root`; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def mirror(data_dir: Path, tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mirror")
    for name in catalog.BENCHMARKS:
        build_archive(name, data_dir, root)
    with _serve(root) as url:
        yield url


@pytest.fixture
def small_mirror(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "mirror"
    root.mkdir()
    with _serve(root) as url:
        yield root, url


def test_archive_table_and_mapping():
    assert set(ARCHIVES) == set(catalog.BENCHMARKS)
    assert archive_url(ARCHIVES["mmlu"]) == "https://people.eecs.berkeley.edu/~hendrycks/data.tar"
    assert archive_url(ARCHIVES["mmlu"], "http://127.0.0.1:9/m/") == "http://127.0.0.1:9/m/~hendrycks/data.tar"
    gh = Archive("https://github.com/o/r/archive/abc.tar.gz", 1, "cmmlu/")
    assert member_target(gh, "r-abc/data/dev/x.csv") == "cmmlu/data/dev/x.csv"
    assert member_target(gh, "r-abc") is None
    assert member_target(ARCHIVES["mmlu"], "./data/test/a_test.csv") == "mmlu/data/test/a_test.csv"
    for name in ("cmmlu", "agieval", "gaokao"):  # the commits are those of shared/data/README.md
        assert catalog.load_spec(name).source.commit in ARCHIVES[name].url


def test_fetch_everything_then_skip(mirror: str, tmp_path: Path):
    target = tmp_path / "data"
    report = fetch(target, base_url=mirror)
    assert report.problems == []
    assert {r.benchmark: r.written for r in report.results} == {
        name: len(catalog.load_spec(name).files) for name in catalog.BENCHMARKS}
    assert verify(target).ok
    assert not (target / "mmlu" / "data" / "val").exists()  # only the needed files are extracted
    assert not (target / "cmmlu" / "mapping.json").exists()
    again = fetch(target, base_url=mirror)
    assert again.problems == [] and all(r.skipped and r.written == 0 for r in again.results)


def test_cli_fetch(mirror: str, tmp_path: Path, capsys):
    target = tmp_path / "d"
    assert main(["data", "fetch", "--data-dir", str(target), "--benchmarks", "gaokao", "--base-url", mirror]) == 0
    assert capsys.readouterr().out.splitlines() == ["gaokao: 7 files written", f"ok: data verified in {target}"]
    assert main(["data", "verify", "--data-dir", str(target), "--benchmarks", "gaokao"]) == 0


def test_checksum_mismatch_is_refused(small_mirror, data_dir: Path, tmp_path: Path, capsys):
    root, url = small_mirror
    build_archive("gaokao", data_dir, root, replace={GAOKAO_BIOLOGY: b'{"example": []}'})
    target = tmp_path / "d"
    code = main(["data", "fetch", "--data-dir", str(target), "--benchmarks", "gaokao", "--base-url", url])
    assert code == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "gaokao: 6 files written"
    assert out[1].startswith(f"gaokao: {GAOKAO_BIOLOGY}: sha256 mismatch in {url}/OpenLMLab/GAOKAO-Bench/archive/")
    assert out[1].endswith("; not written")
    assert not (target / GAOKAO_BIOLOGY).exists()


def test_missing_member_and_missing_archive(small_mirror, data_dir: Path, tmp_path: Path):
    root, url = small_mirror
    build_archive("gaokao", data_dir, root, replace={GAOKAO_BIOLOGY: None})
    report = fetch(tmp_path / "d", ["gaokao", "agieval"], base_url=url)
    assert report.problems[0].startswith(f"gaokao: {GAOKAO_BIOLOGY}: not in {url}/")
    assert report.problems[1].startswith(f"agieval: download of {url}/ruixiangcui/AGIEval/archive/")
    assert "404" in report.problems[1]


def test_not_an_archive(small_mirror, tmp_path: Path):
    root, url = small_mirror
    target = root / urlsplit(ARCHIVES["gaokao"].url).path.lstrip("/")
    target.parent.mkdir(parents=True)
    target.write_bytes(b"<html>not a tarball</html>")
    report = fetch(tmp_path / "d", ["gaokao"], base_url=url)
    assert len(report.problems) == 1 and "is not a readable tar or zip archive" in report.problems[0]


def test_unknown_benchmark_is_bad_input(tmp_path: Path, capsys):
    assert main(["data", "fetch", "--data-dir", str(tmp_path), "--benchmarks", "nope"]) == 2
    assert "unknown benchmark 'nope'" in capsys.readouterr().err
