"""The shared secret of the inbound webhooks (/agent-tools, /callback)."""

import hmac
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from elevenlabs_agent.errors import WebhookSecretInvalid, WebhookSecretMissing

if TYPE_CHECKING:
    from rest_framework.views import APIView


def _presented_secret(request: Request) -> str:
    # cursor-runner sends it in any of the three, depending on its version.
    return (
        request.headers.get("X-Webhook-Secret")
        or request.headers.get("X-Cursor-Runner-Secret")
        or request.query_params.get("secret")
        or ""
    )


class WebhookSecretRequired(BasePermission):
    """WEBHOOK_SECRET, compared in constant time; without it configured the route is closed."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        secret = settings.WEBHOOK_SECRET
        if not secret:
            raise WebhookSecretMissing
        if not hmac.compare_digest(_presented_secret(request).encode(), secret.encode()):
            raise WebhookSecretInvalid
        return True
