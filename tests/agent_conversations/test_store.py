import itertools
import json
import time

import pytest

from agent_conversations import store
from agent_conversations.store import (
    conversation_create,
    conversation_ensure,
    conversation_get,
    conversation_id_for,
    conversation_key,
    conversation_list,
    conversation_update,
    message_append,
    message_index_key,
    messages_key,
)
from agent_sessions.store import session_delete, session_set
from elevenlabs_agent.errors import StoreUnavailable
from elevenlabs_agent.timestamps import from_epoch_ms
from tests.support import run_concurrently

THIRTY_DAYS = 30 * 24 * 3600
SESSION_URL = "wss://api.elevenlabs.io/v1/convai/conversation"


def a_message(message_id: str, content: str = "hello", role: str = "user") -> store.AgentMessage:
    return {
        "messageId": message_id,
        "role": role,
        "content": content,
        "timestamp": "2026-11-23T12:00:00.000Z",
        "source": "voice",
    }


@pytest.fixture
def clock(monkeypatch):
    """Freeze the store's clock; set `clock.now` (epoch ms) to move it."""

    class Clock:
        now = store._now_ms()  # real time: Redis expires keys by its own clock

    monkeypatch.setattr(store, "_now_ms", lambda: Clock.now)
    return Clock


def opened(conversation_id: str) -> dict | None:
    """conversation_get, decoded: the AgentConversation the frontend would receive."""
    found = conversation_get(conversation_id=conversation_id)
    return found.decoded() if found is not None else None


def page_ids(**kwargs) -> list[str]:
    return [c["conversationId"] for c in conversation_list(**kwargs).conversations.decoded()]


def test_conversation_create_stores_the_record_and_indexes(redis_db):
    conversation = conversation_create(agent_id="agent-1", metadata={"b": [], "a": {"x": 1}})

    cid = conversation["conversationId"]
    assert conversation == {
        "conversationId": cid,
        "messages": [],
        "createdAt": conversation["createdAt"],
        "lastAccessedAt": conversation["createdAt"],
        "messageCount": 0,
        "agentId": "agent-1",
        "metadata": {"b": [], "a": {"x": 1}},
    }
    stored = redis_db.hgetall(conversation_key(cid))
    assert stored[b"agentId"] == b"agent-1"
    assert stored[b"metadata"] == b'{"b":[],"a":{"x":1}}'
    assert indexed(redis_db, cid) == index_keys(cid)
    assert THIRTY_DAYS - 10 < redis_db.ttl(conversation_key(cid)) <= THIRTY_DAYS


def test_every_key_uses_the_contract_prefixes(redis_db):
    cid = conversation_create()["conversationId"]
    message_append(conversation_id=cid, message=a_message("m1"))

    for key in redis_db.keys("*"):
        assert key.startswith((b"elevenlabs:conversation:", b"elevenlabs:conversations:"))


def test_conversation_get_unknown_returns_none(redis_db):
    assert opened("nobody") is None
    assert redis_db.keys("*") == []


def test_conversation_get_moves_last_accessed_and_renews_retention(redis_db, clock):
    cid = conversation_create()["conversationId"]
    created_at = clock.now
    redis_db.expire(conversation_key(cid), 100)
    clock.now += 5_000

    conversation = opened(cid)

    assert conversation["lastAccessedAt"] == from_epoch_ms(created_at + 5_000)
    assert conversation["createdAt"] == from_epoch_ms(created_at)
    assert redis_db.zscore(store.indexes_of(cid).sort("lastAccessedAt"), cid) == clock.now
    assert redis_db.pttl(conversation_key(cid)) > 100_000


def test_message_append_keeps_order_and_counts(redis_db):
    cid = conversation_create()["conversationId"]

    for n in range(5):
        result = message_append(conversation_id=cid, message=a_message(f"m{n}", f"text {n}"))
        assert result == store.AppendResult(
            message_id=f"m{n}", message_count=n + 1, duplicate=False
        )

    conversation = opened(cid)
    assert [m["content"] for m in conversation["messages"]] == [f"text {n}" for n in range(5)]
    assert conversation["messageCount"] == 5
    assert redis_db.zscore(store.indexes_of(cid).sort("messageCount"), cid) == 5


def test_message_append_stores_the_message_exactly(redis_db):
    cid = conversation_create()["conversationId"]
    message = {
        **a_message("tool-1", role="tool"),
        "toolName": "lookup",
        "toolArgs": {"query": "ünïcode", "nested": {"list": [1, {"z": None}]}},
        "toolOutput": "done",
        "status": "completed",
    }

    message_append(conversation_id=cid, message=message)

    assert json.loads(redis_db.lindex(messages_key(cid), 0)) == message
    assert opened(cid)["messages"] == [message]


def test_message_append_with_a_stored_message_id_is_a_duplicate(redis_db):
    cid = conversation_create()["conversationId"]
    message_append(conversation_id=cid, message=a_message("same", "first"))

    result = message_append(conversation_id=cid, message=a_message("same", "retry"))

    assert result == store.AppendResult(message_id="same", message_count=1, duplicate=True)
    assert redis_db.llen(messages_key(cid)) == 1
    assert opened(cid)["messages"][0]["content"] == "first"


def test_message_append_to_unknown_conversation_returns_none_and_writes_nothing(redis_db):
    assert message_append(conversation_id="ghost", message=a_message("m1")) is None
    assert redis_db.keys("*") == []


def test_message_append_moves_last_accessed_and_renews_every_key(redis_db, clock):
    cid = conversation_create()["conversationId"]
    message_append(conversation_id=cid, message=a_message("m1"))
    for key in (conversation_key(cid), messages_key(cid), message_index_key(cid)):
        redis_db.expire(key, 100)
    clock.now += 1  # a millisecond later

    message_append(conversation_id=cid, message=a_message("m2"))

    assert redis_db.zscore(store.indexes_of(cid).sort("lastAccessedAt"), cid) == clock.now
    for key in (conversation_key(cid), messages_key(cid), message_index_key(cid)):
        assert THIRTY_DAYS - 10 < redis_db.ttl(key) <= THIRTY_DAYS


def test_conversation_update_sets_agent_and_metadata(redis_db):
    cid = conversation_create(agent_id="old")["conversationId"]

    updated = conversation_update(conversation_id=cid, agent_id="new", metadata={"k": [1]})

    conversation = opened(cid)
    assert updated.decoded() == {
        **conversation,
        "lastAccessedAt": updated.decoded()["lastAccessedAt"],
    }
    assert conversation["agentId"] == "new"
    assert conversation["metadata"] == {"k": [1]}
    assert conversation_update(conversation_id="ghost", agent_id="x") is None
    assert redis_db.exists(conversation_key("ghost")) == 0


def test_conversation_ensure_creates_once_then_touches(redis_db, clock):
    created_at = clock.now
    assert conversation_ensure(conversation_id="conv-1") is True
    clock.now += 1_000
    assert conversation_ensure(conversation_id="conv-1") is False

    stored = redis_db.hgetall(conversation_key("conv-1"))
    assert stored[b"messageCount"] == b"0"
    assert stored[b"createdAt"] == from_epoch_ms(created_at).encode()
    assert stored[b"lastAccessedAt"] == from_epoch_ms(created_at + 1_000).encode()


def test_concurrent_first_registrations_create_the_conversation_once(redis_db):
    created = run_concurrently(lambda _: conversation_ensure(conversation_id="race"), workers=20)

    assert created.count(True) == 1
    assert conversation_list(limit=100, offset=0, sort_by="createdAt", sort_order="asc").total == 1


@pytest.mark.parametrize("sort_by", ["createdAt", "lastAccessedAt", "messageCount"])
def test_conversation_list_sorts_by_each_field(redis_db, clock, sort_by):
    # a: oldest, most messages; b: newest, accessed last; c: in between, no messages.
    for cid in ("a", "c", "b"):
        conversation_ensure(conversation_id=cid)
        clock.now += 1_000
    for n in range(3):
        message_append(conversation_id="a", message=a_message(f"m{n}"))
    message_append(conversation_id="b", message=a_message("m0"))
    clock.now += 1_000
    opened("b")

    expected = {
        "createdAt": ["a", "c", "b"],
        "lastAccessedAt": ["c", "a", "b"],
        "messageCount": ["c", "b", "a"],
    }[sort_by]
    assert page_ids(limit=10, offset=0, sort_by=sort_by, sort_order="asc") == expected
    assert page_ids(limit=10, offset=0, sort_by=sort_by, sort_order="desc") == expected[::-1]


def test_conversation_list_does_not_touch_the_conversations(redis_db, clock):
    cid = conversation_create()["conversationId"]
    before = redis_db.hgetall(conversation_key(cid))
    clock.now += 10_000

    conversation_list(limit=10, offset=0, sort_by="lastAccessedAt", sort_order="desc")

    assert redis_db.hgetall(conversation_key(cid)) == before


@pytest.mark.parametrize(
    ("sort_by", "sort_order"),
    list(itertools.product(["createdAt", "lastAccessedAt", "messageCount"], ["asc", "desc"])),
)
def test_paging_with_tied_scores_never_skips_or_repeats(redis_db, clock, sort_by, sort_order):
    # The clock stands still, so all 45 share createdAt and lastAccessedAt; counts tie in threes.
    ids = [f"conv-{n:02d}" for n in range(45)]
    for n, cid in enumerate(ids):
        conversation_ensure(conversation_id=cid)
        for m in range(n % 3):
            message_append(conversation_id=cid, message=a_message(f"m{m}"))

    seen: list[str] = []
    for offset in range(0, 45, 7):
        page = conversation_list(limit=7, offset=offset, sort_by=sort_by, sort_order=sort_order)
        assert page.total == 45
        seen += [c["conversationId"] for c in page.conversations.decoded()]

    assert sorted(seen) == ids
    assert len(seen) == len(set(seen)) == 45
    # Within equal scores, ids run in the same direction as the sort.
    if sort_by != "messageCount":
        assert seen == (ids if sort_order == "asc" else ids[::-1])


def created_an_hour_ago(clock, settings, count: int = 1) -> list[str]:
    """Conversations written an hour ago with a 60 s retention: expired, still in the indexes
    (Redis expires keys by its own clock; by-expiry holds the same past instant)."""
    settings.CONVERSATION_TTL_SECONDS, now = 60, clock.now
    clock.now = now - 3_600_000
    created = [conversation_create()["conversationId"] for _ in range(count)]
    clock.now, settings.CONVERSATION_TTL_SECONDS = now, 3600
    return created


def test_expired_conversation_leaves_get_list_and_total_together(redis_db, settings, clock):
    (gone,) = created_an_hour_ago(clock, settings)
    kept = conversation_create()["conversationId"]

    assert opened(gone) is None
    page = conversation_list(limit=10, offset=0, sort_by="createdAt", sort_order="asc")
    assert [c["conversationId"] for c in page.conversations.decoded()] == [kept]
    assert page.total == 1
    assert indexed(redis_db, gone) == []


def test_retention_zero_keeps_forever(redis_db, settings):
    settings.CONVERSATION_TTL_SECONDS = 0
    cid = conversation_create()["conversationId"]
    message_append(conversation_id=cid, message=a_message("m1"))

    for key in (conversation_key(cid), messages_key(cid), message_index_key(cid)):
        assert redis_db.ttl(key) == -1
    assert redis_db.zscore(store.indexes_of(cid).expiry(), cid) is None


def test_concurrent_appends_store_every_message_exactly_once_in_order(real_redis_db):
    cid = conversation_create()["conversationId"]

    def append_fifty(writer: int) -> None:
        for n in range(50):
            message_append(
                conversation_id=cid, message=a_message(f"w{writer}-{n}", f"{writer}:{n}")
            )

    run_concurrently(append_fifty, workers=20)

    conversation = opened(cid)
    ids = [m["messageId"] for m in conversation["messages"]]
    assert conversation["messageCount"] == len(ids) == len(set(ids)) == 1000
    for writer in range(20):
        own = [
            m["content"] for m in conversation["messages"] if m["content"].startswith(f"{writer}:")
        ]
        assert own == [f"{writer}:{n}" for n in range(50)]


def test_concurrent_retries_of_the_same_message_ids_store_each_once(real_redis_db):
    cid = conversation_create()["conversationId"]

    def send_all(_: int) -> int:
        results = [
            message_append(conversation_id=cid, message=a_message(f"m{n}")) for n in range(200)
        ]
        return sum(r.duplicate for r in results)

    duplicates = run_concurrently(send_all, workers=2)

    ids = [m["messageId"] for m in opened(cid)["messages"]]
    assert sorted(ids) == sorted(f"m{n}" for n in range(200))
    assert sum(duplicates) == 200


def test_store_outage_raises_store_unavailable_quickly(redis_down):
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        conversation_create()
    with pytest.raises(StoreUnavailable):
        conversation_list(limit=20, offset=0, sort_by="createdAt", sort_order="desc")
    with pytest.raises(StoreUnavailable):
        message_append(conversation_id="c", message=a_message("m1"))
    assert time.monotonic() - started < 2


def test_reads_render_awkward_strings_as_valid_json(redis_db):
    agent_id = 'Ägent "7" \\ / \n\t\x01 🎙'
    metadata = {"quote": '"', "nested": {"ключ": ["\u2028", None, 1.5, True]}, "empty": {}}
    cid = conversation_create(agent_id=agent_id, metadata=metadata)["conversationId"]
    message_append(conversation_id=cid, message=a_message("m1", content='say "hi"\n'))

    conversation = opened(cid)
    listed = conversation_list(limit=5, offset=0, sort_by="createdAt", sort_order="asc")

    assert conversation["agentId"] == agent_id
    assert conversation["metadata"] == metadata
    assert conversation["messages"][0]["content"] == 'say "hi"\n'
    assert listed.conversations.decoded() == [conversation]


def test_a_list_page_too_large_for_one_call_is_read_in_pieces_in_order(redis_db, monkeypatch):
    for n in range(6):
        conversation_ensure(conversation_id=f"c{n}")
        for m in range(3):
            message_append(conversation_id=f"c{n}", message=a_message(f"c{n}-{m}", "x" * 100))
    redis_db.hdel(conversation_key("c4"), "storedBytes")  # as written before sizes were kept
    whole = store.conversation_list(limit=10, offset=0, sort_by="createdAt", sort_order="asc")
    # Room for about one conversation per call: most of the page is read one call each.
    monkeypatch.setattr(store, "LIST_PAGE_INLINE_BYTES", 500)

    pieces = store.conversation_list(limit=10, offset=0, sort_by="createdAt", sort_order="asc")

    assert pieces.total == whole.total == 6
    assert pieces.conversations.decoded() == whole.conversations.decoded()
    assert [c["conversationId"] for c in pieces.conversations.decoded()] == [
        f"c{n}" for n in range(6)
    ]
    assert all(c["messageCount"] == 3 for c in pieces.conversations.decoded())


SORTS = ("createdAt", "lastAccessedAt", "messageCount")


def index_keys(cid: str) -> list[str]:
    """The sorted sets that list `cid` (in its shard, in cluster mode)."""
    indexes = store.indexes_of(cid)
    return [*(indexes.sort(sort_by) for sort_by in SORTS), indexes.expiry()]


def indexed(redis_db, cid: str) -> list[str]:
    """The indexes that still hold `cid`."""
    return [index for index in index_keys(cid) if redis_db.zscore(index, cid) is not None]


def expire_now(redis_db, cids: list[str]) -> None:
    """What the passing of their retention does: keys gone, by-expiry in the past, the other
    indexes untouched (the sweep's job)."""
    past = store._now_ms() - 1_000
    for cid in cids:
        for key in (conversation_key(cid), messages_key(cid), message_index_key(cid)):
            redis_db.pexpireat(key, past)
        redis_db.zadd(store.indexes_of(cid).expiry(), {cid: past})


def listed_beside(cid: str, count: int) -> list[str]:
    """`count` new conversation ids listed in the same indexes as `cid` (in cluster mode, its
    shard's)."""
    ids = (f"{cid}-{n}" for n in itertools.count())
    return [
        *itertools.islice((i for i in ids if store.indexes_of(i) == store.indexes_of(cid)), count)
    ]


def test_writes_sweep_expired_conversations_from_the_indexes_without_a_list_call(redis_db):
    live = conversation_create()["conversationId"]
    expired = listed_beside(live, 5)  # a write sweeps its own indexes (cluster: its shard's)
    for cid in expired:
        conversation_ensure(conversation_id=cid)
    expire_now(redis_db, expired)
    assert all(indexed(redis_db, cid) for cid in expired)  # nothing has swept them yet

    message_append(conversation_id=live, message=a_message("m1"))

    assert [cid for cid in expired if indexed(redis_db, cid)] == []
    assert len(indexed(redis_db, live)) == 4


def test_a_backlog_of_expired_conversations_is_swept_in_bounded_calls(redis_db):
    backlog = [conversation_create()["conversationId"] for _ in range(2500)]  # > 2 list calls
    expire_now(redis_db, backlog)  # then no writes, only the list call

    empty = conversation_list(limit=20, offset=0, sort_by="createdAt", sort_order="asc")

    assert empty.total == 0
    assert empty.conversations.decoded() == []
    for indexes in store.all_indexes():
        for index in (*(indexes.sort(sort_by) for sort_by in SORTS), indexes.expiry()):
            assert redis_db.zcard(index) == 0


# --- ElevenLabs call ids mapped to conversations ----------------------------------------------


def test_an_elevenlabs_id_maps_to_its_conversation_after_the_session_is_gone(redis_db):
    registered = session_set(conversation_id="c-1", session_url=SESSION_URL, session_id="el-1")
    assert registered.conversation_created

    session_delete(conversation_id="c-1")

    assert conversation_id_for(elevenlabs_id="el-1") == "c-1"
    assert conversation_id_for(elevenlabs_id="el-unknown") is None


def test_an_elevenlabs_id_registered_again_moves_to_the_new_conversation(redis_db):
    session_set(conversation_id="c-1", session_url=SESSION_URL, session_id="el-1")
    session_set(conversation_id="c-2", session_url=SESSION_URL, session_id="el-1")

    assert conversation_id_for(elevenlabs_id="el-1") == "c-2"


def test_a_conversation_keeps_its_16_most_recent_elevenlabs_ids(redis_db):
    for n in range(17):
        session_set(conversation_id="c-1", session_url=SESSION_URL, session_id=f"el-{n}")

    assert conversation_id_for(elevenlabs_id="el-0") is None
    assert all(conversation_id_for(elevenlabs_id=f"el-{n}") == "c-1" for n in range(1, 17))
    assert redis_db.hlen(store.indexes_of("c-1").by_elevenlabs_id) == 16


def test_an_expired_conversation_s_elevenlabs_ids_are_forgotten(redis_db, settings, clock):
    settings.CONVERSATION_TTL_SECONDS = 60
    now = clock.now
    clock.now = now - 3_600_000  # registered an hour ago: expired 59 minutes ago
    session_set(conversation_id="c-old", session_url=SESSION_URL, session_id="el-old")
    clock.now = now

    assert conversation_id_for(elevenlabs_id="el-old") is None
    # Any write to its shard sweeps a few expired conversations, as does any list page.
    conversation_list(limit=1, offset=0, sort_by="createdAt", sort_order="asc")

    assert redis_db.hlen(store.indexes_of("c-old").by_elevenlabs_id) == 0
    assert redis_db.hlen(store.indexes_of("c-old").elevenlabs_ids) == 0


def test_a_redis_that_lost_its_scripts_runs_them_again(redis_db):
    """A restarted Redis, or the replica a failover promoted, knows none of the Lua scripts."""
    conversation_ensure(conversation_id="c-1")
    redis_db.script_flush()

    assert message_append(conversation_id="c-1", message=a_message("m-1")) is not None
    conversation = conversation_get(conversation_id="c-1")
    assert conversation is not None
    assert [m["messageId"] for m in conversation.decoded()["messages"]] == ["m-1"]
