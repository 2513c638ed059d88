"""Django middleware of the service's own."""

import itertools
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from elevenlabs_agent import metrics

# Probes address a pod by its IP, which is not in ALLOWED_HOSTS; these routes reveal nothing
# a Host header could be abused for, so they answer whatever it says.
PROBE_PATHS = frozenset({"/health", "/health/ready", "/config/health"})


class ProbesAnswerAnyHost:
    """Skip the ALLOWED_HOSTS check for the health routes only (first in MIDDLEWARE)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in PROBE_PATHS:
            # Django validates the host in get_host(); the raw host is the same minus the check.
            request.get_host = request._get_raw_host  # type: ignore[method-assign,attr-defined]
        return self.get_response(request)


# A request id a client or proxy sent is kept when it is at most 128 safe characters.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
# Ids made here: 64 random bits per process, its pid (a worker forked after import keeps the
# bits), and a counter. Unique like a UUID, and a tenth of a uuid4's cost on every request.
_ID_PREFIX = secrets.token_hex(8)
_ids = itertools.count(1)


def new_request_id() -> str:
    return f"{_ID_PREFIX}-{os.getpid():x}-{next(_ids):x}"


access_log = logging.getLogger("elevenlabs_agent.access")


class RequestContext:
    """Every request's id (X-Request-ID: kept if the client sent a safe one, else made; echoed,
    on every log line of the request, sent on the cursor-runner dispatch), its metrics, and
    its access log line if asked for."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if REQUEST_ID.fullmatch(offered) else new_request_id()
        # Not reset on the way out: Django logs an error answer after every middleware has
        # returned, and that line belongs to this request too. (Each request runs in a context
        # of its own under the ASGI server; a thread's next request sets its own.)
        request_id_var.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        match = request.resolver_match
        route = f"/{match.route}" if match is not None else "unmatched"  # a template: no ids
        metrics.request_answered(route, request.method or "", response.status_code, seconds)
        response["X-Request-ID"] = request_id
        if settings.ACCESS_LOG:
            access_log.info(
                "%s %s %s %.1f ms", request.method, route, response.status_code, seconds * 1000,
                extra={"route": route, "status": response.status_code,
                       "duration": round(seconds, 6)},
            )  # fmt: skip
        return response


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every log record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True
