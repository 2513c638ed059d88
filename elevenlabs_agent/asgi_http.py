"""HTTP under the ASGI server: the body is read on the event loop, then Django runs inline.

Why not Django's ASGIHandler or a thread-pool bridge (asgiref, a2wsgi): measured on this
service (docs/http-bench), both hand every request to a worker thread and lose half or more of
the throughput of a plain WSGI server; calling Django's WSGI handler on the event loop itself
loses far less. What the event loop does first is what a WSGI server cannot do: it waits for
the body without holding any thread, so a client that trickles its body holds up nobody, and
it settles the body before Django sees it:

- a declared or actual size over MAX_REQUEST_BODY_BYTES is a 413, answered without reading on;
- a chunked body is read like any other (Django gets it with its Content-Length);
- a request that announces no body (HTTP/1: neither Content-Length nor Transfer-Encoding)
  is not waited on for one;
- a body not complete within REQUEST_BODY_TIMEOUT_SECONDS is a 408;
- a body that ends before its Content-Length (the client closed) is a 400: nothing of it
  reaches Django.

Django runs inline because a request here waits only on Redis, whose calls are short and
bounded by a timeout. Views that wait on another service (ElevenLabs, cursor-runner: up to
seconds) are marked `@waits_on_another_service` and run on a thread instead, so that their wait
holds up no other request or socket of the worker. So does every request while Redis is slow
(the breaker saw a slow call: redis.py), so that a slow Redis costs the event loop one call,
not one per waiting request; while Redis is out of reach, the breaker answers at once.

The environ is built as Django's own handlers and WSGI servers build it: header names with an
underscore are dropped (`X_Forwarded_For` would otherwise pass for `X-Forwarded-For`), and the
ASGI `root_path` is SCRIPT_NAME, taken off the front of PATH_INFO. The answer to HEAD has no
body; a streaming answer (a file, a generator) is sent in chunks, each read on a thread.
"""

import asyncio
import io
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from django.conf import settings

from elevenlabs_agent import metrics
from elevenlabs_agent.encoding import dumps
from elevenlabs_agent.errors import (
    BAD_REQUEST,
    BODY_INCOMPLETE,
    REQUEST_TIMEOUT,
    REQUEST_TOO_LARGE,
)
from elevenlabs_agent.redis import breaker

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
V = TypeVar("V")


class _BodyRefused(Exception):
    def __init__(self, status: int, error: str) -> None:
        self.status, self.error = status, error


async def _read_body(receive: Receive, limit: int) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":  # the client stopped sending: never stored
            raise _BodyRefused(400, BODY_INCOMPLETE)
        body += message.get("body", b"")
        if len(body) > limit:
            raise _BodyRefused(413, REQUEST_TOO_LARGE)
        if not message.get("more_body", False):
            return bytes(body)


def _declared_length(scope: Scope) -> int | None:
    """The body's length as the request announces it: Content-Length, 0 for an HTTP/1 request
    that announces no body at all, None when only reading it tells (chunked, or HTTP/2)."""
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            if not value.isdigit():
                raise _BodyRefused(400, BAD_REQUEST)
            return int(value)
        chunked = chunked or name == b"transfer-encoding"
    # HTTP/1: neither Content-Length nor Transfer-Encoding means no body (RFC 9112, 6.3).
    if not chunked and scope.get("http_version", "1.1") in ("1.0", "1.1"):
        return 0
    return None


def _environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """The PEP 3333 environ of an ASGI HTTP scope whose body has been read."""
    server_host, server_port = scope.get("server") or ("localhost", 80)
    script_name = scope.get("root_path", "")
    path = scope["path"]
    if script_name and path.startswith(script_name):  # ASGI's path includes root_path
        path = path[len(script_name) :] or "/"
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name.encode().decode("latin-1"),
        "PATH_INFO": path.encode().decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": server_host,
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": (scope.get("client") or ("", 0))[0],
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope["headers"]:
        if b"_" in raw_name:
            continue  # ambiguous with a dash once in the environ: dropped, as Django's server does
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_LENGTH" or name == "TRANSFER_ENCODING":
            continue  # the body is complete: its length is what was read
        key = name if name == "CONTENT_TYPE" else f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def waits_on_another_service(view: V) -> V:
    """Mark a view whose requests wait on a service other than Redis (ElevenLabs, cursor-runner:
    up to seconds): InlineWSGI runs them on a thread (urls.waiting_paths finds the marks)."""
    view.waits_on_another_service = True  # type: ignore[attr-defined]
    return view


class _Answer:
    """What the WSGI application answered: status, headers, and its body iterable."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: Any) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def streaming(self) -> bool:
        """A body that is not in memory yet (Django's StreamingHttpResponse, FileResponse)."""
        return bool(getattr(self.body, "streaming", False))

    def close(self) -> None:
        if hasattr(self.body, "close"):
            self.body.close()


class InlineWSGI:
    """An ASGI HTTP application that reads the body, then calls a WSGI application inline."""

    def __init__(
        self,
        wsgi_app: WSGIApp,
        waiting_paths: frozenset[str] = frozenset(),
        body_limits: dict[str, str] | None = None,
    ) -> None:
        self.wsgi_app = wsgi_app
        self.waiting_paths = waiting_paths
        # Paths whose bodies may exceed MAX_REQUEST_BODY_BYTES, and the setting that bounds them.
        self.body_limits = body_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            limit = getattr(settings, self.body_limits.get(scope["path"], "MAX_REQUEST_BODY_BYTES"))
            declared = _declared_length(scope)
            if declared is not None and declared > limit:
                raise _BodyRefused(413, REQUEST_TOO_LARGE)
            if declared == 0:
                # Nothing to wait for (most requests: every GET). Awaiting the server for an
                # empty body cost a turn of the event loop (/health measured 6% faster without).
                body = b""
            else:
                try:
                    async with asyncio.timeout(settings.REQUEST_BODY_TIMEOUT_SECONDS):
                        body = await _read_body(receive, limit)
                except TimeoutError:
                    raise _BodyRefused(408, REQUEST_TIMEOUT) from None
            if declared is not None and len(body) != declared:
                raise _BodyRefused(400, BODY_INCOMPLETE)  # shorter than announced: never stored
        except _BodyRefused as refusal:
            # The rest of the body is never read, so the connection cannot be reused. (A client
            # that is gone altogether gets nothing: the server drops what is sent to it.)
            metrics.BODY_REFUSALS.labels(refusal.status).inc()
            headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
            envelope = dumps({"success": False, "error": refusal.error})
            await _respond(send, refusal.status, headers, envelope)
            return

        environ = _environ(scope, body)
        if scope["path"] in self.waiting_paths or breaker.is_slow:
            answer = await asyncio.to_thread(self._call_wsgi, environ)
        else:
            answer = self._call_wsgi(environ)
        if scope["method"] == "HEAD":
            answer.close()  # the headers are the answer (Content-Length as for GET)
            await _respond(send, answer.status, answer.headers, b"")
        elif answer.streaming:
            await self._stream(send, answer)
        else:
            try:
                content = b"".join(answer.body)
            finally:
                answer.close()
            await _respond(send, answer.status, answer.headers, content)

    def _call_wsgi(self, environ: dict[str, Any]) -> _Answer:
        """Call the WSGI application; its body is not read yet."""
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> None:
            started[:] = [status, headers]

        result = self.wsgi_app(environ, start_response)
        status, headers = started
        encoded = [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
        ]
        return _Answer(int(status[:3]), encoded, result)

    @staticmethod
    async def _stream(send: Send, answer: _Answer) -> None:
        """Send a streaming body chunk by chunk, each read on a thread (a file read, or a
        generator's work, never holds up the event loop)."""
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": answer.headers})  # fmt: skip
        chunks = iter(answer.body)
        try:
            while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            await asyncio.to_thread(answer.close)
        await send({"type": "http.response.body", "body": b""})
