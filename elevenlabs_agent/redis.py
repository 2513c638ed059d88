"""The one place a Redis client is obtained, and where driver errors become StoreUnavailable."""

import functools
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import redis
from django.core.signals import setting_changed
from django.dispatch import receiver
from django_redis import get_redis_connection
from django_redis.exceptions import ConnectionInterrupted
from django_redis.serializers.base import BaseSerializer

from elevenlabs_agent.encoding import dumps, loads
from elevenlabs_agent.errors import StoreUnavailable

P = ParamSpec("P")
R = TypeVar("R")

# What means "storage unavailable" (a 503, retry later): the server unreachable or too slow,
# out of memory, or read-only (a demoted primary). django-redis wraps its own calls' failures
# in ConnectionInterrupted.
OUTAGE_ERRORS = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
    ConnectionInterrupted,
)

logger = logging.getLogger(__name__)


class _OutageLog:
    """One WARNING when this process starts failing to reach Redis, one when it is back."""

    def __init__(self) -> None:
        self.since: float | None = None

    def failed(self, exc: Exception) -> None:
        if self.since is None:
            self.since = time.monotonic()
            logger.warning("Redis is unavailable (%s); answering 503 until it is back", exc)

    def succeeded(self) -> None:
        if self.since is not None:
            logger.warning("Redis is back after %.1f s", time.monotonic() - self.since)
            self.since = None


_outage = _OutageLog()


def key_as_named(key: str, key_prefix: str, version: int) -> str:
    """django-redis KEY_FUNCTION that keeps the contract's key names (no `:1:` prefix)."""
    return key


class JSONSerializer(BaseSerializer):
    """django-redis serializer writing the service's JSON (readable UTF-8, never pickle)."""

    def dumps(self, value: Any) -> bytes:
        return dumps(value)

    def loads(self, value: bytes) -> Any:
        return loads(value)


_client: redis.Redis | None = None


def redis_client() -> redis.Redis:
    """The pooled client behind the default cache, for anything compound (pipelines, Lua).

    One per process: Django keeps a cache backend per thread and per asyncio task, so under
    the ASGI server every request would otherwise build a new client (the connection pool
    is shared either way; building the client cost a tenth of a request).
    """
    global _client
    if _client is None:
        _client = get_redis_connection("default")
    return _client


@receiver(setting_changed)
def _forget_client(setting: str, **kwargs: Any) -> None:
    """Tests point CACHES elsewhere: the next call builds a client for the new store."""
    global _client
    if setting == "CACHES":
        _client = None


def store_operation(func: Callable[P, R]) -> Callable[P, R]:
    """Translate Redis outages raised inside a store function into StoreUnavailable."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = func(*args, **kwargs)
        except OUTAGE_ERRORS as exc:
            _outage.failed(exc)
            raise StoreUnavailable from exc
        _outage.succeeded()
        return result

    return wrapper


@store_operation
def redis_ping() -> None:
    """Raise StoreUnavailable unless Redis answers a PING."""
    redis_client().ping()


def commands(*calls: tuple[Any, ...]) -> list[Any]:
    """Several commands in one round trip (no transaction), their raw replies in order.

    The path to Redis of the hot routes: straight to a pooled connection, without redis-py's
    client path (retry wrapper, metrics hooks, reply callbacks, pipeline objects: 70-85 µs of
    CPU per call in a loop of calls, against 28 µs for a bare socket). Its rules are kept: a
    connection that breaks is retried once on a fresh one (Redis may have closed it while it
    was pooled), a timeout is not (a frozen Redis costs one timeout), and an error reply raises
    (the first one, once every reply has been read, so the connection goes back clean).
    Replies are not decoded (bytes, ints, lists); callers read them as the commands define.
    """
    pool = redis_client().connection_pool
    for attempt in (1, 2):
        connection = pool.get_connection()
        try:
            connection.send_packed_command(connection.pack_commands(calls))
            replies = [_reply(connection) for _ in calls]
        except redis.ConnectionError:
            connection.disconnect()  # never hand a half-read connection back to the pool
            if attempt == 2:
                raise
            continue
        finally:
            pool.release(connection)
        for reply in replies:
            if isinstance(reply, redis.ResponseError):
                raise reply
        return replies
    raise AssertionError("unreachable")


def _reply(connection: redis.Connection) -> Any:
    """The next reply, an error reply returned rather than raised."""
    try:
        return connection.read_response()
    except redis.ResponseError as error:
        return error


class LuaScript:
    """A Lua script from these files, in order (shared functions first), run by EVALSHA.

    Read once, at import; loaded into Redis (SCRIPT LOAD) the first time a Redis does not know
    it. Called through `commands`, the lean path.
    """

    def __init__(self, *files: Path) -> None:
        self.source = "\n".join(path.read_text() for path in files).encode()
        self.sha = hashlib.sha1(self.source).hexdigest()

    def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        try:
            return commands(("EVALSHA", self.sha, len(keys), *keys, *args))[0]
        except redis.exceptions.NoScriptError:
            # A Redis that restarted, or another one (failover): load it, then run it.
            load = ("SCRIPT", "LOAD", self.source)
            return commands(load, ("EVALSHA", self.sha, len(keys), *keys, *args))[1]
