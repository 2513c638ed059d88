"""The agent-conversation routes: list, new, get, edit, delete, append and page messages."""

import uuid

from django.conf import settings
from rest_framework import status, viewsets
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from agent_conversations import store
from agent_conversations.serializers import (
    CONVERSATION_ID_PARAMETER,
    ConversationCreated,
    ConversationCreateInput,
    ConversationListPage,
    ConversationListQuery,
    ConversationRemoved,
    ConversationUpdateInput,
    MessageAdded,
    MessageAppendInput,
    MessagePage,
    MessagePageQuery,
    validated_conversation_id,
)
from agent_conversations.store import AgentConversation
from elevenlabs_agent.openapi import documented
from elevenlabs_agent.timestamps import now_js_iso

CONVERSATION_NOT_FOUND = "Agent conversation not found"
CONVERSATION_CREATED = "New agent conversation created"
MESSAGE_ADDED = "Message added to conversation"
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


class ConversationViewSet(viewsets.ViewSet):
    """The frontend's agent conversations."""

    @documented(
        ConversationListPage,
        400,
        parameters=[ConversationListQuery],
        summary="One page of conversations",
    )  # fmt: skip
    def list_page(self, request: Request) -> Response:  # not `list`: no array-wrapping in docs
        # A plain dict, so an empty value (`?limit=`) is a bad value, not a missing one.
        query = ConversationListQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        page = store.conversation_list(
            limit=params["limit"],
            offset=params["offset"],
            sort_by=params["sortBy"],
            sort_order=params["sortOrder"],
            agent_id=params.get("agentId"),
        )
        return Response(
            {
                "conversations": page.conversations,
                "pagination": {
                    "total": page.total,
                    "limit": params["limit"],
                    "offset": params["offset"],
                    "hasMore": params["offset"] + params["limit"] < page.total,
                },
            }
        )

    @documented(
        ConversationCreated,
        400, 413, 415,
        request=ConversationCreateInput,
        summary="Create an empty conversation (the body is optional)",
    )  # fmt: skip
    def create(self, request: Request) -> Response:
        body = ConversationCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        conversation = store.conversation_create(
            agent_id=body.validated_data.get("agentId"),
            metadata=body.validated_data.get("metadata"),
        )
        return Response(
            {
                "success": True,
                "conversationId": conversation["conversationId"],
                "message": CONVERSATION_CREATED,
                "conversation": conversation,
            }
        )

    @documented(
        AgentConversation,
        400, 404,
        parameters=[CONVERSATION_ID_PARAMETER],
        summary="A conversation with its messages (counts as using it)",
    )  # fmt: skip
    def retrieve(self, request: Request, conversation_id: str) -> Response:
        conversation_id = validated_conversation_id(conversation_id)
        conversation = store.conversation_get(conversation_id=conversation_id)
        if conversation is None:
            raise ConversationNotFound
        return Response(conversation)

    @documented(
        AgentConversation,
        400, 404, 413, 415,
        request=ConversationUpdateInput,
        parameters=[CONVERSATION_ID_PARAMETER],
        summary="Set agentId and/or metadata (metadata replaced as a whole)",
    )  # fmt: skip
    def partial_update(self, request: Request, conversation_id: str) -> Response:
        conversation_id = validated_conversation_id(conversation_id)
        body = ConversationUpdateInput(data=request.data)
        body.is_valid(raise_exception=True)
        conversation = store.conversation_update(
            conversation_id=conversation_id,
            agent_id=body.validated_data.get("agentId"),
            metadata=body.validated_data.get("metadata"),
        )
        if conversation is None:
            raise ConversationNotFound
        return Response(conversation)

    @documented(
        ConversationRemoved,
        400,
        parameters=[CONVERSATION_ID_PARAMETER],
        summary="Delete the conversation and everything of it (idempotent)",
    )  # fmt: skip
    def destroy(self, request: Request, conversation_id: str) -> Response:
        conversation_id = validated_conversation_id(conversation_id)
        removed = store.conversation_delete(conversation_id=conversation_id)
        return Response({"success": True, "removed": removed})

    @documented(
        MessagePage,
        400, 404,
        parameters=[CONVERSATION_ID_PARAMETER, MessagePageQuery],
        summary="A page of messages in append order (oldest first, or after/before a messageId)",
    )  # fmt: skip
    def messages(self, request: Request, conversation_id: str) -> Response:
        conversation_id = validated_conversation_id(conversation_id)
        query = MessagePageQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        try:
            page = store.messages_page(
                conversation_id=conversation_id,
                limit=params["limit"],
                after=params.get("after"),
                before=params.get("before"),
            )
        except store.UnknownCursor:
            raise MessageNotFound from None
        if page is None:
            raise ConversationNotFound
        body = {"messages": page.messages, "hasMore": page.has_more}
        if page.first_id is not None:
            body |= {"firstId": page.first_id, "lastId": page.last_id}
        return Response(body)

    @documented(
        MessageAdded,
        400, 404, 409, 413, 415,
        request=MessageAppendInput,
        parameters=[CONVERSATION_ID_PARAMETER],
        summary="Append a message (idempotent by messageId)",
    )  # fmt: skip
    def message(self, request: Request, conversation_id: str) -> Response:
        conversation_id = validated_conversation_id(conversation_id)
        body = MessageAppendInput(data=request.data)
        body.is_valid(raise_exception=True)
        fields = body.validated_data
        # The server fills messageId and timestamp; a client retry reuses its own messageId.
        message: store.AgentMessage = {
            "messageId": fields.get("messageId") or str(uuid.uuid4()),
            "role": fields["role"],
            "content": fields["content"],
            "timestamp": fields.get("timestamp") or now_js_iso(),
            "source": fields["source"],
        }
        for optional in ("toolName", "toolArgs", "toolOutput", "status"):
            if optional in fields:
                message[optional] = fields[optional]
        result = store.message_append(conversation_id=conversation_id, message=message)
        if result is None:
            raise ConversationNotFound
        if result.full:
            raise ConversationFull
        response = {
            "success": True,
            "conversationId": conversation_id,
            "message": MESSAGE_ADDED,
            "messageId": result.message_id,
            "messageCount": result.message_count,
        }
        if result.duplicate:
            response["duplicate"] = True
        return Response(response)
