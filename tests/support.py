"""What many tests share: the API prefix, whether CI runs us, spare ports, waiting for a
process, and running the same work on many threads at once."""

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis

T = TypeVar("T")

API = "/agent-conversations/api"
# In CI a missing real Redis (or redis-server binary) fails the run; locally those tests skip.
IN_CI = os.environ.get("CI", "").lower() == "true"
# The real Redis the storage tests use (a database of its own, flushed around each test).
REAL_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def spare_port() -> int:
    """A loopback port nothing listens on (as of now)."""
    return spare_ports(1)[0]


def spare_ports(count: int) -> list[int]:
    """`count` different loopback ports nothing listens on (each held until all are chosen,
    so that none comes twice)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll `condition` (connection errors count as not yet) until it holds or `timeout` ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (redis.RedisError, OSError):  # not up yet
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def run_concurrently(work: Callable[[int], T], workers: int) -> list[T]:
    """`work(0)` ... `work(workers - 1)`, each on its own thread, released together; their
    results in worker order. An exception in any worker fails the caller."""
    start = threading.Barrier(workers)
    results: list[T | None] = [None] * workers
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        start.wait()
        try:
            results[worker] = work(worker)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]


def require_program(name: str, install: str) -> str:
    """The path of program `name`; skip locally, fail in CI, when it is not installed."""
    path = shutil.which(name)
    if path is None:
        import pytest  # support.py is also imported outside pytest (bench/)

        reason = f"{name} is not installed ({install})"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return path
