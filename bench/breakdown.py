"""`make profile`: where a request's time goes, route by route, in-process against the real Redis.

For each route: the whole request through Django and DRF (test client, no HTTP server), the
request-body validation alone, and the store call alone; the rest is framework work (routing,
middleware, DRF dispatch, parsing, rendering), of which the floor route is nothing but.
Medians in microseconds. Uses database 14 of the local Redis, which it flushes.
"""

import os
import statistics
import time
from collections.abc import Callable

# Thousands of appends go to one conversation: no cap may turn them into 409s mid-measurement.
os.environ["CONVERSATION_MAX_MESSAGES"] = str(10**9)
os.environ["CONVERSATION_MAX_BYTES"] = str(10**12)

import inprocess  # noqa: F401  (sets Django up: must come before the project's modules)
from django.test import Client

from agent_conversations import store as conversations
from agent_conversations.serializers import MessageAppendInput
from agent_sessions import store as sessions
from agent_sessions.serializers import SessionRegisterInput
from elevenlabs_agent.encoding import loads
from elevenlabs_agent.redis import redis_client

API = "/agent-conversations/api"
SAMPLES = 3000
SESSION = (
    b'{"sessionUrl":"wss://api.elevenlabs.io/v1/convai/conversation?token=bench",'
    b'"sessionId":"bench-session","transport":"websocket",'
    b'"sessionPayload":{"wsUrl":"wss://api.elevenlabs.io/v1/convai/conversation?token=bench"}}'
)
MESSAGE = (
    b'{"role":"user","content":"A voice transcript line from the benchmark.","source":"voice"}'
)


def median_us(call: Callable[[], object]) -> float:
    for _ in range(200):
        response = call()
        assert getattr(response, "status_code", 200) == 200, response  # never time an error
    timings = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1e6


def validate(serializer_class: type, body: bytes) -> Callable[[], object]:
    data = loads(body)
    return lambda: serializer_class(data=data).is_valid(raise_exception=True)


def main() -> None:
    redis_client().flushdb()
    client = Client()
    post = lambda path, body: client.post(path, body, content_type="application/json")  # noqa: E731
    for n in range(20):
        cid = f"page-{n}"
        conversations.conversation_ensure(conversation_id=cid)
        for _ in range(20):
            post(f"{API}/{cid}/message", MESSAGE)
    message = {**loads(MESSAGE), "messageId": "x", "timestamp": "2026-11-23T12:00:00.000Z"}
    counter = iter(range(10**9))

    def fresh_message() -> dict:
        return {**message, "messageId": f"m{next(counter)}"}

    routes = {
        "floor (GET /health)": (lambda: client.get("/health"), None, None),
        "register session": (
            lambda: post(f"{API}/page-0/session", SESSION),
            validate(SessionRegisterInput, SESSION),
            lambda: (
                sessions.session_set(conversation_id="page-0", session_url="wss://a.example/x"),
                conversations.conversation_ensure(conversation_id="page-0"),
            ),
        ),
        "session status": (
            lambda: client.get(f"{API}/page-0/session"),
            None,
            lambda: sessions.session_get(conversation_id="page-0"),
        ),
        "new conversation": (
            lambda: post(f"{API}/new", b""),
            None,
            lambda: conversations.conversation_create(),
        ),
        "append message": (
            lambda: post(f"{API}/append-target/message", MESSAGE),
            validate(MessageAppendInput, MESSAGE),
            lambda: conversations.message_append(
                conversation_id="append-target", message=fresh_message()
            ),
        ),
        "get (20 messages)": (
            lambda: client.get(f"{API}/page-1"),
            None,
            lambda: conversations.conversation_get(conversation_id="page-1"),
        ),
        "list page (20 x 20)": (
            lambda: client.get(f"{API}/list", {"limit": 20, "sortBy": "createdAt"}),
            None,
            lambda: conversations.conversation_list(
                limit=20, offset=0, sort_by="createdAt", sort_order="asc"
            ),
        ),
    }
    conversations.conversation_ensure(conversation_id="append-target")
    print("| route | whole request µs | validation µs | store µs | framework and view µs |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (request, validation, store_call) in routes.items():
        whole = median_us(request)
        valid = median_us(validation) if validation else 0.0
        stored = median_us(store_call) if store_call else 0.0
        print(
            f"| {name} | {whole:.0f} | {valid:.0f} | {stored:.0f} | {whole - valid - stored:.0f} |"
        )
    redis_client().flushdb()


if __name__ == "__main__":
    main()
