"""POST, GET and DELETE /agent-conversations/api/{id}/session."""

from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from agent_conversations.serializers import CONVERSATION_ID_PARAMETER, validated_conversation_id
from agent_sessions import store
from agent_sessions.serializers import (
    SessionRegistered,
    SessionRegisterInput,
    SessionRemoved,
    SessionStatus,
)
from elevenlabs_agent.exceptions import EnvelopeError
from elevenlabs_agent.openapi import documented
from elevenlabs_agent.serializers import without_none

SESSION_REGISTERED = "Session registered"
SESSION_REMOVED = "Session removed"
NO_ACTIVE_SESSION = "No active session"


class NoActiveSession(NotFound, EnvelopeError):
    """The conversation has no live session (never registered, removed, or expired)."""

    default_detail = NO_ACTIVE_SESSION
    envelope_extra = {"active": False}


class SessionViewSet(viewsets.ViewSet):
    """A conversation's live ElevenLabs session, kept for the callback system."""

    @documented(
        SessionRegistered,
        400, 413, 415,
        request=SessionRegisterInput,
        parameters=[CONVERSATION_ID_PARAMETER],
        summary="Register the conversation's live session (replaces it, restarts its TTL)",
    )  # fmt: skip
    def create(self, request: Request, conversation_id: str) -> Response:
        conversation_id = validated_conversation_id(conversation_id)
        body = SessionRegisterInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        registration = store.session_set(
            conversation_id=conversation_id,
            session_url=data["sessionUrl"],
            session_payload=data.get("sessionPayload"),
            session_id=data.get("sessionId", data.get("agentSessionId")),
            expires_at=data.get("expiresAt"),
            transport=data.get("transport"),
            metadata=data.get("metadata"),
        )
        record = registration.record
        response = {
            "success": True,
            "message": SESSION_REGISTERED,
            "conversationId": conversation_id,
            "sessionId": record.get("sessionId"),
            "ttl": record["ttl"],
            "createdAt": record["createdAt"],
            "conversationCreated": registration.conversation_created,
        }
        return Response(without_none(response))

    @documented(
        SessionStatus,
        400, 404,
        parameters=[CONVERSATION_ID_PARAMETER],
        summary="Whether the conversation has a live session",
    )  # fmt: skip
    def retrieve(self, request: Request, conversation_id: str) -> Response:
        conversation_id = validated_conversation_id(conversation_id)
        session = store.session_get(conversation_id=conversation_id)
        if session is None:
            raise NoActiveSession
        # Never the URL, payload or metadata: they carry credentials.
        status = {
            "active": True,
            "conversationId": conversation_id,
            "sessionId": session.record.get("sessionId"),
            "transport": session.record.get("transport"),
            "createdAt": session.record.get("createdAt"),
            "expiresInSeconds": session.expires_in_seconds,
        }
        return Response(without_none(status))

    @documented(
        SessionRemoved,
        400,
        parameters=[CONVERSATION_ID_PARAMETER],
        summary="Drop the conversation's session (idempotent)",
    )  # fmt: skip
    def destroy(self, request: Request, conversation_id: str) -> Response:
        conversation_id = validated_conversation_id(conversation_id)
        removed = store.session_delete(conversation_id=conversation_id)
        return Response({"success": True, "message": SESSION_REMOVED, "removed": removed})
