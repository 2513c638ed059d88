from django.urls import path

from agent_sessions.views import SessionViewSet

urlpatterns = [
    path(
        "<str:conversation_id>/session",
        SessionViewSet.as_view({"post": "create", "get": "retrieve", "delete": "destroy"}),
        name="agent-session",
    ),
]
