from django.core.exceptions import ImproperlyConfigured
from django.urls import URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from agent_conversations.consumers import ConversationConsumer
from agent_conversations.post_call import PostCallView
from elevenlabs_agent import views

API_PREFIX = "agent-conversations/api/"
POST_CALL_PATH = "/webhooks/elevenlabs/post-call"

urlpatterns = [
    path("health", views.health, name="health"),
    path("health/ready", views.readiness, name="health-ready"),
    path("config", views.config, name="config"),
    path("config/health", views.config_health, name="config-health"),
    path("signed-url", views.signed_url, name="signed-url"),
    path("metrics", views.metrics_view, name="metrics"),
    # The API's description is public: no flag, no key, no throttle.
    path(
        "api/schema/",
        SpectacularAPIView.as_view(
            authentication_classes=[], permission_classes=[], throttle_classes=[]
        ),
        name="schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(
            url_name="schema", authentication_classes=[], permission_classes=[], throttle_classes=[]
        ),
        name="docs",
    ),
    path(API_PREFIX, include("agent_conversations.urls")),
    path(API_PREFIX, include("agent_sessions.urls")),
    path("", include("agent_tasks.urls")),
    path(POST_CALL_PATH.lstrip("/"), PostCallView.as_view({"post": "create"}), name="post-call"),
]


def waiting_paths(patterns: list, prefix: str = "/") -> frozenset[str]:
    """The paths of the views marked `@waits_on_another_service`: asgi_http.py runs them on a
    thread, so that their wait holds up no other request or socket of the worker. (Found before
    Django routes a request, hence paths without parameters only.)"""
    found: set[str] = set()
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found |= waiting_paths(entry.url_patterns, route)
            continue
        marked = (entry.callback, getattr(entry.callback, "cls", None))  # a function, a ViewSet
        if any(getattr(view, "waits_on_another_service", False) for view in marked):
            if "<" in route:
                raise ImproperlyConfigured(f"{route}: a waiting view needs a fixed path")
            found.add(route)
    return frozenset(found)


WAITING_PATHS = waiting_paths(urlpatterns)
# Routes whose bodies may be larger than MAX_REQUEST_BODY_BYTES, with the setting that bounds
# them (their views' parsers read the same setting).
BODY_LIMITS = {POST_CALL_PATH: "TRANSCRIPT_MAX_BODY_BYTES"}

# Served by Channels, on the same port (asgi.py).
websocket_urlpatterns = [path(f"{API_PREFIX}ws", ConversationConsumer.as_asgi())]

handler400 = "elevenlabs_agent.handlers.bad_request"
handler403 = "elevenlabs_agent.handlers.permission_denied"
handler404 = "elevenlabs_agent.handlers.not_found"
handler500 = "elevenlabs_agent.handlers.server_error"
