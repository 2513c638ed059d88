"""The agent-conversation routes: list, new, get, edit, delete, append and page messages."""

import uuid

from rest_framework.request import Request
from rest_framework.response import Response

from agent_conversations import store
from agent_conversations.serializers import (
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
)
from agent_conversations.store import AgentConversation
from agent_sessions.store import session_key
from elevenlabs_agent.errors import ConversationFull, ConversationNotFound, MessageNotFound
from elevenlabs_agent.ids import CONVERSATION_ID, PathIdViewSet
from elevenlabs_agent.openapi import documented
from elevenlabs_agent.timestamps import now_js_iso

CONVERSATION_CREATED = "New agent conversation created"
MESSAGE_ADDED = "Message added to conversation"


class ConversationViewSet(PathIdViewSet):
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
        created: ConversationCreated = {
            "success": True,
            "conversationId": conversation["conversationId"],
            "message": CONVERSATION_CREATED,
            "conversation": conversation,
        }
        return Response(created)

    @documented(
        AgentConversation,
        404,
        path_id=CONVERSATION_ID,
        summary="A conversation with its messages (counts as using it)",
    )  # fmt: skip
    def retrieve(self, request: Request, conversation_id: str) -> Response:
        conversation = store.conversation_get(conversation_id=conversation_id)
        if conversation is None:
            raise ConversationNotFound
        return Response(conversation)

    @documented(
        AgentConversation,
        404, 413, 415,
        request=ConversationUpdateInput,
        path_id=CONVERSATION_ID,
        summary="Set agentId and/or metadata (metadata replaced as a whole)",
    )  # fmt: skip
    def partial_update(self, request: Request, conversation_id: str) -> Response:
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
        path_id=CONVERSATION_ID,
        summary="Delete the conversation and everything of it (idempotent)",
    )  # fmt: skip
    def destroy(self, request: Request, conversation_id: str) -> Response:
        removed = store.conversation_delete(
            conversation_id=conversation_id, companion_key=session_key(conversation_id)
        )
        answer: ConversationRemoved = {"success": True, "removed": removed}
        return Response(answer)

    @documented(
        MessagePage,
        404,
        path_id=CONVERSATION_ID,
        parameters=[MessagePageQuery],
        summary="A page of messages in append order (oldest first, or after/before a messageId)",
    )  # fmt: skip
    def messages(self, request: Request, conversation_id: str) -> Response:
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
        404, 409, 413, 415,
        request=MessageAppendInput,
        path_id=CONVERSATION_ID,
        summary="Append a message (idempotent by messageId)",
    )  # fmt: skip
    def message(self, request: Request, conversation_id: str) -> Response:
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
        result = store.message_append(
            conversation_id=conversation_id,
            message=message,
            session_key=session_key(conversation_id),
        )
        if result is None:
            raise ConversationNotFound
        if result.full:
            raise ConversationFull
        response: MessageAdded = {
            "success": True,
            "conversationId": conversation_id,
            "message": MESSAGE_ADDED,
            "messageId": result.message_id,
            "messageCount": result.message_count,
        }
        if result.duplicate:
            response["duplicate"] = True
        return Response(response)
