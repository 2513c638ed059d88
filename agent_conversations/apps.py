from django.apps import AppConfig


class AgentConversationsConfig(AppConfig):
    name = "agent_conversations"

    def ready(self) -> None:
        from channels_redis.serializers import registry

        from agent_conversations.live import SERIALIZER_FORMAT, FrameSerializer

        # Named in CHANNEL_LAYERS; the layer looks it up when it is first used.
        registry.register_serializer(SERIALIZER_FORMAT, FrameSerializer)
