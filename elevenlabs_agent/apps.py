import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("elevenlabs_agent")


class ElevenLabsAgentConfig(AppConfig):
    name = "elevenlabs_agent"
    verbose_name = "ElevenLabs agent service"

    def ready(self) -> None:
        if settings.REDIS_EMBEDDED:
            logger.warning(
                "\n%s\n REDIS_URL is not set: using an EMBEDDED IN-PROCESS store (fakeredis).\n"
                " NOTHING PERSISTS: sessions and conversations vanish when this process stops,\n"
                " and no other process (the callback system included) can read them.\n"
                " Point at a real Redis with e.g. REDIS_URL=redis://127.0.0.1:6379/0\n%s",
                "!" * 78,
                "!" * 78,
            )
