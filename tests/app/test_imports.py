"""The API process must not import torch."""

from __future__ import annotations

import subprocess
import sys


def test_app_import_does_not_load_torch() -> None:
    code = ("import sys; from app.main import create_app; import app.api.main, app.worker.loop, app.demo, app.demo_training; "
            "import cbench.commands.server; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
