"""The shared secret of the inbound webhooks (/agent-tools, /callback)."""

import hmac
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView

WEBHOOK_SECRET_MISSING = "WEBHOOK_SECRET is not configured"
WEBHOOK_SECRET_INVALID = (
    "A valid webhook secret is required (X-Webhook-Secret, X-Cursor-Runner-Secret or ?secret=)"
)


class WebhookSecretMissing(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = WEBHOOK_SECRET_MISSING
    default_code = "webhook_secret_missing"


class WebhookSecretInvalid(APIException):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = WEBHOOK_SECRET_INVALID
    default_code = "webhook_secret_invalid"


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
