"""cursor-runner, the service that runs the agent's tools: its health, and handing it a task."""

import asyncio
import enum
from typing import Literal

import httpx
from django.conf import settings

from elevenlabs_agent.middleware import request_id_var

CursorRunnerState = Literal["connected", "unhealthy", "disconnected", "not configured"]
# Per connect and per read; /config/health also puts one deadline on the whole probe.
HEALTH_TIMEOUT_SECONDS = 0.75
EXECUTE_PATH = "/cursor/execute/async"


def _url(path: str) -> str:
    return f"{settings.CURSOR_RUNNER_URL.rstrip('/')}{path}"


def cursor_runner_health() -> CursorRunnerState:
    """GET {CURSOR_RUNNER_URL}/health: 2xx connected, another status unhealthy, no answer
    disconnected."""
    if not settings.CURSOR_RUNNER_URL:
        return "not configured"
    try:
        response = httpx.get(_url("/health"), timeout=HEALTH_TIMEOUT_SECONDS)
    except httpx.HTTPError:
        return "disconnected"
    return "connected" if response.is_success else "unhealthy"


class Dispatch(enum.Enum):
    ACCEPTED = "accepted"  # a 2xx answer
    REFUSED = "refused"  # another answer, or no connection (or no CURSOR_RUNNER_URL)
    NO_ANSWER = "no answer"  # nothing within CURSOR_RUNNER_TIMEOUT_SECONDS: it may have started


def dispatch(*, request_id: str, prompt: str, conversation_id: str, callback_url: str) -> Dispatch:
    """POST the task to cursor-runner's async queue, once (no retries: a retry could start the
    work twice), within CURSOR_RUNNER_TIMEOUT_SECONDS in all.

    httpx's timeouts bound each connect or read, not the whole exchange, so the exchange runs
    under one asyncio deadline (on a loop of its own: views run on a thread, see asgi_http.py).
    """
    if not settings.CURSOR_RUNNER_URL:
        return Dispatch.REFUSED
    body = {
        "id": request_id,
        "prompt": prompt,
        "conversationId": conversation_id,
        "queueType": "api",
        "callbackUrl": callback_url,
    }
    secret = settings.CURSOR_RUNNER_SECRET
    headers = {"X-Request-ID": request_id_var.get()}  # ties cursor-runner's logs to ours
    if secret:
        headers["X-Webhook-Secret"] = secret

    async def post() -> Dispatch:
        try:
            async with (
                asyncio.timeout(settings.CURSOR_RUNNER_TIMEOUT_SECONDS),
                httpx.AsyncClient() as client,
            ):
                response = await client.post(_url(EXECUTE_PATH), json=body, headers=headers)
        except TimeoutError:
            return Dispatch.NO_ANSWER
        except httpx.HTTPError:
            return Dispatch.REFUSED
        return Dispatch.ACCEPTED if response.is_success else Dispatch.REFUSED

    return asyncio.run(post())
