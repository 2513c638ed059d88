"""Per-client request rates, counted in the same Redis (off unless API_THROTTLE_RATE is set)."""

import hashlib
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from elevenlabs_agent.redis import store_operation

if TYPE_CHECKING:  # rest_framework.views imports the throttle classes named in settings
    from rest_framework.views import APIView


class ClientRateThrottle(SimpleRateThrottle):
    """API_THROTTLE_RATE per API key, or per client address when keys are off."""

    scope = "client"

    def get_rate(self) -> str | None:
        # From settings at request time (DRF would freeze its own setting at import): unset
        # means no throttling, and DRF then allows the request without touching Redis.
        return settings.API_THROTTLE_RATE or None

    def get_cache_key(self, request: Request, view: "APIView") -> str:
        if request.auth:  # never put the key itself into Redis
            ident = "key-" + hashlib.sha256(str(request.auth).encode()).hexdigest()[:16]
        else:
            ident = self.get_ident(request)
        return f"elevenlabs:throttle:{ident}"

    def allow_request(self, request: Request, view: "APIView") -> bool:
        if self.rate is None:  # unset: no Redis at all
            return True
        return self._counted(request, view)

    @store_operation  # a Redis outage is the contract's 503, not a 500
    def _counted(self, request: Request, view: "APIView") -> bool:
        return super().allow_request(request, view)
