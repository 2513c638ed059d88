"""Serializer fields and bases shared by both apps: strict JSON types and the contract's shapes."""

from typing import Any

from rest_framework import serializers

from elevenlabs_agent.timestamps import to_js_iso


class StrictCharField(serializers.CharField):
    """A string that is really a JSON string (DRF would coerce 12 to "12"), kept as sent."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class JSONObjectField(serializers.JSONField):
    """An opaque client object: must be a JSON object, stored and returned exactly as received."""

    default_error_messages = {"not_object": "Expected a JSON object."}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_object")
        return super().to_internal_value(data)


class TimestampField(serializers.DateTimeField):
    """An ISO-8601 timestamp in, the contract's `toISOString()` string out (naive means UTC)."""

    def to_internal_value(self, value: Any) -> str:
        if not isinstance(value, str):
            self.fail("invalid", format="ISO-8601")
        return to_js_iso(super().to_internal_value(value))

    def to_representation(self, value: Any) -> str:
        return value


def without_none(fields: dict[str, Any]) -> dict[str, Any]:
    """Drop optional fields that have no value: the contract omits them rather than send null."""
    return {name: value for name, value in fields.items() if value is not None}
