"""Health, configuration and signed-URL routes (the frontend's dashboard and config page)."""

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Literal, NotRequired, TypedDict

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from elevenlabs_agent import metrics
from elevenlabs_agent.asgi_http import waits_on_another_service
from elevenlabs_agent.cursor_runner import CursorRunnerState, cursor_runner_health
from elevenlabs_agent.elevenlabs_api import require_api_key, signed_url_get
from elevenlabs_agent.errors import StoreUnavailable
from elevenlabs_agent.openapi import documented
from elevenlabs_agent.permissions import ApiKeyRequired
from elevenlabs_agent.redis import Durability, durability, redis_ping
from elevenlabs_agent.serializers import InputSerializer, StrictCharField
from elevenlabs_agent.timestamps import now_js_iso

SERVICE_NAME = "elevenlabs-agent"
AGENT_ID_REQUIRED = "agentId is required: pass ?agentId= or set ELEVENLABS_AGENT_ID."
# Both probes run at once, under one deadline inside the 2 seconds the contract allows.
PROBE_DEADLINE_SECONDS = 1.5

RedisState = Literal["connected", "disconnected"]


class Liveness(TypedDict):
    status: Literal["ok"]


class Readiness(TypedDict):
    status: Literal["ready", "unavailable"]
    dependencies: NotRequired[dict[str, RedisState]]


class Dependencies(TypedDict):
    redis: RedisState
    cursorRunner: CursorRunnerState


class HealthReport(TypedDict):
    service: str
    status: Literal["ok", "degraded"]
    dependencies: Dependencies
    featureEnabled: bool
    timestamp: str


class PublicConfig(TypedDict):
    agentId: str | None
    agentUrl: str
    cursorRunnerUrl: str | None
    webhookSecretConfigured: bool
    cursorRunnerSecretConfigured: bool
    redisUrl: Literal["configured", "not configured"]
    hasApiKey: bool
    featureEnabled: bool
    sessionTtlSeconds: int
    conversationTtlSeconds: int
    taskTtlSeconds: int
    redis: Literal["external", "embedded"]
    maxRequestBodyBytes: int
    apiKeysRequired: bool
    durability: Durability


class ConfigResponse(TypedDict):
    success: bool
    config: PublicConfig
    timestamp: str


class SignedUrlResponse(TypedDict):
    signedUrl: str


class SignedUrlQuery(InputSerializer):
    """Query of GET /signed-url; the agent defaults to ELEVENLABS_AGENT_ID."""

    agentId = StrictCharField(required=False, min_length=1, max_length=256)


def public_base_url(request: Request) -> str:
    """This service's base URL as others should call it: ELEVENLABS_AGENT_URL, else the base
    URL this request reached."""
    return (settings.ELEVENLABS_AGENT_URL or request.build_absolute_uri("/")).rstrip("/")


def ungated(view: Callable[..., Response]) -> Callable[..., Response]:
    """Health routes: no feature flag, no API key, no throttle (load balancers poll them)."""
    return authentication_classes([])(permission_classes([])(throttle_classes([])(view)))


def _redis_state() -> RedisState:
    try:
        redis_ping()
    except StoreUnavailable:
        return "disconnected"
    return "connected"


@documented(Liveness, gated=False)
@api_view(["GET"])
@ungated
def health(request: Request) -> Response:
    """Liveness: the process answers; Redis is not touched."""
    return Response({"status": "ok"})


@documented(Readiness, gated=False)
@api_view(["GET"])
@ungated
def readiness(request: Request) -> Response:
    """Readiness: 200 while Redis answers a PING, else 503."""
    if _redis_state() == "connected":
        return Response({"status": "ready"})
    return Response(
        {"status": "unavailable", "dependencies": {"redis": "disconnected"}},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
    )


@waits_on_another_service
@documented(HealthReport, gated=False)
@api_view(["GET"])
@ungated
def config_health(request: Request) -> Response:
    """The Agent Config page's health panel: always 200, `degraded` when a dependency is down."""
    deadline = time.monotonic() + PROBE_DEADLINE_SECONDS
    pool = ThreadPoolExecutor(max_workers=2)
    redis_probe = pool.submit(_redis_state)
    cursor_runner_probe = pool.submit(cursor_runner_health)
    pool.shutdown(wait=False)  # a probe past the deadline finishes on its own; nobody waits

    def outcome(probe: Future) -> Any:
        """The probe's answer, or `disconnected` when none came before the deadline."""
        try:
            return probe.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            return "disconnected"

    redis_state = outcome(redis_probe)
    cursor_runner = outcome(cursor_runner_probe)
    degraded = redis_state != "connected" or cursor_runner not in ("connected", "not configured")
    report: HealthReport = {
        "service": SERVICE_NAME,
        "status": "degraded" if degraded else "ok",
        "dependencies": {"redis": redis_state, "cursorRunner": cursor_runner},
        "featureEnabled": settings.ELEVENLABS_AGENT_ENABLED,
        "timestamp": now_js_iso(),
    }
    return Response(report)


@documented(ConfigResponse)
@api_view(["GET"])
def config(request: Request) -> Response:
    """What the frontend needs to start a voice session, and the service's non-secret settings."""
    public: PublicConfig = {
        "agentId": settings.ELEVENLABS_AGENT_ID or None,
        "agentUrl": public_base_url(request),
        "cursorRunnerUrl": settings.CURSOR_RUNNER_URL or None,
        "webhookSecretConfigured": bool(settings.WEBHOOK_SECRET),
        "cursorRunnerSecretConfigured": bool(settings.CURSOR_RUNNER_SECRET),
        "redisUrl": "not configured" if settings.REDIS_EMBEDDED else "configured",
        "hasApiKey": bool(settings.ELEVENLABS_API_KEY),
        "featureEnabled": settings.ELEVENLABS_AGENT_ENABLED,
        "sessionTtlSeconds": settings.SESSION_TTL_SECONDS,
        "conversationTtlSeconds": settings.CONVERSATION_TTL_SECONDS,
        "taskTtlSeconds": settings.TASK_TTL_SECONDS,
        "redis": "embedded" if settings.REDIS_EMBEDDED else "external",
        "maxRequestBodyBytes": settings.MAX_REQUEST_BODY_BYTES,
        "apiKeysRequired": bool(settings.AGENT_API_KEYS),
        "durability": durability(),
    }
    return Response({"success": True, "config": public, "timestamp": now_js_iso()})


@waits_on_another_service
@documented(SignedUrlResponse, 400, 401, 403, 404, 422, 502, 504, parameters=[SignedUrlQuery])
@api_view(["GET"])
def signed_url(request: Request) -> Response:
    """A signed URL from ElevenLabs for a conversation with a private agent."""
    require_api_key()  # checked first, whatever the query
    query = SignedUrlQuery(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    agent_id = query.validated_data.get("agentId") or settings.ELEVENLABS_AGENT_ID
    if not agent_id:
        raise ValidationError({"agentId": [AGENT_ID_REQUIRED]})
    return Response({"signedUrl": signed_url_get(agent_id=agent_id).url})


@extend_schema(exclude=True)  # Prometheus' text format, not JSON
@api_view(["GET"])
@permission_classes([ApiKeyRequired])  # not the feature flag: a dark deployment is watched too
@throttle_classes([])
def metrics_view(request: Request) -> HttpResponse:
    """Prometheus metrics of every worker of this server (metrics.py)."""
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
