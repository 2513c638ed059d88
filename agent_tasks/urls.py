from django.urls import path

from agent_tasks.views import CallbackViewSet, TaskViewSet, ToolCallViewSet

urlpatterns = [
    path("agent-tools", ToolCallViewSet.as_view({"post": "create"}), name="agent-tools"),
    path("callback", CallbackViewSet.as_view({"post": "create"}), name="callback"),
    path("tasks/<str:request_id>", TaskViewSet.as_view({"get": "retrieve"}), name="task"),
]
