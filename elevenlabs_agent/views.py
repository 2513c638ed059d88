"""Health and configuration routes (contract section 6)."""

from collections.abc import Callable
from typing import Literal, TypedDict

from django.conf import settings
from rest_framework import status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.request import Request
from rest_framework.response import Response

from elevenlabs_agent.exceptions import StoreUnavailable
from elevenlabs_agent.openapi import documented
from elevenlabs_agent.redis import redis_ping
from elevenlabs_agent.timestamps import now_js_iso

SERVICE_NAME = "elevenlabs-agent"


class Liveness(TypedDict):
    status: Literal["ok"]


class HealthReport(TypedDict):
    service: str
    status: Literal["ok", "degraded"]
    dependencies: dict[str, Literal["ok", "unavailable"]]
    featureEnabled: bool
    timestamp: str


class Readiness(TypedDict):
    success: bool
    health: HealthReport


class PublicConfig(TypedDict):
    featureEnabled: bool
    sessionTtlSeconds: int
    conversationTtlSeconds: int
    redis: Literal["external", "embedded"]
    maxRequestBodyBytes: int
    apiKeysRequired: bool


class ConfigResponse(TypedDict):
    success: bool
    config: PublicConfig


def ungated(view: Callable[..., Response]) -> Callable[..., Response]:
    """Health routes: no feature flag, no API key, no throttle (load balancers poll them)."""
    return authentication_classes([])(permission_classes([])(throttle_classes([])(view)))


@documented(Liveness, gated=False)
@api_view(["GET"])
@ungated
def health(request: Request) -> Response:
    """Liveness: the process answers; Redis is not touched."""
    return Response({"status": "ok"})


@documented(Readiness, gated=False)
@api_view(["GET"])
@ungated
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


@documented(ConfigResponse)
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
                "apiKeysRequired": bool(settings.AGENT_API_KEYS),
            },
        }
    )
