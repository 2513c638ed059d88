"""The only request parser: JSON, bounded in size, with unambiguous keys."""

import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from elevenlabs_agent.errors import RequestTooLarge


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ParseError(f'JSON parse error - duplicate key "{key}".')
        seen.add(key)
    return dict(pairs)


def _reject_constant(name: str) -> None:
    raise ParseError(f"JSON parse error - {name} is not valid JSON.")


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing bodies over MAX_REQUEST_BODY_BYTES and duplicate keys.

    DRF reads the request stream itself, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE never applies.
    """

    limit_setting = "MAX_REQUEST_BODY_BYTES"

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping | None = None,
    ) -> Any:
        limit = getattr(settings, self.limit_setting)
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise RequestTooLarge
        try:
            return json.loads(
                body.decode(),
                object_pairs_hook=_reject_duplicate_keys,
                parse_constant=_reject_constant,
            )
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


class TranscriptJSONParser(BoundedJSONParser):
    """For ElevenLabs' post-call transcripts, whose bodies grow with the call."""

    limit_setting = "TRANSCRIPT_MAX_BODY_BYTES"
