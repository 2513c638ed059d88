"""Serializer fields and bases shared by both apps: strict JSON types and the contract's shapes."""

import re
from typing import Any, ClassVar, cast

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from elevenlabs_agent.encoding import dumps
from elevenlabs_agent.timestamps import to_js_iso


class InputSerializer(serializers.Serializer):
    """Base of the request validators: a plain Serializer whose fields are built once per class.

    DRF deep-copies and binds every declared field for each serializer instance, a third of the
    cost of validating a request body. These fields keep no state between validations, and what
    a field reads through its parent (`partial`, `context`) is the same for every input
    serializer (never partial, no context), so each class binds one set of fields to a
    prototype of its own and every instance validates with that set.
    """

    # Set on each subclass the first time it validates (read through cls.__dict__, so that a
    # subclass never validates with its parent's fields).
    _shared_fields: ClassVar[BindingDict]
    _shared_writable_fields: ClassVar[list[serializers.Field]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("partial") or kwargs.get("context"):
            raise TypeError("an InputSerializer shares its fields: no partial, no context")
        super().__init__(*args, **kwargs)

    @property
    def fields(self) -> BindingDict:
        cls = type(self)
        shared = cls.__dict__.get("_shared_fields")
        if shared is None:
            # Serializer.fields, evaluated for a prototype that no request uses.
            shared = serializers.Serializer.fields.func(cls())  # type: ignore[attr-defined]
            cls._shared_fields = shared
        return shared

    @property
    def _writable_fields(self) -> list[serializers.Field]:
        cls = type(self)
        writable = cls.__dict__.get("_shared_writable_fields")
        if writable is None:
            writable = [field for field in self.fields.values() if not field.read_only]
            cls._shared_writable_fields = writable
        return writable


# DRF refuses NUL in every string; saying so as a pattern puts the rule into the OpenAPI schema.
NO_NUL = r"^[^\x00]*$"
# Patterns are published in the OpenAPI schema, where they are ECMAScript regular expressions;
# they spell character classes out (no \s, whose members differ between the two dialects).
WHITESPACE = r"\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


class WholeStringRegexValidator(RegexValidator):
    """The pattern must match the whole value, as in JSON Schema (Python's `$` alone would let
    a final newline through)."""

    def __call__(self, value: Any) -> None:
        if not cast(re.Pattern[str], self.regex).fullmatch(str(value)):
            raise DjangoValidationError(self.message, code=self.code)


class NoSurrogates(ProhibitSurrogateCharactersValidator):
    """DRF's rule and message, checked by one regular expression search instead of a Python
    loop over every character (about 2 ms for a 32,000-character message)."""

    _surrogate = re.compile("[\ud800-\udfff]")

    def __call__(self, value: Any) -> None:
        found = self._surrogate.search(str(value))
        if found:
            message = self.message.format(code_point=ord(found.group()))
            raise serializers.ValidationError(message, code=self.code)


class StrictCharField(serializers.CharField):
    """A string that is really a JSON string (DRF would coerce 12 to "12"), kept as sent.

    Its pattern (no NUL unless told otherwise) is enforced and published in the OpenAPI schema.
    """

    default_error_messages = {
        "not_a_string": "Not a valid string.",
        "pattern": "This value does not match the required pattern.",
    }

    def __init__(self, regex: str = NO_NUL, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators = [
            NoSurrogates() if isinstance(v, ProhibitSurrogateCharactersValidator) else v
            for v in self.validators
        ]
        self.validators.append(
            WholeStringRegexValidator(regex, message=self.error_messages["pattern"])
        )

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class WholeNumberField(serializers.IntegerField):
    """An integer written as one (DRF also takes "1.0" and "1.00" for 1)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not data.lstrip("-").isdecimal():
            self.fail("invalid")
        return super().to_internal_value(data)


def _nesting_depth(value: Any) -> int:
    """How deeply objects and arrays nest: 0 for a scalar, 1 for {"a": 1}, 2 for {"a": [1]}."""
    depth, level = 0, [value]
    while True:
        containers = [node for node in level if isinstance(node, (dict, list))]
        if not containers:
            return depth
        depth += 1
        level = [
            child
            for node in containers
            for child in (node.values() if isinstance(node, dict) else node)
        ]


@extend_schema_field(OpenApiTypes.OBJECT)
class JSONObjectField(serializers.JSONField):
    """An opaque client object: a JSON object within the size and depth limits, kept as sent."""

    default_error_messages = {
        "not_object": "Expected a JSON object.",
        "too_large": "Must encode to at most {max_bytes} bytes of JSON.",
        "too_deep": "Must nest at most {max_depth} levels deep.",
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_object")
        if _nesting_depth(data) > settings.OPAQUE_OBJECT_MAX_DEPTH:
            self.fail("too_deep", max_depth=settings.OPAQUE_OBJECT_MAX_DEPTH)
        # Parsed from JSON, so it encodes (`dumps` takes what orjson refuses): JSONField's own
        # check, a second encoding with the stdlib, is not needed.
        if len(dumps(data)) > settings.OPAQUE_OBJECT_MAX_BYTES:
            self.fail("too_large", max_bytes=settings.OPAQUE_OBJECT_MAX_BYTES)
        return data


@extend_schema_field(OpenApiTypes.DATETIME)
class TimestampField(serializers.Field):
    """An ISO-8601 timestamp in, the contract's `toISOString()` string out (naive means UTC)."""

    default_error_messages = {"invalid": "Datetime has wrong format. Use ISO-8601."}
    _parser = serializers.DateTimeField()  # parses; keeps no state between calls

    def to_internal_value(self, value: Any) -> str:
        if not isinstance(value, str):
            self.fail("invalid")
        try:
            parsed = self._parser.to_internal_value(value)
        except serializers.ValidationError:
            self.fail("invalid")
        return to_js_iso(parsed)

    def to_representation(self, value: Any) -> str:
        return value


def without_none(fields: dict[str, Any]) -> dict[str, Any]:
    """Drop optional fields that have no value: the contract omits them rather than send null."""
    return {name: value for name, value in fields.items() if value is not None}
