"""A stand-in for cursor-runner, for `make demo-callback`: it takes any task, answers at once,
and calls the task's callbackUrl back DELAY seconds later with a made-up result.

    python demo/fake_cursor_runner.py PORT SECRET
"""

import json
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DELAY = 3.0


def call_back(task: dict, secret: str) -> None:
    result = {"success": True, "requestId": task["id"], "output": f"Done: {task['prompt']}"}
    request = urllib.request.Request(
        task["callbackUrl"],
        json.dumps(result).encode(),
        {"Content-Type": "application/json", "X-Webhook-Secret": secret},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        print(f"fake cursor-runner: callback answered {response.status}", flush=True)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        task = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        print(f"fake cursor-runner: got task {task['id']}: {task['prompt']!r}", flush=True)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"success": true, "queued": true}')
        threading.Timer(DELAY, call_back, (task, self.server.secret)).start()  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # /health
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    port, secret = int(sys.argv[1]), sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.secret = secret  # type: ignore[attr-defined]
    server.serve_forever()
