"""The lean call path to Redis (elevenlabs_agent.redis.commands), on fakeredis and the real one."""

import pytest
import redis

from elevenlabs_agent.redis import commands


def test_replies_come_back_in_order_and_raw(redis_db):
    redis_db.set("greeting", "hello", ex=100)

    value, ttl, missing = commands(("GET", "greeting"), ("TTL", "greeting"), ("GET", "nothing"))

    assert (value, missing) == (b"hello", None)
    assert 0 < ttl <= 100


def test_an_error_reply_raises_after_the_other_commands_ran(redis_db):
    redis_db.set("text", "not a number")

    with pytest.raises(redis.ResponseError):
        commands(("INCR", "text"), ("SET", "after", "1"))

    assert redis_db.get("after") == b"1"
    # The connection went back to the pool with nothing left unread on it.
    assert commands(("GET", "after"), ("GET", "text")) == [b"1", b"not a number"]
