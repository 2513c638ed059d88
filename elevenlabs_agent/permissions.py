"""The gates every API view has by default: the feature flag, then the API key."""

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from elevenlabs_agent.errors import API_KEY_REQUIRED, FeatureDisabled

if TYPE_CHECKING:  # rest_framework.views imports the permission classes named in settings
    from rest_framework.views import APIView


class FeatureEnabled(BasePermission):
    """Allow the request only while ELEVENLABS_AGENT_ENABLED is on; otherwise the contract's 503."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if not settings.ELEVENLABS_AGENT_ENABLED:
            raise FeatureDisabled
        return True


class ApiKeyRequired(BasePermission):
    """Once AGENT_API_KEYS is set, require one of its keys; unset, the API stays open."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if settings.AGENT_API_KEYS and request.auth is None:
            raise NotAuthenticated(API_KEY_REQUIRED)
        return True
