"""Every error the API answers: its class (status code) and its sentence, in one place.

handlers.py shapes them into the contract's JSON envelope.
"""

from typing import Any, ClassVar

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound

STORAGE_UNAVAILABLE = "Storage unavailable"
FEATURE_DISABLED = "Service Unavailable"
FEATURE_DISABLED_MESSAGE = "ElevenLabs agent feature is currently disabled"
BAD_REQUEST = "Bad request"
FORBIDDEN = "Forbidden"
NOT_FOUND = "Not found"
SERVER_ERROR = "Internal server error"
REQUEST_TOO_LARGE = "Request body too large"
REQUEST_TIMEOUT = "Request body not received in time"
BODY_INCOMPLETE = "Request body ended before its Content-Length"
API_KEY_REQUIRED = "A valid API key is required (Authorization: Bearer <key> or X-API-Key)"


class EnvelopeError(APIException):
    """An API error whose envelope carries extra top-level keys besides success and error."""

    envelope_extra: ClassVar[dict[str, Any]] = {}


class StoreUnavailable(APIException):
    """Redis is unreachable or timed out."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = STORAGE_UNAVAILABLE
    default_code = "storage_unavailable"
    wait = 5  # DRF's handler turns this into the Retry-After header


WRITE_NOT_CONFIRMED = (
    "Write not confirmed by a replica in time; it may have been applied, and is safe to retry"
)


class WriteNotConfirmed(StoreUnavailable):
    """Fewer replicas than REDIS_WRITE_REPLICAS confirmed a write within its timeout."""

    default_detail = WRITE_NOT_CONFIRMED
    default_code = "write_not_confirmed"
    wait = 1


class FeatureDisabled(EnvelopeError):
    """ELEVENLABS_AGENT_ENABLED is off."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = FEATURE_DISABLED
    default_code = "feature_disabled"
    envelope_extra: ClassVar[dict[str, Any]] = {
        "message": FEATURE_DISABLED_MESSAGE,
        "enabled": False,
    }


class RequestTooLarge(APIException):
    """The request body is over MAX_REQUEST_BODY_BYTES."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = REQUEST_TOO_LARGE
    default_code = "request_too_large"


# --- Conversations -----------------------------------------------------------------------------

CONVERSATION_NOT_FOUND = "Agent conversation not found"
CONVERSATION_FULL = (
    "Conversation is full: it holds at most {messages} messages and {size} bytes of messages; "
    "start a new conversation"
)


MESSAGE_NOT_FOUND = "Message not found in this conversation"


class ConversationNotFound(NotFound):
    default_detail = CONVERSATION_NOT_FOUND


class MessageNotFound(NotFound):
    default_detail = MESSAGE_NOT_FOUND


class ConversationFull(APIException):
    """The conversation holds as much as it may (its caps keep every read of it short)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conversation_full"

    def __init__(self) -> None:
        super().__init__(
            CONVERSATION_FULL.format(
                messages=settings.CONVERSATION_MAX_MESSAGES, size=settings.CONVERSATION_MAX_BYTES
            )
        )


# --- Sessions ----------------------------------------------------------------------------------

NO_ACTIVE_SESSION = "No active session"


class NoActiveSession(NotFound, EnvelopeError):
    """The conversation has no live session (never registered, removed, or expired)."""

    default_detail = NO_ACTIVE_SESSION
    envelope_extra = {"active": False}


# --- Tool calls and callbacks ------------------------------------------------------------------

WEBHOOK_SECRET_MISSING = "WEBHOOK_SECRET is not configured"
WEBHOOK_SECRET_INVALID = (
    "A valid webhook secret is required (X-Webhook-Secret, X-Cursor-Runner-Secret or ?secret=)"
)


class WebhookSecretMissing(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = WEBHOOK_SECRET_MISSING
    default_code = "webhook_secret_missing"


class WebhookSecretInvalid(APIException):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = WEBHOOK_SECRET_INVALID
    default_code = "webhook_secret_invalid"


TASK_NOT_FOUND = "Task not found"
SESSION_NOT_FOUND = "No conversation is known for this session_id"


class TaskNotFound(NotFound):
    default_detail = TASK_NOT_FOUND


class SessionNotFound(NotFound):
    default_detail = SESSION_NOT_FOUND


# --- ElevenLabs' post-call webhook -------------------------------------------------------------

ELEVENLABS_WEBHOOK_SECRET_MISSING = "ELEVENLABS_WEBHOOK_SECRET is not configured"
SIGNATURE_INVALID = "Missing, malformed, expired or wrong ElevenLabs-Signature"
CONVERSATION_CHANGING = "The conversation is being edited; deliver the transcript again"


class ElevenLabsWebhookSecretMissing(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = ELEVENLABS_WEBHOOK_SECRET_MISSING
    default_code = "elevenlabs_webhook_secret_missing"


class SignatureInvalid(APIException):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = SIGNATURE_INVALID
    default_code = "signature_invalid"


class ConversationChanging(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = CONVERSATION_CHANGING
    default_code = "conversation_changing"


# --- The ElevenLabs API (signed URLs) ----------------------------------------------------------

API_KEY_MISSING = "ELEVENLABS_API_KEY is not configured"
UNREACHABLE = "ElevenLabs could not be reached or gave an unreadable answer"
TIMED_OUT = "ElevenLabs did not answer in time"
# ElevenLabs' refusals are passed on with their status and a sentence that says so.
REFUSALS = {
    401: "ElevenLabs refused the API key (401)",
    403: "ElevenLabs denied access to this agent (403)",
    404: "ElevenLabs does not know this agent (404)",
    422: "ElevenLabs rejected the request (422)",
}


class ElevenLabsError(APIException):
    """ElevenLabs could not give us what the client asked for."""


class ApiKeyMissing(ElevenLabsError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = API_KEY_MISSING
    default_code = "elevenlabs_api_key_missing"


class ElevenLabsUnreachable(ElevenLabsError):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = UNREACHABLE
    default_code = "elevenlabs_unreachable"


class ElevenLabsTimedOut(ElevenLabsError):
    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    default_detail = TIMED_OUT
    default_code = "elevenlabs_timeout"


class ElevenLabsRefused(ElevenLabsError):
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        super().__init__(REFUSALS[status_code], code="elevenlabs_refused")
