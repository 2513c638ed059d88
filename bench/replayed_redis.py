"""`make serve`'s application with Redis taken out of the measurement: a bound, not a server.

Every call to the store's lean Redis path (`elevenlabs_agent.redis.commands`: every Lua script
and the session status read) goes to Redis once per kind of call; later calls of the same
kind get that first reply again, from memory. Answers are then wrong in content (every
registration says what the first one said) but right in shape and size, so the routes run all
of their own Python (routing, DRF, validation, building and rendering the answer) and none of
Redis: no round trip, no driver, no Lua. What a route reaches here against this server's own
floor is the most that any change on the Redis side could give it (`make bench-http` reports
it). Every route `make bench-http` drives reaches Redis only through `commands`.
"""

from typing import Any

from agent_sessions import store as session_store
from elevenlabs_agent import redis as store_redis
from elevenlabs_agent.asgi import application  # sets Django up

__all__ = ["application"]

_real_commands = store_redis.commands
_replies: dict[tuple[Any, ...], list[Any]] = {}


def replayed_commands(*calls: tuple[Any, ...]) -> list[Any]:
    """The first reply to calls of this kind (the same commands; for EVALSHA, the same script)."""
    kind = tuple((call[0], call[1] if call[0] == "EVALSHA" else None) for call in calls)
    if kind not in _replies:
        _replies[kind] = _real_commands(*calls)
    return _replies[kind]


store_redis.commands = replayed_commands  # LuaScript calls it through the module
session_store.commands = replayed_commands  # imported by name
