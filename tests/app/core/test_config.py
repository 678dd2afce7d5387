"""Settings read the documented environment variables, and `.env.example` documents every one of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[3]


def env_names() -> set[str]:
    return {alias.choices[0] for alias in (f.validation_alias for f in Settings.model_fields.values())}


def test_every_setting_is_in_env_example() -> None:
    documented = {line.split("=", 1)[0] for line in (REPO_ROOT / ".env.example").read_text().splitlines()
                  if line and not line.startswith("#")}
    assert env_names() == documented


def test_environment_and_normalisation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("CBENCH_MODEL_ROOTS", f"{tmp_path}:{tmp_path}/b")
    monkeypatch.setenv("CBENCH_ALLOW_REMOTE_CODE", "1")
    settings = Settings(_env_file=None)
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.model_root_paths == [tmp_path.resolve(), (tmp_path / "b").resolve()]
    assert settings.allow_remote_code is True


def test_remote_code_is_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CBENCH_ALLOW_REMOTE_CODE", raising=False)
    assert Settings(_env_file=None).allow_remote_code is False
