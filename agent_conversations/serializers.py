"""Validation of conversation ids and of the conversation routes' input."""

import re

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from elevenlabs_agent.serializers import JSONObjectField, StrictCharField, TimestampField

CONVERSATION_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
RESERVED_IDS = frozenset({"list", "new"})  # route names, never ids
INVALID_CONVERSATION_ID = (
    "Must be 1-128 characters of letters, digits, '.', '_' or '-', starting with a letter or "
    "digit, and not 'list' or 'new'."
)


def validated_conversation_id(value: str) -> str:
    """The path's conversation id, or a 400 before Redis is touched."""
    if not CONVERSATION_ID_PATTERN.fullmatch(value) or value in RESERVED_IDS:
        raise ValidationError({"conversationId": [INVALID_CONVERSATION_ID]})
    return value


MAX_PAGE_SIZE = 100
MESSAGE_CONTENT_MAX_LENGTH = 32_000
BLANK_CONTENT = "Must contain non-whitespace text."


class ConversationListQuery(serializers.Serializer):
    """Query parameters of GET .../list; a limit above MAX_PAGE_SIZE is clamped, not refused."""

    limit = serializers.IntegerField(required=False, default=20, min_value=1)
    offset = serializers.IntegerField(required=False, default=0, min_value=0)
    sortBy = serializers.ChoiceField(
        choices=["createdAt", "lastAccessedAt", "messageCount"],
        required=False,
        default="lastAccessedAt",
    )
    sortOrder = serializers.ChoiceField(choices=["asc", "desc"], required=False, default="desc")

    def validate_limit(self, value: int) -> int:
        return min(value, MAX_PAGE_SIZE)


class ConversationCreateInput(serializers.Serializer):
    """The optional body of POST .../new."""

    agentId = StrictCharField(required=False, max_length=256)
    metadata = JSONObjectField(required=False)


def _not_blank(value: str) -> None:
    if not value.strip():
        raise serializers.ValidationError(BLANK_CONTENT)


class MessageAppendInput(serializers.Serializer):
    """The body of POST .../{id}/message: one AgentMessage, content kept exactly as sent."""

    role = serializers.ChoiceField(choices=["user", "assistant", "system", "tool"])
    content = StrictCharField(max_length=MESSAGE_CONTENT_MAX_LENGTH, validators=[_not_blank])
    source = serializers.ChoiceField(
        choices=["voice", "text", "tool_output", "system_event"], required=False, default="text"
    )
    timestamp = TimestampField(required=False)
    messageId = StrictCharField(required=False, min_length=1, max_length=128)
    toolName = StrictCharField(required=False, min_length=1, max_length=256)
    toolArgs = JSONObjectField(required=False)
    toolOutput = StrictCharField(required=False, max_length=MESSAGE_CONTENT_MAX_LENGTH)
    status = serializers.ChoiceField(choices=["pending", "completed", "failed"], required=False)
