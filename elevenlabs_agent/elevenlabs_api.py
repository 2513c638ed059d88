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
from rest_framework import status
from rest_framework.exceptions import APIException

SIGNED_URL_PATH = "/v1/convai/conversation/get-signed-url"

API_KEY_MISSING = "ELEVENLABS_API_KEY is not configured"
UNREACHABLE = "ElevenLabs could not be reached or gave an unreadable answer"
TIMED_OUT = "ElevenLabs did not answer in time"
# ElevenLabs' refusals are passed on with their status and a sentence that says so.
REFUSALS = {
    401: "ElevenLabs refused the API key (401)",
    403: "ElevenLabs denied access to this agent (403)",
    404: "ElevenLabs does not know this agent (404)",
    422: "ElevenLabs rejected the request (422)",
}


class ElevenLabsError(APIException):
    """ElevenLabs could not give us what the client asked for."""


class ApiKeyMissing(ElevenLabsError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = API_KEY_MISSING
    default_code = "elevenlabs_api_key_missing"


class ElevenLabsUnreachable(ElevenLabsError):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = UNREACHABLE
    default_code = "elevenlabs_unreachable"


class ElevenLabsTimedOut(ElevenLabsError):
    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    default_detail = TIMED_OUT
    default_code = "elevenlabs_timeout"


class ElevenLabsRefused(ElevenLabsError):
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        super().__init__(REFUSALS[status_code], code="elevenlabs_refused")


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
