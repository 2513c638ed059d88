"""Health and configuration routes (contract section 6)."""

from django.conf import settings
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from elevenlabs_agent.exceptions import StoreUnavailable
from elevenlabs_agent.redis import redis_ping
from elevenlabs_agent.timestamps import now_js_iso

SERVICE_NAME = "elevenlabs-agent"


@api_view(["GET"])
@permission_classes([])  # health is never gated
def health(request: Request) -> Response:
    """Liveness: the process answers; Redis is not touched."""
    return Response({"status": "ok"})


@api_view(["GET"])
@permission_classes([])
def config_health(request: Request) -> Response:
    """Readiness: the service and its Redis."""
    try:
        redis_ping()
        redis_state, service_state, code = "ok", "ok", status.HTTP_200_OK
    except StoreUnavailable:
        redis_state, service_state = "unavailable", "degraded"
        code = status.HTTP_503_SERVICE_UNAVAILABLE
    report = {
        "service": SERVICE_NAME,
        "status": service_state,
        "dependencies": {"redis": redis_state},
        "featureEnabled": settings.ELEVENLABS_AGENT_ENABLED,
        "timestamp": now_js_iso(),
    }
    return Response({"success": code == status.HTTP_200_OK, "health": report}, status=code)


@api_view(["GET"])
def config(request: Request) -> Response:
    """Non-secret settings, for the frontend and operators (gated by the feature flag)."""
    return Response(
        {
            "success": True,
            "config": {
                "featureEnabled": settings.ELEVENLABS_AGENT_ENABLED,
                "sessionTtlSeconds": settings.SESSION_TTL_SECONDS,
                "conversationTtlSeconds": settings.CONVERSATION_TTL_SECONDS,
                "redis": "embedded" if settings.REDIS_EMBEDDED else "external",
                "maxRequestBodyBytes": settings.MAX_REQUEST_BODY_BYTES,
            },
        }
    )
