"""Validation of conversation ids and of the conversation routes' input."""

import re

from rest_framework.exceptions import ValidationError

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
