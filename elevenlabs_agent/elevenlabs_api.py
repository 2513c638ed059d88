"""The ElevenLabs HTTP API, as far as this service uses it: signed conversation URLs.

A small client on httpx rather than the official SDK: the SDK lets the base URL and timeout
be set, but it brings pydantic, requests and websockets for this one GET, costs about 0.5 s
and 30 MB per worker to import (measured), and retries 5xx answers by default, which would
turn "no answer within the timeout" into several timeouts.
The API key travels only in the `xi-api-key` header: never in a URL, a log line or an answer.
"""

from dataclasses import dataclass

import httpx
from django.conf import settings

from elevenlabs_agent.errors import (
    REFUSALS,
    ApiKeyMissing,
    ElevenLabsRefused,
    ElevenLabsTimedOut,
    ElevenLabsUnreachable,
)

SIGNED_URL_PATH = "/v1/convai/conversation/get-signed-url"


@dataclass(frozen=True)
class SignedUrl:
    url: str


def require_api_key() -> str:
    """ELEVENLABS_API_KEY, or the 503 that says it is missing."""
    if not settings.ELEVENLABS_API_KEY:
        raise ApiKeyMissing
    return settings.ELEVENLABS_API_KEY


def signed_url_get(*, agent_id: str) -> SignedUrl:
    """A signed URL for a conversation with a private agent."""
    api_key = require_api_key()
    try:
        with httpx.Client(
            base_url=settings.ELEVENLABS_API_BASE_URL,
            timeout=settings.ELEVENLABS_API_TIMEOUT_SECONDS,
        ) as client:
            response = client.get(
                SIGNED_URL_PATH, params={"agent_id": agent_id}, headers={"xi-api-key": api_key}
            )
    except httpx.TimeoutException:
        raise ElevenLabsTimedOut from None
    except httpx.HTTPError:
        raise ElevenLabsUnreachable from None
    if response.status_code in REFUSALS:
        raise ElevenLabsRefused(response.status_code)
    if response.status_code != 200:
        raise ElevenLabsUnreachable
    try:
        url = response.json()["signed_url"]
    except (ValueError, KeyError, TypeError):
        raise ElevenLabsUnreachable from None
    if not isinstance(url, str) or not url:
        raise ElevenLabsUnreachable
    return SignedUrl(url=url)
