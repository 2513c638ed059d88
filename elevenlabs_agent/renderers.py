"""The JSON renderer of every response."""

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import JSONRenderer

from elevenlabs_agent.encoding import dumps


class FastJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer on the service's codec: the same compact UTF-8 JSON, rendered faster."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return b"" if data is None else dumps(data)
