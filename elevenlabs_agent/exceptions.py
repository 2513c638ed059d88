"""Error classes and the one handler that shapes every error into the contract's JSON envelope."""

from typing import Any, ClassVar

from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

STORAGE_UNAVAILABLE = "Storage unavailable"
FEATURE_DISABLED = "Service Unavailable"
FEATURE_DISABLED_MESSAGE = "ElevenLabs agent feature is currently disabled"
BAD_REQUEST = "Bad request"
FORBIDDEN = "Forbidden"
NOT_FOUND = "Not found"
SERVER_ERROR = "Internal server error"
REQUEST_TOO_LARGE = "Request body too large"
REQUEST_TIMEOUT = "Request body not received in time"
API_KEY_REQUIRED = "A valid API key is required (Authorization: Bearer <key> or X-API-Key)"


class EnvelopeError(exceptions.APIException):
    """An API error whose envelope carries extra top-level keys besides success and error."""

    envelope_extra: ClassVar[dict[str, Any]] = {}


class StoreUnavailable(exceptions.APIException):
    """Redis is unreachable or timed out."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = STORAGE_UNAVAILABLE
    default_code = "storage_unavailable"
    wait = 5  # DRF's handler turns this into the Retry-After header


class FeatureDisabled(EnvelopeError):
    """ELEVENLABS_AGENT_ENABLED is off."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = FEATURE_DISABLED
    default_code = "feature_disabled"
    envelope_extra: ClassVar[dict[str, Any]] = {
        "message": FEATURE_DISABLED_MESSAGE,
        "enabled": False,
    }


class RequestTooLarge(exceptions.APIException):
    """The request body is over MAX_REQUEST_BODY_BYTES."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = REQUEST_TOO_LARGE
    default_code = "request_too_large"


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
    # Imported here: rest_framework.views loads the permission classes, which import this module.
    from rest_framework.views import exception_handler

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_envelope(exc.detail)
    else:
        response.data = {
            "success": False,
            "error": _first_message(response.data.get("detail", response.data)),
            **getattr(exc, "envelope_extra", {}),
        }
    return response


# Django's own error views (outside DRF: unknown routes, bad Host headers, crashes) answer
# the same envelope, never an HTML page or a stack trace.


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
