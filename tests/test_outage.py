"""A real Redis stopping, freezing and refusing writes under the running service."""

import logging
import signal
import time

import pytest

from tests.conftest import use_redis
from tests.redis_servers import RedisServer
from tests.support import API, spare_port, wait_until

WS_URL = "wss://api.elevenlabs.io/v1/convai/conversation?token=x"


@pytest.fixture
def durable_redis(tmp_path, settings):
    """A Redis on a spare port that keeps every acknowledged write across a restart."""
    server = RedisServer(
        tmp_path, spare_port(), "--save", "", "--appendonly", "yes", "--appendfsync", "always"
    ).start()
    use_redis(settings, f"redis://127.0.0.1:{server.port}/0")
    yield server
    server.stop()


def data_requests(api, cid: str, n: int) -> dict:
    """One request of every data route, each a new write where the route writes."""
    return {
        "register": lambda: api.post(f"{API}/{cid}/session", {"sessionUrl": WS_URL}, format="json"),
        "status": lambda: api.get(f"{API}/{cid}/session"),
        "new": lambda: api.post(f"{API}/new"),
        "append": lambda: api.post(
            f"{API}/{cid}/message", {"role": "user", "content": f"m{n}", "messageId": f"m{n}"},
            format="json",
        ),
        "get": lambda: api.get(f"{API}/{cid}"),
        "list": lambda: api.get(f"{API}/list"),
        "drop": lambda: api.delete(f"{API}/other/session"),
    }  # fmt: skip


def recovered_within_1s(api) -> None:
    """Redis answers again: the breaker's probe notices within 1 s, and requests succeed."""
    wait_until(lambda: api.get("/health/ready").status_code == 200, timeout=1, what="recovery")
    assert api.post(f"{API}/new").status_code == 200


def test_outage_answers_503_fast_and_recovers_without_losing_acknowledged_writes(
    api, durable_redis
):
    acknowledged: list[str] = []
    for n in range(3):
        for name, request in data_requests(api, "conv-1", n).items():
            assert request().status_code == 200, name
        acknowledged.append(f"m{n}")

    durable_redis.stop()
    for name, request in data_requests(api, "conv-1", 99).items():
        started = time.monotonic()
        response = request()
        assert time.monotonic() - started < 2, name
        assert response.status_code == 503, name
        assert response.json() == {"success": False, "error": "Storage unavailable"}
        assert int(response["Retry-After"]) > 0

    durable_redis.start()  # same port, same append-only file; the service is not restarted
    recovered_within_1s(api)
    for n in range(3, 5):
        for name, request in data_requests(api, "conv-1", n).items():
            assert request().status_code == 200, name
        acknowledged.append(f"m{n}")

    stored = [m["messageId"] for m in api.get(f"{API}/conv-1").json()["messages"]]
    assert stored == acknowledged


def test_a_frozen_redis_answers_503_within_2s_and_logs_one_warning(api, durable_redis, caplog):
    assert api.post(f"{API}/new").status_code == 200
    durable_redis.process.send_signal(signal.SIGSTOP)  # accepts connections, never answers
    try:
        with caplog.at_level(logging.INFO):
            for n in range(2):
                for name, request in data_requests(api, "conv-1", n).items():
                    started = time.monotonic()
                    response = request()
                    assert time.monotonic() - started < 2, name
                    assert response.status_code == 503, name
    finally:
        durable_redis.process.send_signal(signal.SIGCONT)
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1, problems  # one line for the episode, not one per request
    assert "Redis is unavailable" in problems[0]

    with caplog.at_level(logging.INFO):
        recovered_within_1s(api)
    assert "Redis is back" in caplog.records[-1].getMessage()


@pytest.mark.parametrize("refusal", ["out of memory", "read-only replica"])
def test_redis_refusing_writes_is_503_for_that_write_only(api, durable_redis, refusal):
    cid = api.post(f"{API}/new").json()["conversationId"]
    client = durable_redis.client()
    if refusal == "out of memory":
        client.config_set("maxmemory", 1)
    else:
        client.replicaof("127.0.0.1", spare_port())  # a demoted primary: read-only

    response = api.post(f"{API}/new")

    assert response.status_code == 503
    assert response.json() == {"success": False, "error": "Storage unavailable"}
    # Redis is up: the breaker stays closed, and plain reads go on (no session: a 404).
    assert api.get(f"{API}/{cid}/session").status_code == 404
    assert api.get("/health/ready").status_code == 200
