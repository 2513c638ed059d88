"""`make bench-outage`: what clients and `/health` see while Redis is frozen, and what a slow
Redis does to throughput, on `make serve` (2 workers) over a private redis-server.

    python bench/outage_bench.py [--root OTHER_CHECKOUT]

`--root` runs another checkout's `make serve` (e.g. a worktree of an earlier commit), so that
before and after are measured on one machine in one sitting. Prints markdown tables.
"""

import argparse
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.redis_servers import DelayingProxy, RedisServer
from tests.serve_process import ROOT, Server
from tests.support import API, run_concurrently, spare_port

SLOW_SECONDS = 5
APPEND = {"role": "user", "content": "x"}
T = TypeVar("T")


def health_while(service: Server, work: Callable[..., T], *args: Any) -> tuple[T, float]:
    """`work(*args)`'s result and the slowest GET /health sent every 20 ms while it ran."""
    slowest, done = [0.0], threading.Event()

    def watch() -> None:
        while not done.wait(0.02):
            try:
                seconds = service.call("GET", "/health").seconds
            except TimeoutError:  # Server.call gives up after 10 s
                seconds = 10.0
            slowest[0] = max(slowest[0], seconds)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        return work(*args), slowest[0]
    finally:
        done.set()
        watcher.join()


def burst(service: Server, cid: str, clients: int) -> list[float]:
    """How long each of `clients` appends sent at once took to be answered."""

    def one(client: int) -> float:
        try:
            return service.call("POST", f"{API}/{cid}/message", APPEND).seconds
        except TimeoutError:  # Server.call gives up after 10 s
            return 10.0

    return run_concurrently(one, clients)


def frozen(root: Path, workdir: Path) -> None:
    print("| clients waiting at once | median answer | slowest answer | slowest /health |")
    print("| ---: | ---: | ---: | ---: |")
    redis = RedisServer(workdir, spare_port(), "--save", "", "--appendonly", "no").start()
    service = Server(2, root=root, REDIS_URL=f"redis://127.0.0.1:{redis.port}/0")
    try:
        cid = service.call("POST", f"{API}/new").body["conversationId"]
        for clients in (8, 32, 64):
            redis.process.send_signal(signal.SIGSTOP)
            seconds, health = health_while(service, burst, service, cid, clients)
            redis.process.send_signal(signal.SIGCONT)
            print(
                f"| {clients} | {statistics.median(seconds):.2f} s | {max(seconds):.2f} s "
                f"| {health:.3f} s |"
            )
            time.sleep(2)  # both workers see Redis back
    finally:
        service.stop()
        redis.process.send_signal(signal.SIGCONT)
        redis.stop()


def wrk_reads(service: Server, cid: str) -> tuple[float, int]:
    """GETs of one conversation per second under wrk (2 threads, 32 connections), and how many
    answers were not 2xx."""
    output = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{SLOW_SECONDS}s", service.url(f"{API}/{cid}")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", output)
    return rate, int(errors.group(1)) if errors else 0


def slow(root: Path, workdir: Path) -> None:
    print("\n| every reply delayed by | GET conversation/s (wrk, 32 connections) | non-2xx "
          "| slowest /health |")  # fmt: skip
    print("| ---: | ---: | ---: | ---: |")
    redis = RedisServer(workdir, spare_port(), "--save", "", "--appendonly", "no").start()
    try:
        for delay in (0.0, 0.001, 0.01, 0.03):
            proxy = DelayingProxy(redis.port, spare_port(), delay).start()
            service = Server(2, root=root, REDIS_URL=f"redis://127.0.0.1:{proxy.port}/0")
            try:
                cid = service.call("POST", f"{API}/new").body["conversationId"]
                for _ in range(10):  # a conversation of 10 messages
                    service.call("POST", f"{API}/{cid}/message", APPEND)
                (rate, errors), health = health_while(service, wrk_reads, service, cid)
                print(f"| {delay * 1000:g} ms | {rate:,.0f} | {errors} | {health:.3f} s |")
            finally:
                service.stop()
                proxy.stop()
    finally:
        redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve")
    root = parser.parse_args().root.resolve()
    print(f"`make serve` of {root}\n")
    with tempfile.TemporaryDirectory() as workdir:
        frozen(root, Path(workdir))
        slow(root, Path(workdir))


if __name__ == "__main__":
    main()
