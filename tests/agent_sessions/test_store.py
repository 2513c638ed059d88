import json
import time

import pytest

from agent_conversations import store as conversation_store
from agent_conversations.store import conversation_key
from agent_sessions.store import (
    SCHEMA_VERSION,
    session_delete,
    session_get,
    session_key,
    session_set,
)
from elevenlabs_agent.errors import StoreUnavailable
from elevenlabs_agent.timestamps import from_epoch_ms
from tests.support import run_concurrently

WS_URL = "wss://api.elevenlabs.io/v1/convai/conversation?signed=abc"


def stored(redis_db, conversation_id: str) -> dict:
    return json.loads(redis_db.get(session_key(conversation_id)))


def test_session_set_writes_the_contract_record_under_the_contract_key(redis_db):
    session_set(
        conversation_id="conv-1",
        session_url=WS_URL,
        session_id="sess-1",
        expires_at="2026-11-23T13:00:00.000Z",
        transport="websocket",
        metadata={"tab": 3},
    )

    record = stored(redis_db, "conv-1")
    assert record == {
        "conversationId": "conv-1",
        "sessionId": "sess-1",
        "sessionUrl": WS_URL,
        "wsUrl": WS_URL,
        "sessionPayload": {"wsUrl": WS_URL},
        "expiresAt": "2026-11-23T13:00:00.000Z",
        "transport": "websocket",
        "metadata": {"tab": 3},
        "createdAt": record["createdAt"],
        "ttl": 600,
        "schemaVersion": SCHEMA_VERSION,
    }
    assert record["createdAt"].endswith("Z")
    assert redis_db.keys("elevenlabs:session:*") == [b"elevenlabs:session:conv-1"]


def test_registering_again_counts_the_conversation_as_used(redis_db, monkeypatch):
    now = conversation_store._now_ms()
    monkeypatch.setattr(conversation_store, "_now_ms", lambda: now)
    session_set(conversation_id="conv-1", session_url=WS_URL)
    monkeypatch.setattr(conversation_store, "_now_ms", lambda: now + 5_000)

    session_set(conversation_id="conv-1", session_url=WS_URL)

    touched = conversation_store.conversation_snapshot(
        conversation_id="conv-1"
    ).conversation.decoded()
    assert touched["lastAccessedAt"] == from_epoch_ms(now + 5_000) != touched["createdAt"]
    assert (
        redis_db.zscore(conversation_store.indexes_of("conv-1").sort("lastAccessedAt"), "conv-1")
        == now + 5_000
    )


def test_session_set_creates_its_conversation_in_the_same_step(redis_db):
    first = session_set(conversation_id="conv-1", session_url=WS_URL)
    again = session_set(conversation_id="conv-1", session_url=WS_URL)

    assert first.conversation_created is True
    assert again.conversation_created is False
    assert redis_db.exists(conversation_key("conv-1"), session_key("conv-1")) == 2


def test_session_set_gives_the_key_the_configured_ttl(redis_db):
    session_set(conversation_id="conv-1", session_url=WS_URL)

    assert 590 < redis_db.ttl(session_key("conv-1")) <= 600


def test_session_set_again_replaces_the_record_and_restarts_the_ttl(redis_db):
    session_set(conversation_id="conv-1", session_url=WS_URL, session_id="first")
    redis_db.expire(session_key("conv-1"), 100)  # as if most of the TTL had passed

    session_set(conversation_id="conv-1", session_url=WS_URL, session_id="second")

    assert stored(redis_db, "conv-1")["sessionId"] == "second"
    assert 590 < redis_db.ttl(session_key("conv-1")) <= 600


def test_session_ttl_follows_the_setting(redis_db, settings):
    settings.SESSION_TTL_SECONDS = 1
    session_set(conversation_id="conv-1", session_url=WS_URL)

    assert 0 < redis_db.pttl(session_key("conv-1")) <= 1000  # TTL would round under load
    assert stored(redis_db, "conv-1")["ttl"] == 1
    time.sleep(1.1)  # PX is relative to Redis's own clock: only waiting shows it expire
    assert session_get(conversation_id="conv-1") is None
    assert redis_db.exists(session_key("conv-1")) == 0


def test_session_payload_round_trips_exactly(redis_db):
    payload = {
        "signed_url": WS_URL,
        "config": {"wsUrl": "wss://elsewhere.example/ws", "nested": [{"deep": {"x": None}}, []]},
        "ключ": "значение",
        "emoji_🎙": "✓",
        "CamelCase": {},
        "number": 1.5,
    }
    session_set(conversation_id="conv-1", session_url=WS_URL, session_payload=payload)

    raw = redis_db.get(session_key("conv-1"))
    assert "ключ".encode() in raw  # plain UTF-8, not \u escapes
    assert list(json.loads(raw)["sessionPayload"]) == list(payload)
    assert json.loads(raw)["sessionPayload"] == payload
    assert session_get(conversation_id="conv-1").record["sessionPayload"] == payload


@pytest.mark.parametrize(
    ("payload", "expected_ws_url"),
    [
        ({"wsUrl": "wss://top.example/ws", "config": {"wsUrl": "wss://nested.example/ws"}},
         "wss://top.example/ws"),
        ({"config": {"wsUrl": "wss://nested.example/ws"}}, "wss://nested.example/ws"),
        ({"other": 1}, WS_URL),
        (None, WS_URL),
    ],
)  # fmt: skip
def test_session_ws_url_prefers_payload_then_config_then_session_url(
    redis_db, payload, expected_ws_url
):
    session_set(conversation_id="conv-1", session_url=WS_URL, session_payload=payload)

    assert stored(redis_db, "conv-1")["wsUrl"] == expected_ws_url


def test_session_get_missing_returns_none(redis_db):
    assert session_get(conversation_id="nobody") is None


def test_session_get_reports_record_and_remaining_seconds(redis_db):
    session_set(conversation_id="conv-1", session_url=WS_URL, transport="webrtc")

    session = session_get(conversation_id="conv-1")

    assert session.record["transport"] == "webrtc"
    assert 590 < session.expires_in_seconds <= 600


def test_session_get_completes_a_minimal_older_record(redis_db):
    redis_db.set(session_key("old-1"), json.dumps({"sessionUrl": WS_URL}), ex=300)

    record = session_get(conversation_id="old-1").record

    assert record == {
        "conversationId": "old-1",
        "sessionUrl": WS_URL,
        "wsUrl": WS_URL,
        "sessionPayload": {"wsUrl": WS_URL},
        "metadata": {},
        "ttl": 600,
        "schemaVersion": SCHEMA_VERSION,
    }


def test_session_get_completes_a_record_with_agent_session_id_only(redis_db):
    old = {"conversationId": "old-2", "sessionUrl": WS_URL, "agentSessionId": "agent-7"}
    redis_db.set(session_key("old-2"), json.dumps(old), ex=300)

    assert session_get(conversation_id="old-2").record["sessionId"] == "agent-7"


def test_session_get_lifts_fields_from_the_node_service_shape(redis_db):
    node_payload = {"signedUrl": WS_URL, "conversation_config": {"agent": "a"}}
    node_record = {
        "conversationId": "node-1",
        "sessionId": "s-9",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "metadata": {
            "wsUrl": "wss://node.example/ws",
            "sessionUrl": WS_URL,
            "sessionPayload": node_payload,
            "expiresAt": "2026-01-01T00:15:00.000Z",
        },
    }
    redis_db.set(session_key("node-1"), json.dumps(node_record), ex=300)

    record = session_get(conversation_id="node-1").record

    assert record["sessionUrl"] == WS_URL
    assert record["wsUrl"] == "wss://node.example/ws"
    assert record["sessionPayload"] == node_payload
    assert record["expiresAt"] == "2026-01-01T00:15:00.000Z"
    assert record["sessionId"] == "s-9"
    assert record["createdAt"] == "2026-01-01T00:00:00.000Z"
    assert record["schemaVersion"] == SCHEMA_VERSION


def test_session_get_of_an_unreadable_value_returns_none(redis_db):
    redis_db.set(session_key("junk"), b"\x80not json", ex=300)

    assert session_get(conversation_id="junk") is None


def test_session_delete_reports_whether_there_was_one(redis_db):
    session_set(conversation_id="conv-1", session_url=WS_URL)

    assert session_delete(conversation_id="conv-1") is True
    assert session_delete(conversation_id="conv-1") is False
    assert redis_db.exists(session_key("conv-1")) == 0


def test_concurrent_registrations_leave_exactly_one_complete_record(redis_db):

    def register(n: int) -> None:
        payload = {"writer": n, "blob": "x" * 2000}
        session_set(conversation_id="race", session_url=WS_URL, session_payload=payload)

    run_concurrently(register, workers=20)

    assert redis_db.keys("elevenlabs:session:*") == [b"elevenlabs:session:race"]
    record = stored(redis_db, "race")
    assert record["sessionPayload"] == {
        "writer": record["sessionPayload"]["writer"],
        "blob": "x" * 2000,
    }
    assert record["sessionPayload"]["writer"] in range(20)
    assert 590 < redis_db.ttl(session_key("race")) <= 600


def test_store_outage_raises_store_unavailable_quickly(redis_down):
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        session_set(conversation_id="conv-1", session_url=WS_URL)
    with pytest.raises(StoreUnavailable):
        session_get(conversation_id="conv-1")
    assert time.monotonic() - started < 2
