"""`make serve` as a child process group, as production runs it: real processes, sockets."""

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from tests.support import API, REAL_REDIS_URL, spare_port, wait_until

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message  # case-insensitive names
    body: Any
    seconds: float


class Server:
    """One `make serve` (granian and its workers), stopped as a process group."""

    def __init__(self, workers: int, *, root: Path = ROOT, **settings: str) -> None:
        self.port = spare_port()
        env = {
            **os.environ,
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            "REDIS_URL": REAL_REDIS_URL,
            "SECRET_KEY": "serve-tests-only",
            "ELEVENLABS_AGENT_ENABLED": "true",
            **settings,
        }
        self.process = subprocess.Popen(
            ["make", "-s", "serve"], cwd=root, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_until(lambda: self.get("/health")["status"] == "ok", timeout=30, what="make serve")
        except BaseException:
            self.stop()  # never leave a server behind
            raise

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url(path), timeout=5) as response:
            return json.load(response)

    def post(self, path: str, body: dict, **headers: str) -> dict:
        request = urllib.request.Request(
            self.url(path),
            json.dumps(body).encode(),
            {"Content-Type": "application/json", **headers},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def call(self, method: str, path: str, body: dict | None = None) -> "Answer":
        """Any answer, errors included, with how long it took."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url(path), data, {"Content-Type": "application/json"}, method=method
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, headers, content = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, content = error.code, error.headers, error.read()
        return Answer(status, headers, json.loads(content), time.monotonic() - started)

    def socket(self, conversation_id: str):
        return connect(
            f"ws://127.0.0.1:{self.port}{API}/ws?conversationId={conversation_id}",
            open_timeout=5,
        )

    def worker_pids(self) -> list[int]:
        """granian's worker processes: the granian processes whose parent is granian too."""
        listing = subprocess.check_output(
            ["ps", "-o", "pid=,ppid=,args=", "-g", str(self.process.pid)], text=True
        )
        rows = [line.split(None, 2) for line in listing.splitlines()]
        granian = {int(pid): int(ppid) for pid, ppid, args in rows if "bin/granian" in args
                   and not args.startswith("/bin/sh")}  # fmt: skip
        return sorted(pid for pid, ppid in granian.items() if ppid in granian)

    def stop(self) -> None:
        """SIGTERM to every process of the server; SIGKILL to whatever is left after 10 s."""
        group = self.process.pid  # make is the session leader
        os.killpg(group, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)  # anyone left?
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.killpg(group, signal.SIGKILL)
        self.process.wait()
