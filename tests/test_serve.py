"""`make serve` as production runs it: real processes, real sockets, the real Redis."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from elevenlabs_agent.errors import BODY_INCOMPLETE
from tests.agent_conversations.test_post_call import CALL, signed, transcription
from tests.agent_conversations.test_post_call import SECRET as POST_CALL_SECRET
from tests.serve_process import ROOT, Server
from tests.support import API, REAL_REDIS_URL, wait_until

FRAME_WITHIN = 1.0  # seconds from the HTTP answer to the frame


def next_frame(socket) -> dict:
    return json.loads(socket.recv(timeout=FRAME_WITHIN))


def test_an_append_over_http_reaches_sockets_on_every_worker_within_1s(serve):
    server = serve(workers=2)
    conversation_id = server.post(f"{API}/new", {})["conversationId"]
    # Eight sockets: granian spreads connections over both workers.
    sockets = [server.socket(conversation_id) for _ in range(8)]
    for subscriber in sockets:
        assert next_frame(subscriber)["type"] == "agent_conversation.snapshot"

    for n in range(3):
        added = server.post(f"{API}/{conversation_id}/message", {"role": "user", "content": f"{n}"})
        answered = time.monotonic()
        for subscriber in sockets:
            frame = next_frame(subscriber)
            assert frame["type"] == "agent_conversation.updated"
            assert frame["message"]["messageId"] == added["messageId"]
        assert time.monotonic() - answered < FRAME_WITHIN
    for subscriber in sockets:
        subscriber.close()


def test_a_write_on_one_instance_reaches_a_socket_on_another(serve):
    watching, writing = serve(workers=1), serve(workers=1)
    conversation_id = writing.post(f"{API}/new", {})["conversationId"]

    with watching.socket(conversation_id) as subscriber:
        assert next_frame(subscriber)["type"] == "agent_conversation.snapshot"
        added = writing.post(f"{API}/{conversation_id}/message", {"role": "user", "content": "x"})

        frame = next_frame(subscriber)

    assert frame["message"]["messageId"] == added["messageId"]


def raw_request(server: Server, head: str, body: bytes = b"", *, close: bool = False) -> bytes:
    """Send a hand-written HTTP/1.1 request; the answer's status line and body, as bytes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        if close:
            conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and answer.endswith(b"}"):
                break
    return answer


def test_clients_trickling_their_bodies_hold_up_nobody(serve):
    server = serve(workers=1)  # one worker: nowhere else for other requests to go
    trickling = []
    for _ in range(8):
        conn = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        conn.sendall(
            b"POST /agent-conversations/api/new HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
        trickling.append(conn)

    started = time.monotonic()
    for _ in range(5):
        assert server.get("/health") == {"status": "ok"}
        assert server.post(f"{API}/new", {})["success"] is True
    elapsed = time.monotonic() - started
    for conn in trickling:
        conn.close()

    assert elapsed < 2


@pytest.mark.parametrize("size", [3 * 1024 * 1024, 16 * 1024 * 1024])
def test_a_body_over_the_limit_is_413_without_being_read(serve, size):
    server = serve(workers=1)
    head = (
        f"POST {API}/new HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
        f"Content-Length: {size}\n"
    )

    started = time.monotonic()
    answer = raw_request(server, head, b"{")  # declares it all, sends one byte

    assert answer.startswith(b"HTTP/1.1 413")
    assert answer.endswith(b'{"success":false,"error":"Request body too large"}')
    assert time.monotonic() - started < 2


def test_a_chunked_body_is_read_like_any_other(serve):
    server = serve(workers=1)
    body = b'{"agentId": "agent-chunked", "metadata": {"via": "chunks"}}'
    chunks = (
        b"".join(
            f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for piece in (body[:20], body[20:])
        )
        + b"0\r\n\r\n"
    )
    head = (
        f"POST {API}/new HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
        "Transfer-Encoding: chunked\n"
    )

    answer = raw_request(server, head, chunks)

    assert answer.startswith(b"HTTP/1.1 200")
    created = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert created["conversation"]["agentId"] == "agent-chunked"
    assert created["conversation"]["metadata"] == {"via": "chunks"}


def test_a_body_cut_short_by_the_client_stores_nothing(serve, real_redis_db):
    server = serve(workers=1)
    conversation_id = server.post(f"{API}/new", {})["conversationId"]
    body = b'{"role": "user", "content": "never complete"}'
    head = (
        f"POST {API}/{conversation_id}/message HTTP/1.1\nHost: 127.0.0.1\n"
        f"Content-Type: application/json\nContent-Length: {len(body) + 50}\n"
    )

    # 50 bytes short, then the client stops sending: refused, and the connection closed.
    answer = raw_request(server, head, body, close=True)
    assert answer.startswith(b"HTTP/1.1 400")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"] == BODY_INCOMPLETE
    # One worker, one event loop: the disconnect was queued on it before this request arrived,
    # so once this one is answered, the cut-short one has been dealt with.
    complete = server.post(f"{API}/{conversation_id}/message", {"role": "user", "content": "ok"})

    stored = server.get(f"{API}/{conversation_id}")["messages"]
    assert [message["messageId"] for message in stored] == [complete["messageId"]]


def test_a_killed_worker_is_replaced_and_the_server_keeps_answering(serve):
    server = serve(workers=2)
    workers = server.worker_pids()
    assert len(workers) == 2

    os.kill(workers[0], signal.SIGKILL)  # as an OOM kill would
    answers = 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):  # the connection the dead worker held
            answers += server.get("/health") == {"status": "ok"}

    def replaced() -> bool:
        current = server.worker_pids()
        return len(current) == 2 and workers[0] not in current

    wait_until(replaced, timeout=10, what="a new worker")
    assert answers > 0
    assert server.post(f"{API}/new", {})["success"] is True


def test_a_tool_call_runs_in_cursor_runner_and_its_callback_reaches_the_socket(serve, fake_http):
    def call_back_after_answering(dispatched) -> None:
        task = json.loads(dispatched.body)
        callback = {"success": True, "requestId": task["id"], "output": "3 files changed"}

        def post() -> None:
            request = urllib.request.Request(
                task["callbackUrl"],
                json.dumps(callback).encode(),
                {"Content-Type": "application/json", "X-Cursor-Runner-Secret": "s3cret"},
            )
            urllib.request.urlopen(request, timeout=5).close()

        threading.Timer(0.1, post).start()

    fake_http.before_answer = call_back_after_answering
    server = serve(workers=2, WEBHOOK_SECRET="s3cret", CURSOR_RUNNER_URL=fake_http.url)
    conversation_id = server.post(f"{API}/new", {})["conversationId"]
    session = {"sessionUrl": "wss://api.elevenlabs.io/v1/convai/conversation", "sessionId": "el-1"}
    server.post(f"{API}/{conversation_id}/session", session)

    with server.socket(conversation_id) as subscriber:
        assert next_frame(subscriber)["type"] == "agent_conversation.snapshot"
        answer = server.post(
            "/agent-tools", {"tool_name": "refactor", "session_id": "el-1"},
            **{"X-Webhook-Secret": "s3cret"},
        )  # fmt: skip
        assert answer["result"]["status"] == "processing"
        started, done, push = (next_frame(subscriber) for _ in range(3))

    request_id = answer["result"]["requestId"]
    assert started["message"]["status"] == "pending"
    assert done["message"]["messageId"] == f"task:{request_id}:done"
    assert done["message"]["toolOutput"] == "3 files changed"
    assert push["type"] == "agent_session.push"
    assert push["event"] == {
        "type": "contextual_update",
        "text": "refactor is done. 3 files changed",
    }


def test_a_hanging_cursor_runner_holds_up_no_other_request(serve, fake_http):
    fake_http.answer(200, "{}", delay=3)
    server = serve(workers=1, WEBHOOK_SECRET="s3cret", CURSOR_RUNNER_URL=fake_http.url)
    conversation_id = server.post(f"{API}/new", {})["conversationId"]
    tool_call = {"tool_name": "slow", "conversation_id": conversation_id}
    calls = [
        threading.Thread(
            target=server.post,
            args=("/agent-tools", tool_call),
            kwargs={"X-Webhook-Secret": "s3cret"},
        )
        for _ in range(3)
    ]
    for call in calls:
        call.start()
    time.sleep(0.2)  # the three dispatches are waiting on cursor-runner

    began = time.monotonic()
    assert server.get("/health")["status"] == "ok"
    assert server.get(f"{API}/{conversation_id}")["conversationId"] == conversation_id
    assert time.monotonic() - began < 0.5
    for call in calls:
        call.join()


def test_a_second_server_on_a_busy_port_refuses_to_start(serve):
    server = serve(workers=1)
    env = {**os.environ, "PORT": str(server.port), "REDIS_URL": REAL_REDIS_URL, "SECRET_KEY": "x"}

    second = subprocess.run(
        ["make", "-s", "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert second.returncode != 0
    assert f"127.0.0.1:{server.port} is not free" in second.stderr
    assert server.get("/health")["status"] == "ok"  # the first one is untouched


def exchange_raw(server: Server, request: bytes) -> bytes:
    """Send requests as bytes on one connection (the last says Connection: close); every byte
    of the answers, until the server closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def test_the_bridge_drops_header_names_with_underscores(serve):
    server = serve(workers=1, TRUST_X_FORWARDED_PROTO="true")

    def agent_url(header: str) -> str:
        answer = exchange_raw(
            server,
            f"GET /config HTTP/1.1\r\nHost: 127.0.0.1\r\n{header}: https\r\n"
            "Connection: close\r\n\r\n".encode(),
        )
        assert answer.startswith(b"HTTP/1.1 200"), answer
        return json.loads(answer.split(b"\r\n\r\n", 1)[1])["config"]["agentUrl"]

    assert agent_url("X_Forwarded_Proto").startswith("http://")  # would pass for the next
    assert agent_url("X-Forwarded-Proto").startswith("https://")


def test_a_head_answer_has_no_body_and_the_connection_goes_on(serve):
    server = serve(workers=1)
    head = f"HEAD {API}/list HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    get = f"GET {API}/list HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

    answer = exchange_raw(server, (head + get).encode())

    head_answer, rest = answer.split(b"\r\n\r\n", 1)
    assert head_answer.startswith(b"HTTP/1.1 200")
    assert rest.startswith(b"HTTP/1.1 200")  # the GET's answer follows the HEAD's headers
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["conversations"] == []


def test_a_server_mounted_under_a_prefix_routes_below_it(serve):
    server = serve(workers=1, GRANIAN_URL_PATH_PREFIX="/agent")

    assert server.get("/agent/health") == {"status": "ok"}


def test_a_large_static_file_arrives_whole(serve):
    server = serve(workers=1)
    path = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    on_disk = next(
        Path(sys.prefix).glob(f"lib/python*/site-packages/drf_spectacular_sidecar{path}")
    )

    with urllib.request.urlopen(server.url(path), timeout=5) as response:
        assert response.read() == on_disk.read_bytes()


def test_a_scrape_counts_the_requests_of_every_worker(serve, tmp_path):
    server = serve(workers=2, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))

    def listed() -> float:
        with urllib.request.urlopen(server.url("/metrics"), timeout=5) as response:
            text = response.read().decode()
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "elevenlabs_agent_http_requests_total"
            and sample.labels["route"] == f"{API}/list"
        )

    before = listed()
    for _ in range(40):  # new connections: granian spreads them over both workers
        server.get(f"{API}/list")

    assert listed() - before == 40
    # Both workers counted (each writes its own file), and one scrape summed them.
    assert {path.name for path in tmp_path.glob("counter_*.db")} == {
        f"counter_{pid}.db" for pid in server.worker_pids()
    }


def test_a_call_s_turns_are_stored_once_when_page_and_post_call_both_send_them(serve):
    server = serve(workers=2, ELEVENLABS_WEBHOOK_SECRET=POST_CALL_SECRET)
    cid = server.post(f"{API}/new", {})["conversationId"]
    session = {"sessionUrl": "wss://api.elevenlabs.io/v1/convai/conversation", "sessionId": CALL}
    server.post(f"{API}/{cid}/session", session)
    for role, content, at in [
        ("assistant", "Hello, how can I help?", "2025-11-27T12:00:00.400Z"),
        ("user", "Run the tests  please.", "2025-11-27T12:00:03.300Z"),
    ]:  # the page's transcripts; the agent's last turn never reached it
        body = {"role": role, "content": content, "timestamp": at, "source": "voice"}
        server.post(f"{API}/{cid}/message", body)
    raw = json.dumps(transcription()).encode()

    imported = server.post(
        "/webhooks/elevenlabs/post-call", json.loads(raw), **{"ElevenLabs-Signature": signed(raw)}
    )

    assert (imported["imported"], imported["duplicates"]) == (1, 2)
    stored = server.get(f"{API}/{cid}")["messages"]
    assert [m["content"] for m in stored] == [
        "Hello, how can I help?", "Run the tests  please.", "Started them.",
    ]  # fmt: skip
    assert server.call("GET", f"{API}/{cid}/session").status == 404  # the call is over
