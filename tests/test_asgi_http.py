"""The HTTP side of the ASGI application: the body is settled before Django sees it."""

import json
from typing import Any

from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

from elevenlabs_agent.asgi import application
from tests.support import API


def scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip


def exchange(path: str, headers: list, chunks: list[bytes], *, then_wait: float = 0) -> dict:
    """Send the body in `chunks` (the last one ends it, unless then_wait: the client stalls).

    As over HTTP/1.1, a body without Content-Length travels chunked, and says so.
    """
    if not any(name == b"content-length" for name, _ in headers):
        headers = [*headers, (b"transfer-encoding", b"chunked")]

    async def run() -> dict:
        communicator = ApplicationCommunicator(application, scope(path, headers))
        for n, chunk in enumerate(chunks):
            more = n < len(chunks) - 1 or then_wait > 0
            await communicator.send_input(
                {"type": "http.request", "body": chunk, "more_body": more}
            )
        start = await communicator.receive_output(timeout=then_wait + 2)
        body = await communicator.receive_output(timeout=1)
        return {"status": start["status"], "headers": dict(start["headers"]),
                "json": json.loads(body["body"])}  # fmt: skip

    return async_to_sync(run)()


JSON = [(b"content-type", b"application/json")]


def test_a_body_in_several_messages_is_read_whole(redis_db):
    answer = exchange(f"{API}/new", JSON, [b'{"agentId": ', b'"agent-parts"}'])

    assert answer["status"] == 200
    assert answer["json"]["conversation"]["agentId"] == "agent-parts"


def test_a_declared_length_over_the_limit_is_413_before_any_body(redis_db, settings):
    settings.MAX_REQUEST_BODY_BYTES = 100
    headers = [*JSON, (b"content-length", b"5000000")]

    answer = exchange(f"{API}/new", headers, [b""], then_wait=0.1)

    assert answer["status"] == 413
    assert answer["json"] == {"success": False, "error": "Request body too large"}
    assert answer["headers"][b"connection"] == b"close"


def test_an_undeclared_body_over_the_limit_is_413(redis_db, settings):
    settings.MAX_REQUEST_BODY_BYTES = 100

    answer = exchange(f"{API}/new", JSON, [b"{" + b" " * 60, b" " * 60 + b"}"])

    assert answer["status"] == 413


def test_a_body_that_stalls_is_408_after_the_timeout(redis_db, settings):
    settings.REQUEST_BODY_TIMEOUT_SECONDS = 0.2

    answer = exchange(f"{API}/new", JSON, [b'{"agentId": "a'], then_wait=0.5)

    assert answer["status"] == 408
    assert answer["json"] == {"success": False, "error": "Request body not received in time"}


def test_a_bad_content_length_is_400(redis_db):
    answer = exchange(f"{API}/new", [*JSON, (b"content-length", b"ten")], [b"{}"])

    assert answer["status"] == 400


def test_the_post_call_transcript_has_its_own_body_limit(redis_db, settings):
    settings.MAX_REQUEST_BODY_BYTES = 100
    settings.TRANSCRIPT_MAX_BODY_BYTES = 10_000
    body = b'{"type": "post_call_audio", "padding": "' + b"x" * 5_000 + b'"}'
    headers = [*JSON, (b"content-length", str(len(body)).encode())]

    transcript = exchange("/webhooks/elevenlabs/post-call", headers, [body])
    elsewhere = exchange(f"{API}/new", headers, [body])
    too_large = exchange(
        "/webhooks/elevenlabs/post-call",
        [*JSON, (b"content-length", b"20000")], [b""], then_wait=0.1,
    )  # fmt: skip

    assert transcript["status"] == 503  # read whole: refused only for want of a secret
    assert elsewhere["status"] == 413
    assert too_large["status"] == 413


def test_a_request_that_announces_no_body_never_waits_for_one(redis_db, settings):
    """HTTP/1: no Content-Length and no Transfer-Encoding means no body (RFC 9112, 6.3), so a
    GET is answered without waiting on the server for a body message that never comes."""
    settings.REQUEST_BODY_TIMEOUT_SECONDS = 5
    get = {**scope("/health", []), "method": "GET"}

    async def run() -> dict:
        communicator = ApplicationCommunicator(application, get)  # sends no http.request
        start = await communicator.receive_output(timeout=1)
        await communicator.receive_output(timeout=1)
        return start

    assert async_to_sync(run)()["status"] == 200


def answer_to(request_scope: dict[str, Any]) -> list[dict[str, Any]]:
    """Every message the application sends for a request without a body."""

    async def run() -> list[dict[str, Any]]:
        communicator = ApplicationCommunicator(application, request_scope)
        messages = [await communicator.receive_output(timeout=2)]
        while messages[-1]["type"] != "http.response.body" or messages[-1].get("more_body"):
            messages.append(await communicator.receive_output(timeout=2))
        return messages

    return async_to_sync(run)()


def get_scope(path: str, *headers: tuple[bytes, bytes], **fields: Any) -> dict[str, Any]:
    return {**scope(path, list(headers)), "method": "GET", **fields}


def test_a_header_name_with_an_underscore_is_dropped_not_taken_for_a_dash(redis_db, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    spoofed = answer_to(get_scope("/config", (b"x_forwarded_proto", b"https")))
    genuine = answer_to(get_scope("/config", (b"x-forwarded-proto", b"https")))

    assert json.loads(spoofed[1]["body"])["config"]["agentUrl"] == "http://testserver"
    assert json.loads(genuine[1]["body"])["config"]["agentUrl"] == "https://testserver"


def test_root_path_is_the_script_name_and_not_part_of_the_route(redis_db):
    mounted = get_scope("/agent/health", root_path="/agent")

    start, body = answer_to(mounted)

    assert start["status"] == 200
    assert json.loads(body["body"]) == {"status": "ok"}


def test_the_answer_to_head_has_the_headers_of_get_and_no_body(redis_db):
    _, get_body = answer_to(get_scope(f"{API}/list"))
    head_start, head_body = answer_to(get_scope(f"{API}/list", method="HEAD"))

    assert head_start["status"] == 200
    assert dict(head_start["headers"])[b"content-length"] == str(len(get_body["body"])).encode()
    assert head_body["body"] == b""


def test_a_file_is_sent_in_chunks_not_buffered_whole(redis_db):
    path = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"

    start, *chunks = answer_to(get_scope(path))

    assert start["status"] == 200
    content = b"".join(chunk["body"] for chunk in chunks)
    assert len(content) == int(dict(start["headers"])[b"content-length"]) > 1_000_000
    assert len(chunks) > 2  # sent as read, not joined first
