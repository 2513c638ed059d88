"""Validation of the conversation routes' input, and the shapes of their answers."""

from typing import Any, NotRequired, TypedDict

from rest_framework import serializers

from agent_conversations.store import AgentConversation, AgentMessage
from elevenlabs_agent.serializers import (
    WHITESPACE,
    InputSerializer,
    JSONObjectField,
    StrictCharField,
    TimestampField,
    WholeNumberField,
)

MAX_PAGE_SIZE = 100
MAX_OFFSET = 1_000_000_000
MESSAGE_CONTENT_MAX_LENGTH = 32_000
BLANK_CONTENT = "Must contain non-whitespace text."


class ConversationListQuery(InputSerializer):
    """Query parameters of GET .../list; a limit above MAX_PAGE_SIZE is clamped, not refused."""

    limit = WholeNumberField(required=False, default=20, min_value=1)
    # Bounded so Redis (and Lua's doubles) always get an exact integer.
    offset = WholeNumberField(required=False, default=0, min_value=0, max_value=MAX_OFFSET)
    sortBy = serializers.ChoiceField(
        choices=["createdAt", "lastAccessedAt", "messageCount"],
        required=False,
        default="lastAccessedAt",
    )
    sortOrder = serializers.ChoiceField(choices=["asc", "desc"], required=False, default="desc")
    agentId = StrictCharField(required=False, min_length=1, max_length=256)

    def validate_limit(self, value: int) -> int:
        return min(value, MAX_PAGE_SIZE)


class ConversationCreateInput(InputSerializer):
    """The optional body of POST .../new."""

    agentId = StrictCharField(required=False, max_length=256)
    metadata = JSONObjectField(required=False)


class ConversationUpdateInput(ConversationCreateInput):
    """The body of PATCH .../{id}: what it holds is set; metadata is replaced as a whole."""


MAX_MESSAGES_PAGE_SIZE = 500
CURSORS_EXCLUSIVE = "after and before cannot be combined."


class MessagePageQuery(InputSerializer):
    """Query of GET .../{id}/messages; a limit above MAX_MESSAGES_PAGE_SIZE is clamped."""

    limit = WholeNumberField(required=False, default=50, min_value=1)
    after = StrictCharField(required=False, min_length=1, max_length=128)
    before = StrictCharField(required=False, min_length=1, max_length=128)

    def validate_limit(self, value: int) -> int:
        return min(value, MAX_MESSAGES_PAGE_SIZE)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "after" in attrs and "before" in attrs:
            raise serializers.ValidationError(CURSORS_EXCLUSIVE)
        return attrs


# Some text that is not whitespace (and, as everywhere, no NUL).
CONTENT_PATTERN = rf"^[^\x00]*[^\x00{WHITESPACE}][^\x00]*$"


class MessageAppendInput(InputSerializer):
    """The body of POST .../{id}/message: one AgentMessage, content kept exactly as sent."""

    role = serializers.ChoiceField(choices=["user", "assistant", "system", "tool"])
    content = StrictCharField(
        CONTENT_PATTERN,
        max_length=MESSAGE_CONTENT_MAX_LENGTH,
        error_messages={"pattern": BLANK_CONTENT},
    )
    # DRF's serializer metaclass moves declared fields off the class, so a field may be named
    # like a Field attribute (`source`).
    source = serializers.ChoiceField(  # type: ignore[assignment]
        # user_input and agent_response: older names the frontend's type still allows.
        choices=["voice", "text", "tool_output", "system_event", "user_input", "agent_response"],
        required=False,
        default="text",
    )
    timestamp = TimestampField(required=False)
    messageId = StrictCharField(required=False, min_length=1, max_length=128)
    toolName = StrictCharField(required=False, min_length=1, max_length=256)
    toolArgs = JSONObjectField(required=False)
    toolOutput = StrictCharField(required=False, max_length=MESSAGE_CONTENT_MAX_LENGTH)
    status = serializers.ChoiceField(choices=["pending", "completed", "failed"], required=False)


# --- Output: the response bodies, as the views build them ---------------------------------------


class Pagination(TypedDict):
    total: int
    limit: int
    offset: int
    hasMore: bool


class ConversationListPage(TypedDict):
    conversations: list[AgentConversation]
    pagination: Pagination


class ConversationRemoved(TypedDict):
    success: bool
    removed: bool


class MessagePage(TypedDict):
    messages: list[AgentMessage]
    hasMore: bool
    firstId: NotRequired[str]  # absent on an empty page
    lastId: NotRequired[str]


class ConversationCreated(TypedDict):
    success: bool
    conversationId: str
    message: str
    conversation: AgentConversation


class MessageAdded(TypedDict):
    success: bool
    conversationId: str
    message: str
    messageId: str
    messageCount: int
    duplicate: NotRequired[bool]  # present (true) only for a retry of a stored messageId
