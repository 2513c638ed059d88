"""Input of the tool webhook and the callback; the shapes of their answers."""

from typing import Any, Literal, NotRequired, TypedDict

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from elevenlabs_agent.ids import CONVERSATION_ID
from elevenlabs_agent.serializers import (
    InputSerializer,
    JSONObjectField,
    StrictCharField,
    TimestampField,
)

NAME_MAX_LENGTH = 256
RESULT_MAX_LENGTH = 32_000
CONVERSATION_REQUIRED = "conversation_id or session_id is required."


class ToolCallInput(InputSerializer):
    """What ElevenLabs sends to POST /agent-tools (its own snake_case names)."""

    tool_name = StrictCharField(min_length=1, max_length=NAME_MAX_LENGTH)
    tool_args = JSONObjectField(required=False, default=dict)
    conversation_id = StrictCharField(CONVERSATION_ID.pattern.pattern, required=False)
    session_id = StrictCharField(required=False, min_length=1, max_length=NAME_MAX_LENGTH)
    agent_id = StrictCharField(required=False, min_length=1, max_length=NAME_MAX_LENGTH)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "conversation_id" not in attrs and "session_id" not in attrs:
            raise serializers.ValidationError(CONVERSATION_REQUIRED)
        return attrs


class ToolCallInputSchema(OpenApiSerializerExtension):
    """Publishes ToolCallInput's rule that one of the two ids is present (as `anyOf`)."""

    target_class = ToolCallInput

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["anyOf"] = [{"required": ["conversation_id"]}, {"required": ["session_id"]}]
        return schema


class TaskStatusArgs(InputSerializer):
    """tool_args of the `task_status` tool: a task to tell of, else the latest ones."""

    requestId = StrictCharField(required=False, min_length=1, max_length=NAME_MAX_LENGTH)


class CallbackInput(InputSerializer):
    """What cursor-runner sends to POST /callback when a task ends."""

    success = serializers.BooleanField()
    requestId = StrictCharField(min_length=1, max_length=NAME_MAX_LENGTH)
    output = StrictCharField(required=False, allow_blank=True, max_length=RESULT_MAX_LENGTH)
    error = StrictCharField(required=False, allow_blank=True, max_length=RESULT_MAX_LENGTH)
    timestamp = TimestampField(required=False)


class ToolCallResult(TypedDict):
    requestId: str
    status: Literal["processing", "failed"]


class ToolCallAnswer(TypedDict):
    """What the agent gets back: `say` is a sentence it can speak."""

    ok: bool
    say: str
    result: ToolCallResult


class TaskState(TypedDict):
    requestId: str
    status: Literal["processing", "completed", "failed"]
    toolName: str
    output: NotRequired[str]
    error: NotRequired[str]


class TaskStates(TypedDict):
    tasks: list[TaskState]


class TaskStatusAnswer(TypedDict):
    """The `task_status` tool's answer: `say` for the voice, `result` for the agent's model."""

    ok: bool
    say: str
    result: TaskStates


class CallbackAnswer(TypedDict):
    success: bool
    requestId: str
    conversationId: str
    status: Literal["pending", "completed", "failed"]
    duplicate: NotRequired[bool]
