"""The live-update socket, through Channels' WebsocketCommunicator, on both backends."""

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from agent_conversations import consumers, store
from agent_conversations.consumers import (
    CLOSE_FEATURE_DISABLED,
    CLOSE_INVALID_ID,
    CLOSE_NOT_FOUND,
    CLOSE_ORIGIN_NOT_ALLOWED,
    CLOSE_UNAUTHORIZED,
)
from elevenlabs_agent.redis import breaker
from tests.live import WAIT, close_code, frame, run, socket, subscribed
from tests.support import API


def create_conversation(**body: Any) -> str:
    return APIClient().post(f"{API}/new", body, format="json").json()["conversationId"]


@sync_to_async
def append(conversation_id: str, content: str, **fields: Any) -> dict[str, Any]:
    body = {"role": "user", "content": content, **fields}
    response = APIClient().post(f"{API}/{conversation_id}/message", body, format="json")
    assert response.status_code == 200
    return response.json()


@sync_to_async
def get_conversation(conversation_id: str) -> dict[str, Any]:
    return APIClient().get(f"{API}/{conversation_id}").json()


def test_connect_sends_the_snapshot_without_touching_the_conversation(redis_db, monkeypatch):
    conversation_id = create_conversation(agentId="agent-1", metadata={"page": "help"})

    async def scenario() -> None:
        await append(conversation_id, "Hello")
        before = await get_conversation(conversation_id)  # a GET moves lastAccessedAt
        accessed = redis_db.zscore(
            store.indexes_of(conversation_id).sort("lastAccessedAt"), conversation_id
        )
        monkeypatch.setattr(store, "_now_ms", lambda: int(accessed) + 60_000)  # a minute later
        communicator, snapshot = await subscribed(f"conversationId={conversation_id}")

        assert snapshot == {
            "type": "agent_conversation.snapshot",
            "conversationId": conversation_id,
            "conversation": before,
        }
        # The socket did not move it (had it, it would be a minute later).
        assert (
            redis_db.zscore(
                store.indexes_of(conversation_id).sort("lastAccessedAt"), conversation_id
            )
            == accessed
        )
        await communicator.disconnect()

    run(scenario)


def test_an_append_reaches_the_socket_with_the_message(redis_db):
    conversation_id = create_conversation()

    async def scenario() -> None:
        communicator, _ = await subscribed(f"conversationId={conversation_id}")
        added = await append(conversation_id, "Hi there", source="voice", messageId="el-1")

        update = await frame(communicator)

        assert update["type"] == "agent_conversation.updated"
        assert update["conversationId"] == conversation_id
        assert update["reason"] == "message_added"
        assert update["message"]["messageId"] == added["messageId"] == "el-1"
        assert update["message"]["content"] == "Hi there"
        assert update["conversation"]["messageCount"] == 1
        assert update["conversation"]["messages"] == [update["message"]]
        await communicator.disconnect()

    run(scenario)


def test_frames_arrive_in_the_order_of_the_writes(redis_db):
    conversation_id = create_conversation()
    contents = [f"utterance {n}" for n in range(8)]

    async def scenario() -> None:
        communicator, _ = await subscribed(f"id={conversation_id}")  # `id=` works too
        for content in contents:
            await append(conversation_id, content)

        frames = [await frame(communicator) for _ in contents]

        assert [f["message"]["content"] for f in frames] == contents
        assert [f["conversation"]["messageCount"] for f in frames] == list(range(1, 9))
        assert await communicator.receive_nothing(timeout=0.2)
        await communicator.disconnect()

    run(scenario)


def test_a_duplicate_append_sends_no_frame(redis_db):
    conversation_id = create_conversation()

    async def scenario() -> None:
        communicator, _ = await subscribed(f"conversationId={conversation_id}")
        await append(conversation_id, "once", messageId="m-1")
        await frame(communicator)

        retry = await append(conversation_id, "once", messageId="m-1")

        assert retry["duplicate"] is True
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()

    run(scenario)


def test_session_registration_is_an_updated_frame_without_message(redis_db):
    conversation_id = create_conversation()
    body = {"sessionUrl": "wss://api.elevenlabs.io/v1/convai/conversation?x=1", "sessionId": "s"}

    async def scenario() -> None:
        communicator, _ = await subscribed(f"conversationId={conversation_id}")
        response = await sync_to_async(APIClient().post)(
            f"{API}/{conversation_id}/session", body, format="json"
        )
        assert response.status_code == 200

        update = await frame(communicator)

        assert update["type"] == "agent_conversation.updated"
        assert update["reason"] == "updated"
        assert "message" not in update
        assert update["conversation"]["conversationId"] == conversation_id
        await communicator.disconnect()

    run(scenario)


def test_every_socket_of_a_conversation_gets_the_frame_and_others_none(redis_db):
    watched, other = create_conversation(), create_conversation()

    async def scenario() -> None:
        first, _ = await subscribed(f"conversationId={watched}")
        second, _ = await subscribed(f"conversationId={watched}")
        bystander, _ = await subscribed(f"conversationId={other}")

        await append(watched, "for both")

        assert (await frame(first))["message"]["content"] == "for both"
        assert (await frame(second))["message"]["content"] == "for both"
        assert await bystander.receive_nothing(timeout=0.3)
        for communicator in (first, second, bystander):
            await communicator.disconnect()

    run(scenario)


def test_a_socket_that_left_the_group_is_sent_nothing(redis_db):
    conversation_id = create_conversation()

    async def scenario() -> None:
        leaving, _ = await subscribed(f"conversationId={conversation_id}")
        staying, _ = await subscribed(f"conversationId={conversation_id}")
        await leaving.disconnect()

        await append(conversation_id, "after one left")

        assert (await frame(staying))["message"]["content"] == "after one left"
        await staying.disconnect()

    run(scenario)


def test_ping_gets_pong_and_anything_else_is_ignored(redis_db):
    conversation_id = create_conversation()

    async def scenario() -> None:
        communicator, _ = await subscribed(f"conversationId={conversation_id}")
        for ignored in ("not json", '{"type": "subscribe"}', "[1, 2]"):
            await communicator.send_to(text_data=ignored)
        await communicator.send_to(text_data='{"type": "ping"}')

        assert await frame(communicator) == {"type": "pong"}
        assert await communicator.receive_nothing(timeout=0.2)
        await communicator.disconnect()

    run(scenario)


def test_unknown_conversation_gets_an_error_frame_then_4404(redis_db):
    async def scenario() -> None:
        communicator = socket("conversationId=never-created")
        connected, _ = await communicator.connect(timeout=WAIT)
        assert connected  # accepted, so that the browser sees the code

        assert await frame(communicator) == {
            "type": "error",
            "error": "Agent conversation not found",
            "conversationId": "never-created",
        }
        assert await close_code(communicator) == CLOSE_NOT_FOUND

    run(scenario)


@pytest.mark.parametrize("query", ["", "conversationId=", "conversationId=bad%20id", "id=list"])
def test_missing_or_invalid_id_closes_4400(redis_db, query):
    async def scenario() -> None:
        communicator = socket(query)
        await communicator.connect(timeout=WAIT)

        assert await close_code(communicator) == CLOSE_INVALID_ID

    run(scenario)


def test_feature_off_closes_4503(redis_db, settings):
    conversation_id = create_conversation()
    settings.ELEVENLABS_AGENT_ENABLED = False

    async def scenario() -> None:
        communicator = socket(f"conversationId={conversation_id}")
        await communicator.connect(timeout=WAIT)

        assert await close_code(communicator) == CLOSE_FEATURE_DISABLED

    run(scenario)


@pytest.mark.parametrize(
    ("query", "subprotocols"),
    [("", []), ("&apiKey=wrong", []), ("", ["wrong"])],
    ids=["no key", "wrong query key", "wrong protocol key"],
)
def test_api_keys_set_and_none_valid_closes_4401(redis_db, settings, query, subprotocols):
    conversation_id = create_conversation()
    settings.AGENT_API_KEYS = ["k-1"]

    async def scenario() -> None:
        communicator = socket(f"conversationId={conversation_id}{query}", subprotocols=subprotocols)
        await communicator.connect(timeout=WAIT)

        assert await close_code(communicator) == CLOSE_UNAUTHORIZED

    run(scenario)


def test_api_key_as_query_or_selected_protocol_is_served(redis_db, settings):
    conversation_id = create_conversation()
    settings.AGENT_API_KEYS = ["k-1", "k-2"]

    async def scenario() -> None:
        by_query, snapshot = await subscribed(f"conversationId={conversation_id}&apiKey=k-2")
        assert snapshot["type"] == "agent_conversation.snapshot"
        await by_query.disconnect()

        by_protocol = socket(f"conversationId={conversation_id}", subprotocols=["k-1"])
        connected, protocol = await by_protocol.connect(timeout=WAIT)
        assert connected
        assert protocol == "k-1"  # browsers drop a socket whose protocol is not selected
        assert (await frame(by_protocol))["type"] == "agent_conversation.snapshot"
        await by_protocol.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://app.example.com", True),
        ("https://evil.example.net", False),
        ("http://testserver", True),  # a page served by this service itself
        (None, True),  # not a browser
    ],
)
def test_origin_outside_cors_allowed_origins_closes_4403(redis_db, settings, origin, allowed):
    conversation_id = create_conversation()
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    headers = [(b"host", b"testserver")]
    if origin is not None:
        headers.append((b"origin", origin.encode()))

    async def scenario() -> None:
        communicator = socket(f"conversationId={conversation_id}", headers=headers)
        await communicator.connect(timeout=WAIT)

        if allowed:
            assert (await frame(communicator))["type"] == "agent_conversation.snapshot"
            await communicator.disconnect()
        else:
            assert await close_code(communicator) == CLOSE_ORIGIN_NOT_ALLOWED

    run(scenario)


def test_storage_down_at_connect_closes_1011(redis_down):
    async def scenario() -> None:
        communicator = socket("conversationId=any-id")
        await communicator.connect(timeout=WAIT)

        assert await close_code(communicator) == 1011

    run(scenario)


def test_a_write_nobody_watches_publishes_nothing(redis_db):
    conversation_id = create_conversation()
    # A pattern subscription sees every publish yet is no subscriber of the conversation's
    # channel (PUBSUB NUMSUB does not count it), so it shows what an unwatched write sends.
    pubsub = redis_db.pubsub()
    pubsub.psubscribe(store.live_channel("*"))
    pubsub.get_message(timeout=1)  # the psubscribe confirmation

    async def scenario() -> None:
        await append(conversation_id, "unwatched")

    run(scenario)

    assert pubsub.get_message(timeout=0.3) is None
    pubsub.close()


def test_an_idle_socket_gets_keepalive_frames(redis_db, monkeypatch):
    monkeypatch.setattr(consumers, "KEEPALIVE_SECONDS", 0.3)
    conversation_id = create_conversation()

    async def scenario() -> None:
        communicator, _ = await subscribed(f"conversationId={conversation_id}")
        await append(conversation_id, "activity")
        assert (await frame(communicator))["type"] == "agent_conversation.updated"

        assert await frame(communicator) == {"type": "keepalive"}
        assert await frame(communicator) == {"type": "keepalive"}
        await communicator.disconnect()

    run(scenario)


def test_a_refused_socket_left_open_by_its_client_is_no_redis_outage(redis_db, monkeypatch):
    """The deadline on joining a group does not outlive a refusal: a client slow to finish the
    close must not look like a Redis that does not answer."""
    monkeypatch.setattr(consumers, "JOIN_SECONDS", 0.05)

    async def scenario() -> None:
        communicator = socket("conversationId=bad%20id")
        await communicator.connect(timeout=WAIT)
        assert await close_code(communicator) == CLOSE_INVALID_ID
        await asyncio.sleep(0.2)  # the client has not finished closing; the deadline has passed
        assert not breaker.is_open
        await communicator.disconnect()

    run(scenario)
