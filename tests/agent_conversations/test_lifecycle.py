"""Deleting and editing conversations, paging their messages, listing one agent's (§11)."""

import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from agent_conversations import store
from agent_conversations.serializers import CURSORS_EXCLUSIVE
from agent_conversations.store import AgentMessage
from agent_tasks import store as tasks
from tests.live import WAIT, frame, run, subscribed
from tests.support import API

SESSION = {"sessionUrl": "wss://api.elevenlabs.io/v1/convai/conversation", "sessionId": "el-9"}


def create(**body: Any) -> str:
    return APIClient().post(f"{API}/new", body, format="json").json()["conversationId"]


def append(conversation_id: str, message_id: str, content: str = "hi") -> Any:
    body = {"role": "user", "content": content, "messageId": message_id}
    return APIClient().post(f"{API}/{conversation_id}/message", body, format="json")


def mentions(redis_db, conversation_id: str) -> list[str]:
    """Every place in Redis that still names the conversation: key names, hash fields and
    values, sorted-set members."""
    found = [key.decode() for key in redis_db.scan_iter(match=f"*{conversation_id}*")]
    for key in redis_db.scan_iter():
        kind = redis_db.type(key)
        if kind == b"hash":
            entries = redis_db.hgetall(key).items()
            if any(conversation_id.encode() in field + value for field, value in entries):
                found.append(f"{key.decode()} (hash entry)")
        elif kind == b"zset" and redis_db.zscore(key, conversation_id) is not None:
            found.append(f"{key.decode()} (member)")
    return found


def test_delete_removes_every_trace_of_the_conversation(redis_db):
    conversation_id = create(agentId="agent-1", metadata={"page": "help"})
    append(conversation_id, "m1")
    APIClient().post(f"{API}/{conversation_id}/session", SESSION, format="json")
    started = tasks.task_start(conversation_id=conversation_id, tool_name="t", tool_args={})
    tasks.task_finish(task=started.task, succeeded=True, result="ok")  # leaves a pending push
    other = create(agentId="agent-1")
    assert mentions(redis_db, conversation_id)

    response = APIClient().delete(f"{API}/{conversation_id}")

    assert response.status_code == 200
    assert response.json() == {"success": True, "removed": True}
    # Task records are not the conversation's: they expire on their own TTL.
    leftovers = [
        m for m in mentions(redis_db, conversation_id) if not m.startswith("elevenlabs:task:")
    ]
    assert leftovers == []
    assert APIClient().get(f"{API}/{conversation_id}").status_code == 404
    assert store.conversation_id_for(elevenlabs_id="el-9") is None
    listed = APIClient().get(f"{API}/list", {"agentId": "agent-1"}).json()
    assert [c["conversationId"] for c in listed["conversations"]] == [other]
    assert listed["pagination"]["total"] == 1


def test_delete_is_idempotent(redis_db):
    conversation_id = create()
    APIClient().delete(f"{API}/{conversation_id}")

    again = APIClient().delete(f"{API}/{conversation_id}")

    assert again.status_code == 200
    assert again.json() == {"success": True, "removed": False}


def test_subscribers_hear_of_the_delete_then_close_4404(redis_db):
    conversation_id = create()

    async def scenario() -> None:
        communicator, _ = await subscribed(f"conversationId={conversation_id}")
        await sync_to_async(APIClient().delete)(f"{API}/{conversation_id}")
        assert await frame(communicator) == {
            "type": "agent_conversation.deleted",
            "conversationId": conversation_id,
        }
        output = await communicator.receive_output(timeout=WAIT)
        assert (output["type"], output["code"]) == ("websocket.close", 4404)

    run(scenario)


def test_a_delete_under_concurrent_appends_leaves_no_half_conversation(real_redis_db):
    conversation_id = create()
    statuses: list[int] = []
    deleted = threading.Event()

    def keep_appending(writer: int) -> None:
        n = 0
        while not deleted.is_set() or n < 5:
            statuses.append(append(conversation_id, f"w{writer}-{n}").status_code)
            n += 1

    writers = [threading.Thread(target=keep_appending, args=(w,)) for w in range(4)]
    for writer in writers:
        writer.start()
    APIClient().delete(f"{API}/{conversation_id}")
    deleted.set()
    for writer in writers:
        writer.join()

    assert set(statuses) <= {200, 404}
    assert 404 in statuses  # appends after the delete found nothing to append to
    assert mentions(real_redis_db, conversation_id) == []


def test_patch_sets_agent_and_replaces_metadata_and_subscribers_hear_of_it(redis_db):
    conversation_id = create(agentId="agent-1", metadata={"a": 1, "b": 2})

    async def scenario() -> None:
        communicator, _ = await subscribed(f"conversationId={conversation_id}")
        response = await sync_to_async(APIClient().patch)(
            f"{API}/{conversation_id}", {"agentId": "agent-2", "metadata": {"c": []}}, format="json"
        )
        assert response.status_code == 200
        patched = response.json()
        assert (patched["agentId"], patched["metadata"]) == ("agent-2", {"c": []})
        updated = await frame(communicator)
        assert (updated["type"], updated["reason"]) == ("agent_conversation.updated", "updated")
        assert updated["conversation"]["metadata"] == {"c": []}
        await communicator.disconnect()

    run(scenario)
    by_agent = {
        agent: [
            c["conversationId"]
            for c in APIClient().get(f"{API}/list", {"agentId": agent}).json()["conversations"]
        ]
        for agent in ("agent-1", "agent-2")
    }
    assert by_agent == {"agent-1": [], "agent-2": [conversation_id]}


def test_patch_of_only_metadata_keeps_the_agent(redis_db):
    conversation_id = create(agentId="agent-1")

    patched = APIClient().patch(f"{API}/{conversation_id}", {"metadata": {"x": 1}}, format="json")

    assert patched.json()["agentId"] == "agent-1"


@pytest.mark.parametrize(
    "body", [{"agentId": 5}, {"metadata": [1]}, {"agentId": ""}], ids=["number", "array", "empty"]
)
def test_patch_with_a_bad_body_is_400_and_changes_nothing(redis_db, body):
    conversation_id = create(agentId="agent-1", metadata={"k": 1})

    assert APIClient().patch(f"{API}/{conversation_id}", body, format="json").status_code == 400

    conversation = APIClient().get(f"{API}/{conversation_id}").json()
    assert (conversation["agentId"], conversation["metadata"]) == ("agent-1", {"k": 1})


def test_patch_or_messages_of_an_unknown_conversation_is_404(redis_db):
    assert APIClient().patch(f"{API}/ghost", {"agentId": "a"}, format="json").status_code == 404
    assert APIClient().get(f"{API}/ghost/messages").status_code == 404
    assert redis_db.keys("*ghost*") == []


# --- Message pages ----------------------------------------------------------------------------

MANY = 10_000


@pytest.fixture
def long_conversation(redis_db, settings) -> str:
    """A conversation of MANY messages m0 ... m9999 (the caps raised for it)."""
    settings.CONVERSATION_MAX_MESSAGES = MANY
    settings.CONVERSATION_MAX_BYTES = 1000 * MANY
    conversation_id = create()
    for n in range(MANY):
        message: AgentMessage = {
            "messageId": f"m{n}", "role": "user", "content": f"message {n}",
            "timestamp": "2026-11-27T12:00:00.000Z", "source": "voice",
        }  # fmt: skip
        store.message_append(conversation_id=conversation_id, message=message)
    return conversation_id


def messages_page(conversation_id: str, **query: Any) -> dict[str, Any]:
    response = APIClient().get(f"{API}/{conversation_id}/messages", query)
    assert response.status_code == 200, response.json()
    return response.json()


def test_paging_forward_and_backward_visits_every_message_once_in_order(long_conversation):
    forward, page = [], messages_page(long_conversation, limit=500)
    while True:
        forward += [m["messageId"] for m in page["messages"]]
        assert page["firstId"] == page["messages"][0]["messageId"]
        assert page["lastId"] == page["messages"][-1]["messageId"]
        if not page["hasMore"]:
            break
        page = messages_page(long_conversation, limit=500, after=page["lastId"])

    backward, page = [], messages_page(long_conversation, limit=300, before="m9999")
    backward += [m["messageId"] for m in page["messages"]]
    while page["hasMore"]:
        page = messages_page(long_conversation, limit=300, before=page["firstId"])
        backward = [m["messageId"] for m in page["messages"]] + backward

    assert forward == [f"m{n}" for n in range(MANY)]
    assert backward == [f"m{n}" for n in range(MANY - 1)]  # everything before m9999


def test_a_page_without_cursor_starts_at_the_oldest_and_limit_is_clamped_to_500(long_conversation):
    page = messages_page(long_conversation, limit=5000)

    assert len(page["messages"]) == 500
    assert page["firstId"] == "m0"
    assert page["hasMore"] is True
    assert len(messages_page(long_conversation)["messages"]) == 50  # the default


def test_an_empty_page_omits_first_and_last_id(redis_db):
    conversation_id = create()
    append(conversation_id, "only")

    page = messages_page(conversation_id, after="only")

    assert page == {"messages": [], "hasMore": False}


def test_message_page_refusals(redis_db):
    conversation_id = create()
    append(conversation_id, "m0")
    url = f"{API}/{conversation_id}/messages"

    unknown = APIClient().get(url, {"after": "nope"})
    both = APIClient().get(url, {"after": "m0", "before": "m0"})
    zero = APIClient().get(url, {"limit": 0})

    assert unknown.status_code == 404
    assert both.status_code == 400
    assert both.json()["error"] == CURSORS_EXCLUSIVE
    assert zero.status_code == 400


# --- One agent's conversations ----------------------------------------------------------------


def listed(**query: Any) -> dict[str, Any]:
    return APIClient().get(f"{API}/list", query).json()


def test_list_by_agent_pages_and_counts_only_that_agent_s_conversations(redis_db):
    mine = [create(agentId="agent-1") for _ in range(5)]
    create(agentId="agent-2")
    create()

    first = listed(agentId="agent-1", limit=3, sortBy="createdAt", sortOrder="asc")
    second = listed(agentId="agent-1", limit=3, offset=3, sortBy="createdAt", sortOrder="asc")

    ids = [c["conversationId"] for c in first["conversations"] + second["conversations"]]
    assert ids == mine
    assert first["pagination"] == {"total": 5, "limit": 3, "offset": 0, "hasMore": True}
    assert listed(agentId="agent-3") == {
        "conversations": [],
        "pagination": {"total": 0, "limit": 20, "offset": 0, "hasMore": False},
    }


def test_an_agent_s_list_follows_appends_and_use(redis_db):
    quiet, busy = create(agentId="agent-1"), create(agentId="agent-1")
    append(busy, "m1")
    APIClient().get(f"{API}/{quiet}")

    by_count = listed(agentId="agent-1", sortBy="messageCount")["conversations"]
    by_use = listed(agentId="agent-1", sortBy="lastAccessedAt")["conversations"]

    assert [c["conversationId"] for c in by_count] == [busy, quiet]
    assert [c["conversationId"] for c in by_use] == [quiet, busy]


def test_an_expired_conversation_leaves_its_agent_s_list_and_total(redis_db, settings, monkeypatch):
    settings.CONVERSATION_TTL_SECONDS = 60
    real_now = store._now_ms()
    monkeypatch.setattr(store, "_now_ms", lambda: real_now - 3_600_000)  # an hour ago
    gone = create(agentId="agent-1")
    monkeypatch.setattr(store, "_now_ms", lambda: real_now)
    kept = create(agentId="agent-1")

    page = listed(agentId="agent-1")

    assert [c["conversationId"] for c in page["conversations"]] == [kept]
    assert page["pagination"]["total"] == 1
    assert mentions(redis_db, gone) == []  # swept from every index, the agent's included
