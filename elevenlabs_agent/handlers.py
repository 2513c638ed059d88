"""The one handler that shapes every DRF error into the contract's JSON envelope, and Django's
own error views (unknown routes, bad Host headers, crashes) answering the same envelope."""

from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from elevenlabs_agent import metrics
from elevenlabs_agent.errors import BAD_REQUEST, FORBIDDEN, NOT_FOUND, SERVER_ERROR


def _first_message(detail: Any) -> str:
    while isinstance(detail, (list, dict)) and detail:
        detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
    return str(detail)


def _validation_envelope(detail: Any) -> dict[str, Any]:
    """`error` names the first offending field; `details` lists every field's messages."""
    if not isinstance(detail, dict):
        detail = {"non_field_errors": detail if isinstance(detail, list) else [detail]}
    field = next(iter(detail))
    message = _first_message(detail[field])
    error = message if field == "non_field_errors" else f"Invalid {field}: {message}"
    return {"success": False, "error": error, "details": detail}


def envelope_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler reshaped into the contract's envelope; unknown errors stay a logged 500."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    metrics.API_ERRORS.labels(getattr(exc, "default_code", "error")).inc()
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_envelope(exc.detail)
    else:
        response.data = {
            "success": False,
            "error": _first_message(response.data.get("detail", response.data)),
            **getattr(exc, "envelope_extra", {}),
        }
    return response


# Django's own error views answer the same envelope, never an HTML page or a stack trace.


def _envelope_response(error: str, status_code: int) -> JsonResponse:
    return JsonResponse({"success": False, "error": error}, status=status_code)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django's handler400."""
    return _envelope_response(BAD_REQUEST, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django's handler403."""
    return _envelope_response(FORBIDDEN, 403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django's handler404."""
    return _envelope_response(NOT_FOUND, 404)


def server_error(request: HttpRequest) -> JsonResponse:
    """Django's handler500."""
    return _envelope_response(SERVER_ERROR, 500)
