"""The lean call path to Redis (elevenlabs_agent.redis.commands), on fakeredis and the real one."""

import pytest
import redis

from elevenlabs_agent.redis import commands, scatter

# One hash tag: in cluster mode the commands of one round trip name keys of one slot.
GREETING, NOTHING, TEXT, AFTER = "{t}greeting", "{t}nothing", "{t}text", "{t}after"


def test_replies_come_back_in_order_and_raw(redis_db):
    redis_db.set(GREETING, "hello", ex=100)

    value, ttl, missing = commands(("GET", GREETING), ("TTL", GREETING), ("GET", NOTHING))

    assert (value, missing) == (b"hello", None)
    assert 0 < ttl <= 100


def test_an_error_reply_raises_after_the_other_commands_ran(redis_db):
    redis_db.set(TEXT, "not a number")

    with pytest.raises(redis.ResponseError):
        commands(("INCR", TEXT), ("SET", AFTER, "1"))

    assert redis_db.get(AFTER) == b"1"
    # The connection went back to the pool with nothing left unread on it.
    assert commands(("GET", AFTER), ("GET", TEXT)) == [b"1", b"not a number"]


def test_commands_for_keys_anywhere_are_scattered_and_answered_in_order(redis_db):
    keys = [f"key-{n}" for n in range(50)]  # in cluster mode: on every primary
    for n, key in enumerate(keys):
        redis_db.set(key, n)

    assert scatter(*(("GET", key) for key in keys)) == [str(n).encode() for n in range(50)]
