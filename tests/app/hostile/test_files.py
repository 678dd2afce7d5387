"""Files and references: unreadable safetensors, Hub ids and revisions that climb, devices and lengths the
worker would only fail on later."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from .conftest import job_count, model_count, refused


def _safetensors_random(path: Path) -> None:
    path.write_bytes(os.urandom(4096))


def _safetensors_truncated(path: Path) -> None:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header[: len(header) // 2])


def _safetensors_huge_header(path: Path) -> None:
    path.write_bytes(struct.pack("<Q", 2**63 + 12345) + b"{}")


def _safetensors_short(path: Path) -> None:
    path.write_bytes(b"\x01\x02")


def _safetensors_not_an_object(path: Path) -> None:
    header = b"[1, 2, 3]"
    path.write_bytes(struct.pack("<Q", len(header)) + header)


def _safetensors_bad_shape(path: Path) -> None:
    header = json.dumps({"w": {"dtype": "F32", "shape": "huge", "data_offsets": [0, 0]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header)


@pytest.mark.parametrize("corrupt", [_safetensors_random, _safetensors_truncated, _safetensors_huge_header,
                                     _safetensors_short, _safetensors_not_an_object, _safetensors_bad_shape])
def test_unreadable_safetensors_is_422(register, client: TestClient, auth: dict[str, str], model_dir: Path,
                                       corrupt) -> None:
    corrupt(model_dir / "model.safetensors")
    refused(register(name="m"), 422, "unreadable safetensors file", "model.safetensors")
    body = {"run": "r", "step": 1, "tokens_seen": 1, "path": str(model_dir)}
    refused(client.post("/api/v1/checkpoints", json=body, headers=auth), 422, "unreadable safetensors file")
    assert model_count(client) == 0


@pytest.mark.parametrize("path", ["a/..", "../..", "a/b/../../etc", "a--b/c", "-a/b", "a/.b", "a/b.", ".."])
def test_hub_ids_that_climb_or_break_hub_rules_are_refused(register, client: TestClient, path: str) -> None:
    assert register(name="m", path=path).status_code == 422
    assert model_count(client) == 0


def test_a_valid_hub_id_is_recorded(register) -> None:
    response = register(name="m", path="my-org/Llama-2_7b.v1", revision="refs/pr/1")
    assert response.status_code == 201, response.text
    assert response.json()["source"] == "hub" and response.json()["revision"] == "refs/pr/1"


@pytest.mark.parametrize("revision", ["../../etc", "main/../../x", "/abs", ".hidden", "a b", "a\u0000", "x//y", ""])
def test_revisions_that_climb_are_refused(register, client: TestClient, revision: str) -> None:
    refused(register(name="m", path="my-org/model", revision=revision), 422, "revision")
    assert model_count(client) == 0


@pytest.mark.parametrize(("options", "field"), [
    ({"device": "quantum:7"}, "options.device"), ({"device": "cuda:abc"}, "options.device"),
    ({"device": "cpu; rm -rf /"}, "options.device"), ({"subjects": []}, "options.subjects"),
    ({"subjects": ["anatomy", "anatomy"]}, "options.subjects"), ({"max_length": 16}, "options.max_length"),
    ({"max_length": 10**9}, "options.max_length"), ({"dtype": "int4"}, "options.dtype"),
    ({"limit": 0}, "options.limit"), ({"backend": "x" * 500}, "options.backend"),
])
def test_options_the_worker_would_fail_on_are_refused(register, client: TestClient, auth: dict[str, str],
                                                      options: dict, field: str) -> None:
    model = register(name="m").json()["id"]
    refused(client.post("/api/v1/jobs", json={"model": model, "benchmarks": ["mmlu"], "options": options},
                        headers=auth), 422, field)
    assert job_count(client) == 0


@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:1", "auto", "mps"])
def test_valid_devices_are_accepted(register, client: TestClient, auth: dict[str, str], device: str) -> None:
    model = register(name="m").json()["id"]
    response = client.post("/api/v1/jobs", json={"model": model, "benchmarks": ["mmlu"], "options": {
        "device": device, "subjects": ["anatomy"], "max_length": 2048}}, headers=auth)
    assert response.status_code == 201, response.text
