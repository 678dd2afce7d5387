"""Encoding: NUL bytes, control and bidi characters, normalisation, numeric look-alikes, bodies that are not JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from .conftest import job_count, model_count, refused


@pytest.mark.parametrize("field", ["name", "path", "description", "training_run"])
def test_nul_byte_is_refused_naming_the_field(register, client: TestClient, model_dir: Path, field: str) -> None:
    fields = {"name": "m", "path": str(model_dir), field: (str(model_dir) if field == "path" else "x") + "\u0000"}
    refused(register(**fields), 422, field, "NUL")
    assert model_count(client) == 0


def test_nul_byte_in_a_tag_and_a_checkpoint_path(register, client: TestClient, auth: dict[str, str],
                                                 model_dir: Path) -> None:
    refused(register(name="m", tags=["ok", "b\u0000d"]), 422, "tags.1", "NUL")
    body = {"run": "r", "step": 1, "tokens_seen": 1, "path": f"{model_dir}\u0000"}
    refused(client.post("/api/v1/checkpoints", json=body, headers=auth), 422, "path", "NUL")
    assert model_count(client) == 0


@pytest.mark.parametrize("char", ["\u0007", "\u001b", "\u0085", "\u202e", "\u2066", "\u200f"])
def test_control_and_bidi_characters_in_names_are_refused(register, client: TestClient, char: str) -> None:
    detail = refused(register(name=f"evil{char}name"), 422, "name")
    assert f"U+{ord(char):04X}" in detail
    refused(register(name="ok", tags=[f"t{char}x"]), 422, "tags.0")
    assert model_count(client) == 0


def test_descriptions_keep_line_breaks_but_not_bidi(register) -> None:
    assert register(name="m", description="line one\nline two\ttab").status_code == 201
    refused(register(name="m2", description="hello \u202egnp.exe"), 422, "description", "U+202E")


@pytest.mark.parametrize("name", ["", "   ", "\u3000", "\t"])
def test_empty_or_whitespace_names_are_refused(register, client: TestClient, name: str) -> None:
    refused(register(name=name), 422, "name")
    assert model_count(client) == 0


def test_names_are_nfkc_normalised_and_trimmed(register) -> None:
    response = register(name="  \uff2c\uff4c\uff41\uff4d\uff41-7b  ", tags=["  \ufb01ne "])  # fullwidth, ligature
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Llama-7b" and response.json()["tags"] == ["fine"]


@pytest.mark.parametrize("name", ["2", "\u0663", "\u00b2", "12345"])
def test_all_digit_names_are_refused(register, client: TestClient, name: str) -> None:
    refused(register(name=name), 422, "name", "digits")
    assert model_count(client) == 0


def test_model_references_are_unambiguous(register, client: TestClient, auth: dict[str, str]) -> None:
    first = register(name="first").json()
    second = register(name="second").json()
    jobs = {"benchmarks": ["mmlu"], "options": {"limit": 1}}
    by_ascii = client.post("/api/v1/jobs", json={"model": str(second["id"]), **jobs}, headers=auth)
    assert by_ascii.status_code == 201 and by_ascii.json()["data"][0]["model_id"] == second["id"]
    by_name = client.post("/api/v1/jobs", json={"model": "FIRST", **jobs}, headers=auth)  # names ignore case
    assert by_name.status_code == 201 and by_name.json()["data"][0]["model_id"] == first["id"]
    for lookalike in ("\u00b2", "\u0662", "\uff12"):  # superscript two, Arabic-Indic two, fullwidth two
        refused(client.post("/api/v1/jobs", json={"model": lookalike, **jobs}, headers=auth), 422, "model")
    refused(client.post("/api/v1/jobs", json={"model": True, **jobs}, headers=auth), 422, "model")
    refused(client.post("/api/v1/jobs", json={"model": 2.0, **jobs}, headers=auth), 422, "model")
    assert client.post("/api/v1/jobs", json={"model": "99999999999", **jobs}, headers=auth).status_code == 404
    assert job_count(client) == 2


def test_malformed_json_says_json_and_names_the_fields(client: TestClient, auth: dict[str, str]) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    detail = refused(client.post("/api/v1/models", content=b'{"name": "m", path}', headers=headers), 422,
                     "not valid JSON", "application/json", "name", "path")
    assert "position" in detail


def test_text_plain_body_says_json_is_required(client: TestClient, auth: dict[str, str], model_dir: Path) -> None:
    body = f'{{"name": "m", "path": "{model_dir}"}}'.encode()
    refused(client.post("/api/v1/models", content=body, headers={**auth, "Content-Type": "text/plain"}), 422,
            "text/plain", "application/json", "name", "path")
    assert model_count(client) == 0


def test_empty_body_says_json_is_required(client: TestClient, auth: dict[str, str]) -> None:
    refused(client.post("/api/v1/jobs", headers=auth), 422, "empty", "JSON", "model", "benchmarks")
    refused(client.post("/api/v1/jobs", json=[1, 2], headers=auth), 422, "JSON object", "model")
