"""POST /webhooks/elevenlabs/post-call: ElevenLabs' transcript of a finished call, imported into
the conversation it belongs to.

The signature is checked here, in a few lines, rather than with the ElevenLabs SDK's helper
(`webhooks.construct_event`): the SDK weighs about 30 MB per worker for this one function (see
elevenlabs_agent/elevenlabs_api.py), and the scheme is short and documented: header
`ElevenLabs-Signature: t=<unix seconds>,v0=<hex HMAC-SHA256 of "<t>.<raw body>">`.
"""

import hashlib
import hmac
import time
import uuid
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from django.conf import settings
from rest_framework import serializers, viewsets
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from agent_conversations import store
from agent_conversations.serializers import MESSAGE_CONTENT_MAX_LENGTH
from agent_conversations.store import AgentMessage
from agent_sessions.store import session_end
from elevenlabs_agent.errors import (
    ConversationChanging,
    ElevenLabsWebhookSecretMissing,
    SignatureInvalid,
)
from elevenlabs_agent.ids import CONVERSATION_ID
from elevenlabs_agent.openapi import documented
from elevenlabs_agent.parsers import TranscriptJSONParser
from elevenlabs_agent.permissions import FeatureEnabled
from elevenlabs_agent.serializers import InputSerializer, JSONObjectField, StrictCharField
from elevenlabs_agent.timestamps import from_epoch_ms, now_js_iso

if TYPE_CHECKING:
    from rest_framework.views import APIView

TRANSCRIPTION = "post_call_transcription"
# A signature older or newer than this is refused: a captured delivery cannot be replayed later.
SIGNATURE_TOLERANCE_SECONDS = 30 * 60


def signature_valid(header: str, body: bytes, secret: str, now: float) -> bool:
    """Whether `header` signs `body` with `secret`, within the tolerance around `now`."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, signature = fields.get("t", ""), fields.get("v0", "")
    if not timestamp.isdecimal() or abs(now - int(timestamp)) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    # As bytes: compare_digest refuses str with non-ASCII characters (a header may carry any).
    return hmac.compare_digest(expected.hexdigest().encode(), signature.encode())


class ElevenLabsSignatureRequired(BasePermission):
    """ELEVENLABS_WEBHOOK_SECRET must sign the raw body; without it configured, the route is
    closed."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if request.method not in view.allowed_methods:
            return True  # the view answers 405 (DRF checks permissions before the method)
        secret = settings.ELEVENLABS_WEBHOOK_SECRET
        if not secret:
            raise ElevenLabsWebhookSecretMissing
        header = request.headers.get("ElevenLabs-Signature", "")
        if not signature_valid(header, request.body, secret, time.time()):
            raise SignatureInvalid
        return True


class TranscriptTurn(serializers.Serializer):
    role = serializers.ChoiceField(choices=["user", "agent"])
    message = StrictCharField(
        required=False, allow_null=True, allow_blank=True, max_length=MESSAGE_CONTENT_MAX_LENGTH
    )
    time_in_call_secs = serializers.FloatField(required=False, allow_null=True, min_value=0)


class PostCallData(InputSerializer):
    """The part of ElevenLabs' `data` that is imported; other fields are ignored."""

    conversation_id = StrictCharField(min_length=1, max_length=256)
    agent_id = StrictCharField(required=False, min_length=1, max_length=256)
    transcript = TranscriptTurn(many=True, required=False, default=list)
    analysis = JSONObjectField(required=False)
    metadata = JSONObjectField(required=False)
    conversation_initiation_client_data = JSONObjectField(required=False)


class PostCallInput(InputSerializer):
    type = StrictCharField(max_length=64)
    # A field named like Serializer.data: DRF's metaclass moves declared fields off the class.
    data = JSONObjectField(required=False, default=dict)  # type: ignore[assignment]


class PostCallImported(TypedDict):
    conversationId: NotRequired[str]
    imported: NotRequired[int]
    duplicates: NotRequired[int]
    conversationCreated: NotRequired[bool]
    notStored: NotRequired[int]  # turns refused because the conversation is full
    ignored: NotRequired[bool]  # an event type other than post_call_transcription


def _client_conversation_id(data: dict[str, Any]) -> str | None:
    """The conversation id the browser passed to the call as a dynamic variable, if valid."""
    client_data = data.get("conversation_initiation_client_data") or {}
    variables = client_data.get("dynamic_variables") if isinstance(client_data, dict) else None
    candidate = variables.get("conversation_id") if isinstance(variables, dict) else None
    if isinstance(candidate, str) and CONVERSATION_ID.pattern.fullmatch(candidate):
        return candidate
    return None


# Conversations created for calls that named none (rule 3) get ids derived from the call's, so
# that deliveries racing each other for a new call land in one conversation.
_CALLS = uuid.UUID("4f0e7a52-3c1b-4f7e-9a43-2d6b1c7e8f10")


def _conversation_for_call(call_id: str) -> str:
    return str(uuid.uuid5(_CALLS, call_id))


def _messages(data: dict[str, Any]) -> list[AgentMessage]:
    """Each turn that said something, as a voice message whose id is the turn's index."""
    started = (data.get("metadata") or {}).get("start_time_unix_secs")
    messages: list[AgentMessage] = []
    for index, turn in enumerate(data["transcript"]):
        text = turn.get("message")
        if not text or not text.strip():
            continue  # a turn that only called tools
        offset = turn.get("time_in_call_secs")
        timestamp = (
            from_epoch_ms(int((started + offset) * 1000))
            if isinstance(started, (int, float)) and offset is not None
            else now_js_iso()
        )
        messages.append(
            {
                "messageId": f"el:{data['conversation_id']}:{index}",
                "role": "user" if turn["role"] == "user" else "assistant",
                "content": text,
                "timestamp": timestamp,
                "source": "voice",
            }
        )
    return messages


# The page's clock and ElevenLabs' may differ: its voice messages count as the call's from this
# long before the call's start.
CALL_START_SLACK_SECONDS = 10


def _call_start(data: dict[str, Any]) -> str:
    """When the call started, less the slack (ISO-8601), or '' when the transcript does not say."""
    started = (data.get("metadata") or {}).get("start_time_unix_secs")
    if not isinstance(started, (int, float)):
        return ""
    return from_epoch_ms(int((started - CALL_START_SLACK_SECONDS) * 1000))


class PostCallView(viewsets.ViewSet):
    authentication_classes: list[type] = []  # the signature is the authentication
    permission_classes = [FeatureEnabled, ElevenLabsSignatureRequired]
    parser_classes = [TranscriptJSONParser]

    @documented(
        PostCallImported,
        400, 404, 409, 413, 415,
        request=PostCallInput,
        summary="ElevenLabs' post-call webhook: import the call's transcript (idempotent)",
    )  # fmt: skip
    def create(self, request: Request) -> Response:
        event = PostCallInput(data=request.data)
        event.is_valid(raise_exception=True)
        if event.validated_data["type"] != TRANSCRIPTION:
            return Response({"ignored": True})
        body = PostCallData(data=event.validated_data["data"])
        body.is_valid(raise_exception=True)
        data = body.validated_data
        call_id = data["conversation_id"]
        # Rule 1: the call's id, as the browser registered it (or an earlier delivery mapped it);
        # 2: the conversation the browser named when it started the call; 3: a new one.
        conversation_id = store.conversation_id_for(elevenlabs_id=call_id)
        created = False
        if conversation_id is None:
            conversation_id = _client_conversation_id(data) or _conversation_for_call(call_id)
            created = store.conversation_ensure(
                conversation_id=conversation_id,
                elevenlabs_id=call_id,
                agent_id=data.get("agent_id"),
            )
        analysis = data.get("analysis") or {}
        summary = {
            "conversationId": call_id,
            "callSuccessful": analysis.get("call_successful"),
            "summary": analysis.get("transcript_summary"),
        }

        def with_call_summary(metadata: dict[str, Any]) -> dict[str, Any]:
            return {**metadata, "elevenlabs": summary}

        try:
            result = store.messages_import(
                conversation_id=conversation_id,
                messages=_messages(data),
                metadata_update=with_call_summary,
                call_start=_call_start(data),
            )
        except store.ConversationChanging:
            raise ConversationChanging from None
        if result is None:  # deleted in between: the next delivery creates it again
            raise ConversationChanging
        session_end(conversation_id=conversation_id, call_id=call_id)  # the call is over
        answer: PostCallImported = {
            "conversationId": conversation_id,
            "imported": result.imported,
            "duplicates": result.duplicates,
            "conversationCreated": created,
        }
        if result.full:
            answer["notStored"] = result.full
        return Response(answer)
