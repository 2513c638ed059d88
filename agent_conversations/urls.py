from django.urls import path

from agent_conversations.views import ConversationViewSet

# `list` and `new` come before `<id>` so they are never read as ids.
urlpatterns = [
    path("list", ConversationViewSet.as_view({"get": "list_page"}), name="agent-conversation-list"),
    path("new", ConversationViewSet.as_view({"post": "create"}), name="agent-conversation-new"),
    path(
        "<str:conversation_id>",
        ConversationViewSet.as_view(
            {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
        ),
        name="agent-conversation",
    ),
    path(
        "<str:conversation_id>/messages",
        ConversationViewSet.as_view({"get": "messages"}),
        name="agent-conversation-messages",
    ),
    path(
        "<str:conversation_id>/message",
        ConversationViewSet.as_view({"post": "message"}),
        name="agent-conversation-message",
    ),
]
