"""The outbox against a real local HTTP server on 127.0.0.1: down first, then up; each entry sent once."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from trainer.checkpoints import FORMAT, SIDECAR
from trainer.registration import (
    FAILED,
    OUTBOX,
    SENT,
    EvalRequest,
    flush,
    register_checkpoint,
    registration_body,
)


class Recorder(BaseHTTPRequestHandler):
    received: list = []
    status = 201

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append({"path": self.path, "auth": self.headers["Authorization"], "body": body})
        model = {"id": len(self.received), "name": "m", "path": body["path"], "source": "local"}
        payload = json.dumps({"model": model, "jobs": []} if self.status < 400 else {"detail": "no"}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_checkpoint(save_dir, step):
    path = save_dir / f"epoch-0_step-{step}"
    path.mkdir(parents=True)
    (path / SIDECAR).write_text(json.dumps({"format": FORMAT, "step": step, "tokens_seen": step * 100}))
    return path


@pytest.fixture
def server_port():
    port = free_port()
    servers = []

    def start(status=201):
        Recorder.received, Recorder.status = [], status
        server = ThreadingHTTPServer(("127.0.0.1", port), Recorder)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return Recorder.received

    yield port, start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_body_comes_from_the_sidecar(tmp_path):
    checkpoint = make_checkpoint(tmp_path, 3)
    body = registration_body(checkpoint, "cpt-zh", EvalRequest(("cmmlu",), limit=5, subjects=("agronomy",), tags=("a",),
                                                                description="stage 1"))
    assert body == {"run": "cpt-zh", "step": 3, "tokens_seen": 300, "path": str(checkpoint.resolve()),
                    "benchmarks": ["cmmlu"], "template": "colossaleval",
                    "options": {"limit": 5, "subjects": ["agronomy"]}, "tags": ["a"], "description": "stage 1",
                    "contamination_index": None}
    assert registration_body(checkpoint, "r", EvalRequest())["options"] == {"limit": None, "subjects": None}


def test_body_carries_the_contamination_index_of_the_training_data(tmp_path):
    checkpoint = make_checkpoint(tmp_path, 4)
    sidecar = json.loads((checkpoint / SIDECAR).read_text())
    sidecar["data_manifest"] = {"tokens": 10, "contamination_index": "0123456789abcdef"}
    (checkpoint / SIDECAR).write_text(json.dumps(sidecar))
    assert registration_body(checkpoint, "r", EvalRequest())["contamination_index"] == "0123456789abcdef"


def test_outbox_waits_while_the_server_is_down_then_sends_each_entry_once(tmp_path, server_port):
    port, start = server_port
    url = f"http://127.0.0.1:{port}"
    request = EvalRequest(benchmarks=("cmmlu",))
    first = register_checkpoint(make_checkpoint(tmp_path, 1), tmp_path, url, "tok", "run", request)
    assert (first.sent, first.pending) == (0, 1) and "unreachable" in first.last_error
    received = start()
    second = register_checkpoint(make_checkpoint(tmp_path, 2), tmp_path, url, "tok", "run", request)
    assert (second.sent, second.pending) == (2, 0)
    assert [r["body"]["step"] for r in received] == [1, 2]
    assert all(r["path"] == "/api/v1/checkpoints" and r["auth"] == "Bearer tok" for r in received)
    # flushing again, or re-registering a sent checkpoint, sends nothing
    assert flush(tmp_path, url, "tok").sent == 0
    assert register_checkpoint(tmp_path / "epoch-0_step-1", tmp_path, url, "tok", "run", request).sent == 0
    assert len(received) == 2
    assert (tmp_path / OUTBOX).read_text() == ""
    assert len((tmp_path / SENT).read_text().splitlines()) == 2


def test_conflict_counts_as_sent_and_a_rejection_is_set_aside(tmp_path, server_port):
    port, start = server_port
    start(status=409)
    result = register_checkpoint(make_checkpoint(tmp_path, 1), tmp_path, f"http://127.0.0.1:{port}", "t", "r",
                                 EvalRequest())
    assert result.sent == 1
    Recorder.status = 422
    result = register_checkpoint(make_checkpoint(tmp_path, 2), tmp_path, f"http://127.0.0.1:{port}", "t", "r",
                                 EvalRequest())
    assert (result.sent, result.pending, result.failed) == (0, 0, 1) and "422" in result.last_error
    assert json.loads((tmp_path / FAILED).read_text())["body"]["step"] == 2


def test_a_hanging_server_costs_one_timeout_per_flush(tmp_path, monkeypatch):
    """A server that accepts connections but never answers must not stall training once per pending entry."""
    import trainer.registration as registration

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # accepts (kernel backlog) but never responds
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    calls = []
    real_post = registration.post

    def short_post(server, token, body, timeout=10.0):
        calls.append(body["step"])
        return real_post(server, token, body, timeout=0.3)

    monkeypatch.setattr(registration, "post", short_post)
    try:
        for step in (1, 2, 3):
            enqueue_body = registration.registration_body(make_checkpoint(tmp_path, step), "run", EvalRequest())
            registration.enqueue(tmp_path, enqueue_body)
        result = flush(tmp_path, url, "tok")
    finally:
        listener.close()
    assert (result.sent, result.pending) == (0, 3) and "unreachable" in result.last_error
    assert calls == [1]
