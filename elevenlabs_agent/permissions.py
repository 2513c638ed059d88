"""The feature flag, as a DRF permission that every API view has by default."""

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from elevenlabs_agent.exceptions import FeatureDisabled

if TYPE_CHECKING:  # rest_framework.views imports the permission classes named in settings
    from rest_framework.views import APIView


class FeatureEnabled(BasePermission):
    """Allow the request only while ELEVENLABS_AGENT_ENABLED is on; otherwise the contract's 503."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if not settings.ELEVENLABS_AGENT_ENABLED:
            raise FeatureDisabled
        return True
