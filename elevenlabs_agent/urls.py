from django.urls import include, path

from elevenlabs_agent import views

API_PREFIX = "agent-conversations/api/"

urlpatterns = [
    path("health", views.health, name="health"),
    path("config", views.config, name="config"),
    path("config/health", views.config_health, name="config-health"),
    path(API_PREFIX, include("agent_conversations.urls")),
    path(API_PREFIX, include("agent_sessions.urls")),
]

handler400 = "elevenlabs_agent.exceptions.bad_request"
handler403 = "elevenlabs_agent.exceptions.permission_denied"
handler404 = "elevenlabs_agent.exceptions.not_found"
handler500 = "elevenlabs_agent.exceptions.server_error"
