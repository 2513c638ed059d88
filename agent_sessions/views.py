"""POST, GET and DELETE /agent-conversations/api/{id}/session."""

from rest_framework.request import Request
from rest_framework.response import Response

from agent_sessions import store
from agent_sessions.serializers import (
    SessionRegistered,
    SessionRegisterInput,
    SessionRemoved,
    SessionStatus,
)
from elevenlabs_agent.errors import NoActiveSession
from elevenlabs_agent.ids import CONVERSATION_ID, PathIdViewSet
from elevenlabs_agent.openapi import documented
from elevenlabs_agent.serializers import without_none

SESSION_REGISTERED = "Session registered"
SESSION_REMOVED = "Session removed"


class SessionViewSet(PathIdViewSet):
    """A conversation's live ElevenLabs session, kept for the callback system."""

    @documented(
        SessionRegistered,
        413, 415,
        request=SessionRegisterInput,
        path_id=CONVERSATION_ID,
        summary="Register the conversation's live session (replaces it, restarts its TTL)",
    )  # fmt: skip
    def create(self, request: Request, conversation_id: str) -> Response:
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
        404,
        path_id=CONVERSATION_ID,
        summary="Whether the conversation has a live session",
    )  # fmt: skip
    def retrieve(self, request: Request, conversation_id: str) -> Response:
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
        path_id=CONVERSATION_ID,
        summary="Drop the conversation's session (idempotent)",
    )  # fmt: skip
    def destroy(self, request: Request, conversation_id: str) -> Response:
        removed = store.session_delete(conversation_id=conversation_id)
        answer: SessionRemoved = {"success": True, "message": SESSION_REMOVED, "removed": removed}
        return Response(answer)
