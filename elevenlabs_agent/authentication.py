"""API keys from AGENT_API_KEYS, presented as `Authorization: Bearer <key>` or `X-API-Key`."""

import hmac

from django.conf import settings
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request


def presented_key(request: Request) -> str | None:
    """The key the client sent, from either header, or None."""
    scheme, _, credentials = get_authorization_header(request).decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("X-API-Key") or None


def matching_key(presented: str) -> str | None:
    """The configured key equal to `presented`, compared in constant time against every key."""
    match = None
    for key in settings.AGENT_API_KEYS:
        if hmac.compare_digest(presented.encode(), key.encode()):
            match = key
    return match


class ApiKeyAuthentication(BaseAuthentication):
    """Sets `request.auth` to the matching key; ApiKeyRequired decides whether one is needed."""

    def authenticate(self, request: Request) -> tuple[None, str] | None:
        if not settings.AGENT_API_KEYS:  # the open API reads no headers at all
            return None
        presented = presented_key(request)
        key = matching_key(presented) if presented else None
        return (None, key) if key else None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="elevenlabs-agent"'  # makes DRF answer 401, not 403
