"""cursor-runner, the service that runs the agent's tools: how this one sees its health."""

from typing import Literal

import httpx
from django.conf import settings

CursorRunnerState = Literal["connected", "unhealthy", "disconnected", "not configured"]
# Per connect and per read; /config/health also puts one deadline on the whole probe.
HEALTH_TIMEOUT_SECONDS = 0.75


def cursor_runner_health() -> CursorRunnerState:
    """GET {CURSOR_RUNNER_URL}/health: 2xx connected, another status unhealthy, no answer
    disconnected."""
    if not settings.CURSOR_RUNNER_URL:
        return "not configured"
    url = f"{settings.CURSOR_RUNNER_URL.rstrip('/')}/health"
    try:
        response = httpx.get(url, timeout=HEALTH_TIMEOUT_SECONDS)
    except httpx.HTTPError:
        return "disconnected"
    return "connected" if response.is_success else "unhealthy"
