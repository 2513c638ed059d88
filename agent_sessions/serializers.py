"""Input validation for session registration."""

from urllib.parse import urlsplit

from rest_framework import serializers

from elevenlabs_agent.serializers import JSONObjectField, StrictCharField, TimestampField

SESSION_URL_MAX_LENGTH = 4096
SESSION_URL_INVALID = "Must be an absolute ws:// or wss:// URL."


def _websocket_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme.lower() not in {"ws", "wss"} or not parts.hostname:
        raise serializers.ValidationError(SESSION_URL_INVALID)


class SessionRegisterInput(serializers.Serializer):
    """The body of POST .../{id}/session."""

    sessionUrl = StrictCharField(max_length=SESSION_URL_MAX_LENGTH, validators=[_websocket_url])
    sessionId = StrictCharField(required=False, max_length=512)
    agentSessionId = StrictCharField(required=False, max_length=512)
    expiresAt = TimestampField(required=False)
    transport = serializers.ChoiceField(choices=["websocket", "webrtc"], required=False)
    metadata = JSONObjectField(required=False)
    sessionPayload = JSONObjectField(required=False)
