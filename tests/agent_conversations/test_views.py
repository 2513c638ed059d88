import re
import uuid

import pytest

from agent_conversations import store
from agent_conversations.serializers import MESSAGE_CONTENT_MAX_LENGTH
from agent_conversations.store import conversation_key, messages_key
from agent_conversations.views import CONVERSATION_CREATED, MESSAGE_ADDED
from elevenlabs_agent.errors import CONVERSATION_FULL, CONVERSATION_NOT_FOUND
from elevenlabs_agent.ids import CONVERSATION_ID
from tests.support import API

ISO_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"

# The frontend's TypeScript types: required keys with their JSON types, then optional ones.
AGENT_CONVERSATION = (
    {"conversationId": str, "messages": list, "createdAt": str, "lastAccessedAt": str,
     "messageCount": int},
    {"agentId": str, "metadata": dict},
)  # fmt: skip
AGENT_MESSAGE = (
    {"messageId": str, "role": str, "content": str, "timestamp": str, "source": str},
    {"toolName": str, "toolArgs": dict, "toolOutput": str, "status": str},
)


def assert_shape(obj: dict, shape: tuple[dict, dict]) -> None:
    required, optional = shape
    assert set(required) <= set(obj), f"missing {set(required) - set(obj)}"
    assert set(obj) <= set(required) | set(optional), (
        f"unknown {set(obj) - set(required) - set(optional)}"
    )
    for key, value in obj.items():
        assert value is not None, f"{key} is null"
        assert isinstance(value, {**required, **optional}[key]), key


def assert_conversation(obj: dict) -> None:
    assert_shape(obj, AGENT_CONVERSATION)
    assert re.match(ISO_PATTERN, obj["createdAt"])
    assert re.match(ISO_PATTERN, obj["lastAccessedAt"])
    assert obj["messageCount"] == len(obj["messages"])
    for message in obj["messages"]:
        assert_shape(message, AGENT_MESSAGE)
        assert re.match(ISO_PATTERN, message["timestamp"])
        assert message["role"] in {"user", "assistant", "system", "tool"}
        assert message["source"] in {"voice", "text", "tool_output", "system_event"}


def new_conversation(api, body=None) -> str:
    response = api.post(f"{API}/new", body, format="json") if body else api.post(f"{API}/new")
    assert response.status_code == 200
    return response.json()["conversationId"]


def append(api, cid: str, body: dict):
    return api.post(f"{API}/{cid}/message", body, format="json")


def test_new_with_an_empty_body_creates_an_empty_conversation(api, redis_db):
    response = api.post(f"{API}/new")

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["message"] == CONVERSATION_CREATED
    assert body["conversation"]["conversationId"] == body["conversationId"]
    assert uuid.UUID(body["conversationId"]).version == 4
    assert_conversation(body["conversation"])
    assert "agentId" not in body["conversation"]
    assert "metadata" not in body["conversation"]
    assert redis_db.exists(conversation_key(body["conversationId"])) == 1


def test_new_keeps_agent_id_and_metadata(api, redis_db):
    metadata = {"page": "checkout", "flags": [], "nested": {"ключ": None}}
    cid = new_conversation(api, {"agentId": "agent-7", "metadata": metadata})

    conversation = api.get(f"{API}/{cid}").json()

    assert conversation["agentId"] == "agent-7"
    assert conversation["metadata"] == metadata
    assert_conversation(conversation)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"agentId": 5}, "agentId"), ({"metadata": [1]}, "metadata"), ({"metadata": "x"}, "metadata")],
)
def test_new_rejects_invalid_bodies_and_writes_nothing(api, redis_db, body, field):
    response = api.post(f"{API}/new", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["details"]
    assert redis_db.keys("*") == []


def test_get_returns_the_bare_conversation_with_messages_in_order(api, redis_db):
    cid = new_conversation(api)
    for n, role in enumerate(["user", "assistant", "user"]):
        append(api, cid, {"role": role, "content": f"line {n}", "source": "voice"})

    response = api.get(f"{API}/{cid}")

    assert response.status_code == 200
    conversation = response.json()
    assert_conversation(conversation)
    assert [m["content"] for m in conversation["messages"]] == ["line 0", "line 1", "line 2"]
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant", "user"]


def test_get_unknown_is_a_404_envelope(api, redis_db):
    response = api.get(f"{API}/never-made")

    assert response.status_code == 404
    assert response.json() == {"success": False, "error": CONVERSATION_NOT_FOUND}


@pytest.mark.parametrize("cid", ["-x", "a" * 129, "sp ace", "ünï"])
def test_get_and_append_reject_invalid_ids_before_redis(api, redis_down, cid):
    for response in (api.get(f"{API}/{cid}"), append(api, cid, {"role": "user", "content": "x"})):
        assert response.status_code == 400
        assert response.json()["details"] == {"conversationId": [CONVERSATION_ID.invalid]}


def test_append_answers_the_contract_body_and_fills_id_and_timestamp(api, redis_db):
    cid = new_conversation(api)

    response = append(api, cid, {"role": "user", "content": "hi"})

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "success": True,
        "conversationId": cid,
        "message": MESSAGE_ADDED,
        "messageId": body["messageId"],
        "messageCount": 1,
    }
    message = api.get(f"{API}/{cid}").json()["messages"][0]
    assert message["messageId"] == body["messageId"]
    assert message["source"] == "text"
    assert_shape(message, AGENT_MESSAGE)


def test_append_keeps_every_optional_field_as_sent(api, redis_db):
    cid = new_conversation(api)
    sent = {
        "messageId": "tool-call-1",
        "role": "tool",
        "content": "  looked it up \n",
        "source": "tool_output",
        "timestamp": "2026-11-23T12:00:00.5+00:00",
        "toolName": "search",
        "toolArgs": {"q": "x", "opts": {"deep": [1, 2]}},
        "toolOutput": "3 results",
        "status": "completed",
    }

    append(api, cid, sent)

    message = api.get(f"{API}/{cid}").json()["messages"][0]
    assert message == {**sent, "timestamp": "2026-11-23T12:00:00.500Z"}


def test_append_retry_with_a_stored_message_id_is_acknowledged_once(api, redis_db):
    cid = new_conversation(api)
    body = {"role": "assistant", "content": "once", "messageId": "el-123"}

    first = append(api, cid, body).json()
    retry = append(api, cid, body).json()

    assert "duplicate" not in first
    assert retry["duplicate"] is True
    assert retry["messageCount"] == 1
    assert redis_db.llen(messages_key(cid)) == 1


def test_append_to_unknown_conversation_is_a_404(api, redis_db):
    response = append(api, "never-made", {"role": "user", "content": "x"})

    assert response.status_code == 404
    assert response.json()["error"] == CONVERSATION_NOT_FOUND
    assert redis_db.keys("*") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": "x"}, "role"),
        ({"role": "robot", "content": "x"}, "role"),
        ({"role": "user"}, "content"),
        ({"role": "user", "content": ""}, "content"),
        ({"role": "user", "content": "   \n"}, "content"),
        ({"role": "user", "content": 12}, "content"),
        ({"role": "user", "content": "x" * (MESSAGE_CONTENT_MAX_LENGTH + 1)}, "content"),
        ({"role": "user", "content": "x", "source": "fax"}, "source"),
        ({"role": "user", "content": "x", "status": "done"}, "status"),
        ({"role": "user", "content": "x", "timestamp": "yesterday"}, "timestamp"),
        ({"role": "user", "content": "x", "messageId": ""}, "messageId"),
        ({"role": "user", "content": "x", "messageId": 3}, "messageId"),
        ({"role": "user", "content": "x", "toolArgs": [1]}, "toolArgs"),
        ({"role": "user", "content": "x", "toolName": {"a": 1}}, "toolName"),
    ],
)
def test_append_rejects_invalid_messages_and_writes_nothing(api, redis_db, body, field):
    cid = new_conversation(api)
    before = redis_db.hgetall(conversation_key(cid))

    response = append(api, cid, body)

    assert response.status_code == 400
    assert field in response.json()["details"]
    assert field in response.json()["error"]
    assert redis_db.llen(messages_key(cid)) == 0
    assert redis_db.hgetall(conversation_key(cid)) == before


def test_list_defaults_and_pagination_block(api, redis_db):
    ids = [new_conversation(api) for _ in range(3)]

    response = api.get(f"{API}/list")

    assert response.status_code == 200
    body = response.json()
    assert body["pagination"] == {"total": 3, "limit": 20, "offset": 0, "hasMore": False}
    listed = [(c["lastAccessedAt"], c["conversationId"]) for c in body["conversations"]]
    assert listed == sorted(listed, reverse=True)  # lastAccessedAt desc, ties by id
    assert sorted(cid for _, cid in listed) == sorted(ids)
    for conversation in body["conversations"]:
        assert_conversation(conversation)


def test_list_pages_with_has_more(api, redis_db):
    for _ in range(5):
        new_conversation(api)

    first = api.get(f"{API}/list", {"limit": 2, "offset": 0}).json()
    last = api.get(f"{API}/list", {"limit": 2, "offset": 4}).json()

    assert first["pagination"] == {"total": 5, "limit": 2, "offset": 0, "hasMore": True}
    assert len(first["conversations"]) == 2
    assert last["pagination"] == {"total": 5, "limit": 2, "offset": 4, "hasMore": False}
    assert len(last["conversations"]) == 1


def test_list_clamps_limit_to_100(api, redis_db):
    body = api.get(f"{API}/list", {"limit": 5000}).json()

    assert body["pagination"]["limit"] == 100


def test_list_sorts_by_message_count(api, redis_db):
    busy, quiet = new_conversation(api), new_conversation(api)
    for n in range(3):
        append(api, busy, {"role": "user", "content": f"{n}"})
    api.get(f"{API}/{quiet}")  # accessed last, but fewer messages

    body = api.get(f"{API}/list", {"sortBy": "messageCount", "sortOrder": "desc"}).json()

    assert [c["conversationId"] for c in body["conversations"]] == [busy, quiet]


def test_list_does_not_move_last_accessed(api, redis_db):
    cid = new_conversation(api)
    score = redis_db.zscore(store.indexes_of(cid).sort("lastAccessedAt"), cid)

    api.get(f"{API}/list")

    assert redis_db.zscore(store.indexes_of(cid).sort("lastAccessedAt"), cid) == score


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"offset": "x"}, "offset"),
        ({"offset": "0.0"}, "offset"),
        ({"limit": "1.00"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"sortBy": "title"}, "sortBy"),
        ({"sortOrder": "up"}, "sortOrder"),
    ],
)
def test_list_rejects_bad_parameters_naming_them(api, redis_db, params, name):
    response = api.get(f"{API}/list", params)

    assert response.status_code == 400
    assert name in response.json()["error"]
    assert list(response.json()["details"]) == [name]


@pytest.mark.parametrize(("method", "path"), [("get", "new"), ("post", "list")])
def test_list_and_new_are_routes_not_ids(api, redis_db, method, path):
    assert getattr(api, method)(f"{API}/{path}").status_code == 405


def test_session_registration_starts_the_conversation(api, redis_db, monkeypatch):
    session = {"sessionUrl": "wss://api.elevenlabs.io/ws"}
    now_ms = [1_800_000_000_000]
    monkeypatch.setattr(store, "_now_ms", lambda: now_ms[0])

    first = api.post(f"{API}/voice-1/session", session, format="json").json()
    now_ms[0] += 5_000
    second = api.post(f"{API}/voice-1/session", session, format="json").json()

    assert first["conversationCreated"] is True
    assert second["conversationCreated"] is False
    # The second registration touched the conversation it found.
    assert (
        redis_db.zscore(store.indexes_of("voice-1").sort("lastAccessedAt"), "voice-1")
        == 1_800_000_005_000
    )
    conversation = api.get(f"{API}/voice-1").json()
    assert_conversation(conversation)
    assert conversation["messages"] == []


def test_a_full_conversation_refuses_appends_with_409_and_stores_nothing(api, redis_db, settings):
    settings.CONVERSATION_MAX_MESSAGES = 2
    cid = new_conversation(api)
    for n in range(2):
        body = {"role": "user", "content": f"m{n}", "messageId": f"m{n}"}
        assert api.post(f"{API}/{cid}/message", body, format="json").status_code == 200

    refused = api.post(
        f"{API}/{cid}/message", {"role": "user", "content": "one more"}, format="json"
    )
    retry = api.post(f"{API}/{cid}/message", {"role": "user", "content": "m1", "messageId": "m1"},
                     format="json")  # fmt: skip

    assert refused.status_code == 409
    assert refused.json() == {"success": False, "error": CONVERSATION_FULL.format(
        messages=2, size=settings.CONVERSATION_MAX_BYTES)}  # fmt: skip
    assert retry.status_code == 200  # a retry of a stored message is still acknowledged
    assert retry.json()["duplicate"] is True
    assert redis_db.llen(messages_key(cid)) == 2
    assert api.get(f"{API}/{cid}").json()["messageCount"] == 2


def test_a_conversation_is_full_by_bytes_too(api, redis_db, settings):
    settings.CONVERSATION_MAX_BYTES = 1000
    cid = new_conversation(api)
    first = api.post(f"{API}/{cid}/message", {"role": "user", "content": "a" * 600}, format="json")

    second = api.post(f"{API}/{cid}/message", {"role": "user", "content": "b" * 600}, format="json")

    assert first.status_code == 200
    assert second.status_code == 409
    assert redis_db.llen(messages_key(cid)) == 1
