"""`cbench token create --admin`, as a real process: only an admin token may subscribe webhooks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app

REPO_ROOT = Path(__file__).resolve().parents[3]


def _token(db_url: str, cwd: Path, *extra: str) -> str:
    environment = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-m", "cbench.main", "token", "create", "--name", "ops", *extra],
                            cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_only_an_admin_token_subscribes(db_url: str, tmp_path: Path) -> None:
    admin, plain = _token(db_url, tmp_path, "--admin"), _token(db_url, tmp_path)
    app = create_app(Settings(_env_file=None, database_url=db_url, model_roots=str(tmp_path)))
    body = {"url": "http://127.0.0.1:9/hook", "events": ["job.failed"], "secret": "z" * 16}
    try:
        with TestClient(app) as client:
            assert client.post("/api/v1/webhooks", json=body,
                               headers={"Authorization": f"Bearer {plain}"}).status_code == 403
            assert client.post("/api/v1/webhooks", json=body,
                               headers={"Authorization": f"Bearer {admin}"}).status_code == 201
    finally:
        app.state.engine.dispose()
