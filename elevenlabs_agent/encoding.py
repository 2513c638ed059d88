"""The one JSON codec for what the service stores and sends: orjson, with the stdlib behind it.

Compact UTF-8, keys in the order given. orjson is several times faster than the json module;
it refuses integers beyond 64 bits and lone UTF-16 surrogates ("\\ud83d", which JavaScript
can produce), both of which clients may still send inside opaque objects, so those values
take the stdlib's path instead, with non-ASCII escaped (a lone surrogate has no UTF-8 form).
"""

import json
from typing import Any

import orjson


def _orjson_default(value: Any) -> Any:
    if isinstance(value, RawJSON):
        return orjson.Fragment(value.encoded)
    return str(value)  # DRF's error messages may be lazy translation proxies


def _json_default(value: Any) -> Any:
    return value.decoded() if isinstance(value, RawJSON) else str(value)


def dumps(value: Any) -> bytes:
    """Encode `value` as compact UTF-8 JSON."""
    try:
        return orjson.dumps(value, default=_orjson_default)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), default=_json_default).encode()


def loads(raw: bytes | str) -> Any:
    """Decode JSON (as stored by `dumps`, or by any other writer)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)  # big integers; real syntax errors raise ValueError here too


class RawJSON:
    """A JSON value that is already encoded (e.g. assembled in Redis): `dumps` embeds it as is."""

    __slots__ = ("encoded",)

    def __init__(self, encoded: bytes) -> None:
        self.encoded = encoded

    def decoded(self) -> Any:
        """The value as Python objects, for code that needs to look inside."""
        return loads(self.encoded)

    def __repr__(self) -> str:
        return f"RawJSON({self.encoded[:60]!r}...)"
