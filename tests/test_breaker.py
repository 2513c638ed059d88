"""A frozen, stopped or slow Redis under `make serve` (2 workers): every answer within its promise
however many clients wait at once, `/health` never behind Redis, nothing acknowledged lost."""

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from websockets.sync.client import ClientConnection

from tests.redis_servers import DelayingProxy, RedisServer
from tests.serve_process import Answer, Server
from tests.support import API, run_concurrently, spare_port

CLIENTS = 64
OUTAGE_SECONDS = 5
STORAGE_UNAVAILABLE = {"success": False, "error": "Storage unavailable"}


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    """A private Redis that keeps every acknowledged write across a restart."""
    server = RedisServer(
        tmp_path, spare_port(), "--save", "", "--appendonly", "yes", "--appendfsync", "always"
    ).start()
    yield server
    server.process.send_signal(signal.SIGCONT)  # a test that failed while it was frozen
    server.stop()


@pytest.fixture
def start_service() -> Iterator[Callable[[int], Server]]:
    started: list[Server] = []

    def start(redis_port: int) -> Server:
        started.append(Server(2, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0"))
        return started[-1]

    yield start
    for server in started:
        server.stop()


# Polls GET /health every 20 ms and prints how long each answer took, until stdin closes.
# A process of its own: in this one, the 64 client threads would delay it for their GIL.
HEALTH_WATCH = """
import http.client, sys, threading, time
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
while not stop.wait(0.02):
    connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
    began = time.monotonic()
    connection.request("GET", "/health")
    assert connection.getresponse().status == 200
    print(time.monotonic() - began, flush=True)
    connection.close()
"""


@contextmanager
def health_watch(service: Server) -> Iterator[list[float]]:
    """The seconds each GET /health took while the block ran (filled in as it ends)."""
    seconds: list[float] = []
    watcher = subprocess.Popen(
        [sys.executable, "-c", HEALTH_WATCH, str(service.port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        yield seconds
    finally:
        output, _ = watcher.communicate("", timeout=10)
    assert watcher.returncode == 0
    seconds += [float(line) for line in output.split()]
    assert seconds, "no /health answer at all"


def append(service: Server, conversation_id: str, message_id: str) -> Answer:
    body = {"role": "user", "content": message_id, "messageId": message_id}
    return service.call("POST", f"{API}/{conversation_id}/message", body)


def clients_at_once(service: Server, conversation_id: str, round_: int) -> list[Answer]:
    """CLIENTS requests at once: half appends, half reads of the conversation."""

    def request(client: int) -> Answer:
        if client % 2:
            return append(service, conversation_id, f"r{round_}-{client}")
        return service.call("GET", f"{API}/{conversation_id}")

    return run_concurrently(request, CLIENTS)


def assert_prompt_503s(answers: list[Answer]) -> None:
    for answer in answers:
        assert answer.status == 503
        assert answer.body == STORAGE_UNAVAILABLE
        assert int(answer.headers["Retry-After"]) > 0
    assert max(answer.seconds for answer in answers) < 1.0


def first_success_after(service: Server, conversation_id: str, since: float) -> float:
    """Seconds from `since` until an append succeeds (appending through the whole wait)."""
    n = 0
    while append(service, conversation_id, f"after-{n}").status != 200:
        n += 1
        assert time.monotonic() - since < 5, "the service did not recover"
    return time.monotonic() - since


def stored_ids(service: Server, conversation_id: str) -> list[str]:
    """The conversation's message ids, read as soon as a worker answers (each worker's breaker
    sees Redis back on its own, within 1 s)."""
    deadline = time.monotonic() + 1
    while (answer := service.call("GET", f"{API}/{conversation_id}")).status != 200:
        assert time.monotonic() < deadline, answer
    return [message["messageId"] for message in answer.body["messages"]]


def acknowledged_before(service: Server) -> tuple[str, list[str]]:
    """A new conversation and the ids of the messages appended to it."""
    conversation_id = service.call("POST", f"{API}/new").body["conversationId"]
    acknowledged = [f"m{n}" for n in range(10)]
    for message_id in acknowledged:
        assert append(service, conversation_id, message_id).status == 200
    return conversation_id, acknowledged


def assert_nothing_acknowledged_lost(service: Server, conversation_id: str, acked: list[str]):
    stored = stored_ids(service, conversation_id)
    assert stored[: len(acked)] == acked
    assert len(stored) == len(set(stored))  # a 503'd write may have landed, but only once


def receive(socket: ClientConnection, within: float) -> dict:
    return json.loads(socket.recv(timeout=within))


def test_a_frozen_redis_costs_one_timeout_not_one_per_waiting_client(redis_server, start_service):
    service = start_service(redis_server.port)
    conversation_id, acknowledged = acknowledged_before(service)
    socket = service.socket(conversation_id)
    assert receive(socket, 1)["type"] == "agent_conversation.snapshot"

    with health_watch(service) as health:
        redis_server.process.send_signal(signal.SIGSTOP)
        frozen = time.monotonic()
        round_ = 0
        while time.monotonic() - frozen < OUTAGE_SECONDS:
            assert_prompt_503s(clients_at_once(service, conversation_id, round_))
            round_ += 1
        ready = service.call("GET", "/health/ready")
        assert (ready.status, ready.body["status"]) == (503, "unavailable")
        assert ready.seconds < 1.0
        # An open socket is served all along; a new one is refused at once.
        socket.send(json.dumps({"type": "ping"}))
        assert receive(socket, 0.1) == {"type": "pong"}
        refused = service.socket(conversation_id)
        began = time.monotonic()
        with pytest.raises(Exception, match="1011"):
            refused.recv(timeout=1)
        assert time.monotonic() - began < 1.0

        redis_server.process.send_signal(signal.SIGCONT)
        assert first_success_after(service, conversation_id, time.monotonic()) < 1.0
    assert max(health) < 0.1, sorted(health)[-5:]

    assert_nothing_acknowledged_lost(service, conversation_id, acknowledged)
    assert receive(socket, 1)["type"] == "agent_conversation.updated"  # the socket lived on
    socket.close()


def test_a_stopped_redis_is_answered_at_once_and_recovery_seen_within_1s(
    redis_server, start_service
):
    service = start_service(redis_server.port)
    conversation_id, acknowledged = acknowledged_before(service)

    with health_watch(service) as health:
        redis_server.stop()
        stopped = time.monotonic()
        round_ = 0
        while time.monotonic() - stopped < OUTAGE_SECONDS:
            assert_prompt_503s(clients_at_once(service, conversation_id, round_))
            round_ += 1
        redis_server.start()  # same port, same append-only file
        assert first_success_after(service, conversation_id, time.monotonic()) < 1.0
    assert max(health) < 0.1, sorted(health)[-5:]

    assert_nothing_acknowledged_lost(service, conversation_id, acknowledged)


def test_a_slow_redis_holds_up_health_and_sockets_for_one_call_at_most(redis_server, start_service):
    delay = 0.03  # every reply of Redis comes 30 ms late
    proxy = DelayingProxy(redis_server.port, spare_port(), delay).start()
    try:
        service = start_service(proxy.port)
        # Warm: a worker's first calls also connect, in round trips of their own.
        conversation_id, warm = acknowledged_before(service)
        socket = service.socket(conversation_id)
        assert receive(socket, 1)["type"] == "agent_conversation.snapshot"

        def appends(client: int) -> list[int]:
            return [append(service, conversation_id, f"c{client}-{n}").status for n in range(8)]

        # A first burst starts the workers' threads, each with its own connection (round trips
        # of their own); what is measured is the service once warm.
        assert {status for client in run_concurrently(appends, 16) for status in client} == {200}
        with health_watch(service) as health:
            statuses = run_concurrently(lambda client: appends(16 + client), 16)
            socket.send(json.dumps({"type": "ping"}))
            began = time.monotonic()
            while receive(socket, 1)["type"] != "pong":  # after the frames of the appends
                pass
            pong_seconds = time.monotonic() - began
        assert {status for client in statuses for status in client} == {200}
        assert pong_seconds < 0.1
        # The first slow call is waited on by the event loop; none after it.
        assert max(health) < delay + 0.07, sorted(health)[-5:]
        assert len(stored_ids(service, conversation_id)) == len(warm) + 2 * 16 * 8
        socket.close()
    finally:
        proxy.stop()
