"""`cbench serve --demo` on a machine without the benchmark data stops with one message saying how to get it."""

from __future__ import annotations

from pathlib import Path

from .test_server_commands import cbench


def test_demo_without_data_says_how_to_get_it(tmp_path: Path) -> None:
    result = cbench("serve", "--demo", "--port", "0", db_url=f"sqlite:///{tmp_path / 'cbench.db'}", cwd=tmp_path,
                    CBENCH_DATA_DIR=str(tmp_path / "no-data"), CBENCH_MODEL_ROOTS=str(tmp_path / "models"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("cbench serve: error:")]
    assert len(lines) == 1, result.stderr[-2000:]
    assert "--demo needs the benchmark data in CBENCH_DATA_DIR=" in lines[0]
    assert "cbench data fetch --data-dir ./var/data" in lines[0]
    assert "Traceback" not in result.stderr
