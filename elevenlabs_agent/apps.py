import logging

from django.apps import AppConfig
from django.conf import settings
from django.core.cache import close_caches
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

logger = logging.getLogger("elevenlabs_agent")


class ElevenLabsAgentConfig(AppConfig):
    name = "elevenlabs_agent"
    verbose_name = "ElevenLabs agent service"

    def ready(self) -> None:
        # After every request Django closes database connections (this service has none) and
        # cache connections (the Redis client is pooled and meant to be kept). Under the ASGI
        # server each of those walks a registry made afresh for every request's task: a tenth
        # of a /health request, measured with py-spy. Neither has anything to close here.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        request_finished.disconnect(close_caches)
        if settings.REDIS_EMBEDDED:
            logger.warning(
                "\n%s\n REDIS_URL is not set: using an EMBEDDED IN-PROCESS store (fakeredis).\n"
                " NOTHING PERSISTS: sessions and conversations vanish when this process stops,\n"
                " and no other process (the callback system included) can read them.\n"
                " Point at a real Redis with e.g. REDIS_URL=redis://127.0.0.1:6379/0\n%s",
                "!" * 78,
                "!" * 78,
            )
