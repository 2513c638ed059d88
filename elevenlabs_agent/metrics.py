"""What the service counts for Prometheus, and the scrape of every worker at once.

prometheus-client in its multiprocess mode: each granian worker writes its samples to files in
PROMETHEUS_MULTIPROC_DIR (`make run` and `make serve` give each start an empty one), and a
scrape adds up the files of every worker, so that whichever worker answers GET /metrics
reports the whole server. Without that directory (tests, manage.py) the samples stay in the
process. Names and units follow Prometheus' conventions: `_total` counters, `_seconds`.
"""

import glob
import os
import re
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

PREFIX = "elevenlabs_agent"
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
# Requests take milliseconds; a route that waits on another service, up to seconds.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
REDIS_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    f"{PREFIX}_http_requests", "HTTP requests answered by Django",
    ["route", "method", "status"],
)  # fmt: skip
HTTP_REQUEST_SECONDS = Histogram(
    f"{PREFIX}_http_request_duration_seconds", "Time to answer an HTTP request, by route",
    ["route"], buckets=REQUEST_BUCKETS,
)  # fmt: skip
API_ERRORS = Counter(
    f"{PREFIX}_api_errors", "Error answers by their code (conversation_full, throttled, ...)",
    ["code"],
)  # fmt: skip
BODY_REFUSALS = Counter(
    f"{PREFIX}_body_refusals", "Bodies refused before Django: 413 too large, 408 too slow, "
    "400 cut short or a bad Content-Length", ["status"],
)  # fmt: skip
REDIS_CALL_SECONDS = Histogram(
    f"{PREFIX}_redis_call_duration_seconds", "Time of a store operation's Redis calls",
    buckets=REDIS_BUCKETS,
)  # fmt: skip
REDIS_FAILURES = Counter(
    f"{PREFIX}_redis_failures", "Store operations that failed: unreachable (the breaker opens), "
    "refused (out of memory, read-only), unconfirmed (no replica confirmed in time)", ["kind"],
)  # fmt: skip
REDIS_OUTAGES = Counter(f"{PREFIX}_redis_outages", "Outage episodes: the breaker opened")
REDIS_UP = Gauge(
    f"{PREFIX}_redis_up", "1 while every worker reaches Redis (its breaker closed), else 0",
    multiprocess_mode="livemin",
)  # fmt: skip
LIVE_SOCKETS = Gauge(
    f"{PREFIX}_live_sockets", "Open live-update sockets", multiprocess_mode="livesum"
)
LIVE_FRAMES = Counter(f"{PREFIX}_live_frames_sent", "Live-update frames sent, by type", ["type"])
LIVE_CLOSES = Counter(
    f"{PREFIX}_live_sockets_closed", "Live-update sockets closed, by close code", ["code"]
)
PUSHES = Counter(
    f"{PREFIX}_agent_pushes", "Pushes for the live agent: offered, sent, acknowledged", ["event"]
)
TASKS = Counter(
    f"{PREFIX}_tasks", "Tool tasks by the state they reached (pending, completed, failed)",
    ["state"],
)  # fmt: skip

REDIS_UP.set(1)


# (route, method, status) -> its counter and its route's histogram: looking a labelled child
# up takes a lock and checks the labels, and every request needs two.
_request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def request_answered(route: str, method: str, status: int, seconds: float) -> None:
    """Count an answered request (`route` a template; a method clients made up is `other`)."""
    series = _request_series.get((route, method, status))
    if series is None:
        label = method if method in METHODS else "other"
        series = (
            HTTP_REQUESTS.labels(route, label, status),
            HTTP_REQUEST_SECONDS.labels(route),
        )
        if label != "other":  # a made-up method never becomes a key here either
            _request_series[route, method, status] = series
    requests, durations = series
    requests.inc()
    durations.observe(seconds)


_PID_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def _forget_dead_workers() -> None:
    """Drop the live gauges of workers that died (granian replaces them without a hook to tell
    prometheus-client), so that open sockets and Redis state count live workers only."""
    for path in glob.glob(os.path.join(MULTIPROCESS_DIR, "gauge_live*.db")):
        match = _PID_FILE.search(path)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, MULTIPROCESS_DIR)
        except PermissionError:
            pass  # alive, another user's


def exposition() -> tuple[bytes, str]:
    """The text exposition of every worker's metrics (this process's without the directory)."""
    if not MULTIPROCESS_DIR:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    _forget_dead_workers()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, MULTIPROCESS_DIR)
    return generate_latest(registry), CONTENT_TYPE_LATEST
