"""Django middleware of the service's own."""

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.signals import request_finished, request_started
from django.dispatch import receiver
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
access_log = logging.getLogger("elevenlabs_agent.access")


@receiver(request_started)
def _request_id_from_headers(environ: dict[str, Any], **kwargs: Any) -> None:
    """The request's id, from its first moment to its last log line (Django logs an error
    answer after every middleware has returned): kept if the client sent a safe one."""
    offered = environ.get("HTTP_X_REQUEST_ID", "")
    request_id_var.set(offered if REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex)


@receiver(request_finished)
def _request_over(**kwargs: Any) -> None:
    request_id_var.set("-")


class RequestContext:
    """Every request's metrics, its id echoed (X-Request-ID), and its access log line if asked
    for. (The id itself is set as the request starts: `_request_id_from_headers`.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        match = request.resolver_match
        route = f"/{match.route}" if match is not None else "unmatched"  # a template: no ids
        metrics.HTTP_REQUESTS.labels(
            route, metrics.method_label(request.method or ""), response.status_code
        ).inc()
        metrics.HTTP_REQUEST_SECONDS.labels(route).observe(seconds)
        request_id = request_id_var.get()
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
