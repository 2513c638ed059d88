"""`make serve` as production runs it: real processes, real sockets, the real Redis."""

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.conftest import REAL_REDIS_URL, require_real_redis
from tests.redis_servers import spare_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
API = "/agent-conversations/api"
FRAME_WITHIN = 1.0  # seconds from the HTTP answer to the frame


class Server:
    """One `make serve` (granian and its workers), stopped as a process group."""

    def __init__(self, workers: int) -> None:
        self.port = spare_port()
        env = {
            **os.environ,
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            "REDIS_URL": REAL_REDIS_URL,
            "SECRET_KEY": "serve-tests-only",
            "ELEVENLABS_AGENT_ENABLED": "true",
        }
        self.process = subprocess.Popen(
            ["make", "-s", "serve"], cwd=ROOT, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: self.get("/health")["status"] == "ok", timeout=30, what="make serve")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url(path), timeout=5) as response:
            return json.load(response)

    def post(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(
            self.url(path), json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def socket(self, conversation_id: str):
        return connect(
            f"ws://127.0.0.1:{self.port}{API}/ws?conversationId={conversation_id}",
            open_timeout=5,
        )

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def serve(real_redis_db) -> Iterator[type[Server]]:
    require_real_redis()
    started: list[Server] = []

    def start(workers: int) -> Server:
        server = Server(workers)
        started.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in started:
        server.stop()


def next_frame(socket) -> dict:
    return json.loads(socket.recv(timeout=FRAME_WITHIN))


def test_an_append_over_http_reaches_sockets_on_every_worker_within_1s(serve):
    server = serve(workers=2)
    conversation_id = server.post(f"{API}/new", {})["conversationId"]
    # Eight sockets: granian spreads connections over both workers.
    sockets = [server.socket(conversation_id) for _ in range(8)]
    for socket in sockets:
        assert next_frame(socket)["type"] == "agent_conversation.snapshot"

    for n in range(3):
        added = server.post(f"{API}/{conversation_id}/message", {"role": "user", "content": f"{n}"})
        answered = time.monotonic()
        for socket in sockets:
            frame = next_frame(socket)
            assert frame["type"] == "agent_conversation.updated"
            assert frame["message"]["messageId"] == added["messageId"]
        assert time.monotonic() - answered < FRAME_WITHIN
    for socket in sockets:
        socket.close()


def test_a_write_on_one_instance_reaches_a_socket_on_another(serve):
    watching, writing = serve(workers=1), serve(workers=1)
    conversation_id = writing.post(f"{API}/new", {})["conversationId"]

    with watching.socket(conversation_id) as socket:
        assert next_frame(socket)["type"] == "agent_conversation.snapshot"
        added = writing.post(f"{API}/{conversation_id}/message", {"role": "user", "content": "x"})

        frame = next_frame(socket)

    assert frame["message"]["messageId"] == added["messageId"]
