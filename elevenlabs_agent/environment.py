"""Reading the settings from the environment: a bad value stops startup with one clear line."""

import logging
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

_FLAG_VALUES = {
    "true": True, "1": True, "yes": True, "on": True,
    "false": False, "0": False, "no": False, "off": False,
}  # fmt: skip


def parse_feature_flag(raw: str | None) -> bool:
    """Read an on/off flag as the contract spells it; anything unrecognised is off and warned of."""
    if raw is None or raw.strip() == "":
        return False
    value = _FLAG_VALUES.get(raw.strip().lower())
    if value is None:
        logger.warning(
            "ELEVENLABS_AGENT_ENABLED=%r is not a recognised on/off value; the feature stays off.",
            raw,
        )
        return False
    return value


_UNREADABLE = object()
BOOLEAN = "true/false, 1/0, yes/no or on/off"


def boolean(name: str, default: bool) -> bool:
    """An on/off setting, spelled as ELEVENLABS_AGENT_ENABLED is (any case); unlike that flag,
    whose contract says a typo means off, any other value stops startup."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = _FLAG_VALUES.get(raw.lower())
    if value is None:
        raise ImproperlyConfigured(f"{name}={os.environ[name]!r} is invalid: {BOOLEAN}.")
    return value


def setting(read: Callable[..., Any], name: str, default: Any, *, allowed: str,
            valid: Callable[[Any], bool] = lambda value: True) -> Any:  # fmt: skip
    """`name` from the environment, read by django-environ's `read` (env.int, env.str, ...).

    A value that does not parse, or that `valid` refuses, stops startup with one line naming
    the variable, the value and what is allowed (manage.py prints it without a traceback).
    """
    try:
        value = read(name, default=default)
    except (ValueError, ImproperlyConfigured):
        value = _UNREADABLE
    if value is _UNREADABLE or not valid(value):
        raise ImproperlyConfigured(f"{name}={os.environ.get(name)!r} is invalid: {allowed}.")
    return value


def positive(value: float) -> bool:
    return value > 0


def not_negative(value: float) -> bool:
    return value >= 0


def http_url(value: str) -> bool:
    """Empty (unset), or an absolute http(s) URL with a host."""
    parts = urlsplit(value)
    return not value or (parts.scheme in ("http", "https") and bool(parts.hostname))


def redis_url(value: str) -> bool:
    """Empty (the embedded store), or redis://, rediss:// with a host and an optional database
    number, or unix:// with a path."""
    if not value:
        return True
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return False
    if parts.scheme == "unix":
        return bool(parts.path)
    database = parts.path.removeprefix("/")
    return (
        parts.scheme in ("redis", "rediss")
        and bool(parts.hostname)
        and (database == "" or database.isdecimal())
    )
