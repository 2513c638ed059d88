"""Django middleware of the service's own."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
