"""A local HTTP server the tests script (a fake ElevenLabs API, a fake cursor-runner)."""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class FakeHTTP:
    """Answers every request with `status` and `body` after `delay` seconds; records requests.

    `before_answer`, if set, runs with each request before it is answered (a fake cursor-runner
    calls the service back from there).
    """

    url: str = ""
    status: int = 200
    body: bytes = b"{}"
    delay: float = 0.0
    requests: list[Recorded] = field(default_factory=list)
    before_answer: Callable[[Recorded], None] | None = None

    def answer(self, status: int, body: bytes | str, delay: float = 0.0) -> None:
        self.status, self.delay = status, delay
        self.body = body.encode() if isinstance(body, str) else body


def serve_fake_http() -> Iterator[FakeHTTP]:
    """Run a FakeHTTP on a spare loopback port for as long as the generator is open."""
    fake = FakeHTTP()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(b"")

        def do_POST(self) -> None:
            self._answer(self.rfile.read(int(self.headers.get("Content-Length", 0))))

        def _answer(self, body: bytes) -> None:
            recorded = Recorded(self.command, self.path, dict(self.headers), body)
            fake.requests.append(recorded)
            if fake.before_answer is not None:
                fake.before_answer(recorded)
            time.sleep(fake.delay)  # a hang, as far as the client's timeout is concerned
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(fake.body)))
            self.end_headers()
            self.wfile.write(fake.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False  # a handler still "hanging" must not hold the test up
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
