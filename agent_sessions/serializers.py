"""Input validation for session registration."""

from fnmatch import fnmatchcase
from typing import Literal, NotRequired, TypedDict
from urllib.parse import urlsplit

from django.conf import settings
from rest_framework import serializers

from elevenlabs_agent.serializers import (
    InputSerializer,
    JSONObjectField,
    StrictCharField,
    TimestampField,
)

SESSION_URL_MAX_LENGTH = 4096
SESSION_URL_INVALID = "Must be an absolute ws:// or wss:// URL."
# Scheme, a DNS name or IPv4 address, an optional port, then anything from a path on. The
# OpenAPI document publishes this same pattern.
SESSION_URL_PATTERN = (
    r"^[wW][sS][sS]?://"  # ws:// or wss://, any case
    r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"  # host
    r"(?::[0-9]{1,5})?"  # port
    r"(?:[/?#][^\x00-\x20\x7f]*)?$"  # path, query, fragment: no spaces or controls
)
SESSION_URL_HOST_NOT_ALLOWED = "This host is not in SESSION_URL_ALLOWED_HOSTS."


def _host_allowed(host: str) -> bool:
    # "*.elevenlabs.io" matches any subdomain; a bare name matches only itself.
    patterns = settings.SESSION_URL_ALLOWED_HOSTS
    return not patterns or any(fnmatchcase(host, pattern.lower()) for pattern in patterns)


def _allowed_host(value: str) -> None:
    """The callback system will connect to this URL: keep it to the allowed hosts, if any."""
    if not _host_allowed(urlsplit(value).hostname or ""):
        raise serializers.ValidationError(SESSION_URL_HOST_NOT_ALLOWED)


class SessionRegisterInput(InputSerializer):
    """The body of POST .../{id}/session."""

    sessionUrl = StrictCharField(
        SESSION_URL_PATTERN,
        max_length=SESSION_URL_MAX_LENGTH,
        error_messages={"pattern": SESSION_URL_INVALID},
        validators=[_allowed_host],
    )
    sessionId = StrictCharField(required=False, max_length=512)
    agentSessionId = StrictCharField(required=False, max_length=512)
    expiresAt = TimestampField(required=False)
    transport = serializers.ChoiceField(choices=["websocket", "webrtc"], required=False)
    metadata = JSONObjectField(required=False)
    sessionPayload = JSONObjectField(required=False)


# --- Output: the response bodies, as the views build them ---------------------------------------


class SessionRegistered(TypedDict):
    success: bool
    message: str
    conversationId: str
    sessionId: NotRequired[str]
    ttl: int
    createdAt: str
    conversationCreated: bool


class SessionStatus(TypedDict):
    """What anyone may know of a live session: never its URL, payload or metadata."""

    active: bool
    conversationId: str
    sessionId: NotRequired[str]
    transport: NotRequired[Literal["websocket", "webrtc"]]
    createdAt: NotRequired[str]
    expiresInSeconds: NotRequired[int]


class SessionRemoved(TypedDict):
    success: bool
    message: str
    removed: bool
