"""How live-update frames travel through the channel layer without being decoded on the way.

The store's Lua scripts publish each `agent_conversation.updated` frame as the exact JSON text
the sockets send. channels-redis hands what it receives to every local socket of the group,
deserializing once per socket; decoding a whole conversation only to encode it again, for
every socket, was most of the cost of a watched append (make bench-ws). This serializer passes
a published frame on as text, and encodes and decodes the layer's other messages as JSON.
"""

from typing import Any

import orjson
from channels_redis.serializers import BaseMessageSerializer

# What every frame published by agent_conversations/lua/prelude.lua begins with.
UPDATED = "agent_conversation.updated"
PUBLISHED_FRAME_PREFIX = b'{"type":"' + UPDATED.encode() + b'"'
SERIALIZER_FORMAT = "elevenlabs-frames"


class FrameSerializer(BaseMessageSerializer):
    """JSON for the layer's own messages; a published frame stays text: `{"type", "text"}`."""

    def as_bytes(self, message: dict[str, Any], *args: Any, **kwargs: Any) -> bytes:
        return orjson.dumps(message)

    def from_bytes(self, message: bytes, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if message.startswith(PUBLISHED_FRAME_PREFIX):
            return {"type": UPDATED, "text": message.decode()}
        return orjson.loads(message)
