"""clients/browser/push-relay.js under Node, against a real `make serve`: a tool call, then
cursor-runner's callback, reach the voice agent (a fake SDK conversation) once, acknowledged."""

import json
import queue
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve_process import Server
from tests.support import API, require_program

ROOT = Path(__file__).resolve().parent.parent
SECRET = "relay-secret"
WAIT = 5  # seconds an event may take (they take milliseconds)


class Relay:
    """tests/clients/relay.mjs in a Node process; its events, one JSON line each."""

    def __init__(self, server: Server, conversation_id: str, *options: str) -> None:
        node = require_program("node", "Debian: apt-get install nodejs")
        self.process = subprocess.Popen(
            [node, "--experimental-websocket", "--no-warnings", "tests/clients/relay.mjs",
             server.url(""), conversation_id, *options],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.put(json.loads(line))

    def next(self) -> dict[str, Any]:
        return self.events.get(timeout=WAIT)

    def stop(self) -> list[dict[str, Any]]:
        """End the relay; the events it printed that were not read yet."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=WAIT)
        self.reader.join(timeout=WAIT)  # it reads to the end of what the process wrote
        assert self.process.stdout is not None
        self.process.stdout.close()
        rest = []
        while not self.events.empty():
            rest.append(self.events.get())
        return rest


@pytest.fixture
def service(serve, fake_http) -> Server:
    """`make serve` with a fake cursor-runner that takes every task."""
    fake_http.answer(200, '{"success": true, "queued": true}')
    return serve(workers=1, WEBHOOK_SECRET=SECRET, CURSOR_RUNNER_URL=fake_http.url)


@pytest.fixture
def relayed(service) -> Iterator[tuple[Server, str, list[Relay]]]:
    conversation_id = service.post(f"{API}/new", {})["conversationId"]
    session = {"sessionUrl": "wss://api.elevenlabs.io/v1/convai/conversation?x=1"}
    service.post(f"{API}/{conversation_id}/session", session)
    relays: list[Relay] = []
    yield service, conversation_id, relays
    for relay in relays:
        if relay.process.poll() is None:
            relay.stop()


def finish_a_task(service: Server, conversation_id: str) -> str:
    """A tool call, then cursor-runner's callback: the task's deliveryId."""
    call = {"tool_name": "run_tests", "conversation_id": conversation_id}
    request_id = service.post("/agent-tools", call, **{"X-Webhook-Secret": SECRET})["result"][
        "requestId"
    ]
    done = {"success": True, "requestId": request_id, "output": "All 42 tests passed."}
    service.post("/callback", done, **{"X-Webhook-Secret": SECRET})
    return f"task:{request_id}"


def assert_settled(service: Server, conversation_id: str) -> None:
    """A new socket is offered no push: it was acknowledged."""
    with service.socket(conversation_id) as socket:
        assert json.loads(socket.recv(timeout=WAIT))["type"] == "agent_conversation.snapshot"
        socket.send(json.dumps({"type": "ping"}))
        assert json.loads(socket.recv(timeout=WAIT)) == {"type": "pong"}


def test_a_finished_task_is_relayed_to_the_agent_once_and_acknowledged(relayed):
    service, conversation_id, relays = relayed
    relay = Relay(service, conversation_id)
    relays.append(relay)
    assert relay.next() == {"open": 1}

    delivery_id = finish_a_task(service, conversation_id)

    assert relay.next() == {"relayed": "run tests is done. All 42 tests passed."}
    # The acknowledgement, exactly as docs/live-updates.md gives it.
    assert relay.next() == {"sent": {"type": "agent_session.ack", "deliveryId": delivery_id}}
    assert_settled(service, conversation_id)
    assert relay.stop() == []  # nothing relayed twice


def test_a_push_lost_with_its_socket_is_relayed_once_after_reconnecting(relayed):
    service, conversation_id, relays = relayed
    relay = Relay(service, conversation_id, "--drop-first-push")
    relays.append(relay)
    assert relay.next() == {"open": 1}

    delivery_id = finish_a_task(service, conversation_id)

    assert relay.next() == {"dropped": delivery_id}
    assert relay.next() == {"open": 2}  # backoff, then a new socket: offered again
    assert relay.next() == {"relayed": "run tests is done. All 42 tests passed."}
    assert relay.next() == {"sent": {"type": "agent_session.ack", "deliveryId": delivery_id}}
    assert_settled(service, conversation_id)
    assert relay.stop() == []
