"""The tool-call path: /agent-tools -> cursor-runner (a local fake) -> /callback -> the
conversation and the live agent's push, on both backends."""

import json
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from agent_conversations import store as conversations
from agent_tasks.store import task_key
from elevenlabs_agent.errors import WEBHOOK_SECRET_MISSING
from tests.conftest import RUNNER_SECRET
from tests.conftest import WEBHOOK_SECRET as SECRET
from tests.fake_http import Recorded
from tests.live import frame, run, subscribed
from tests.support import API, spare_port

CALL = "conv_el_123"  # ElevenLabs' id for the call: the sessionId the browser registers
SESSION = {"sessionUrl": "wss://api.elevenlabs.io/v1/convai/conversation?x=1", "sessionId": CALL}


def webhook(path: str, body: dict[str, Any], secret: str | None = SECRET, **headers: str) -> Any:
    if secret is not None:
        headers.setdefault("HTTP_X_WEBHOOK_SECRET", secret)
    return APIClient().post(path, body, format="json", **headers)


def conversation_with_session() -> str:
    conversation_id = APIClient().post(f"{API}/new", {}, format="json").json()["conversationId"]
    registered = APIClient().post(f"{API}/{conversation_id}/session", SESSION, format="json")
    assert registered.status_code == 200
    return conversation_id


def tool_call(**body: Any) -> Any:
    return webhook("/agent-tools", {"tool_name": "search_code", **body})


def callback(request_id: str, success: bool = True, **body: Any) -> Any:
    return webhook("/callback", {"success": success, "requestId": request_id, **body})


def messages(conversation_id: str) -> list[dict[str, Any]]:
    return APIClient().get(f"{API}/{conversation_id}").json()["messages"]


def task(request_id: str) -> dict[str, Any]:
    response = APIClient().get(f"/tasks/{request_id}")
    assert response.status_code == 200
    return response.json()


def test_a_tool_call_by_session_id_starts_a_task_in_cursor_runner(runner):
    conversation_id = conversation_with_session()

    response = tool_call(session_id=CALL, tool_args={"prompt": "Find the bug", "repo": "ui"})

    assert response.status_code == 200
    answer = response.json()
    assert answer["ok"] is True
    assert answer["result"]["status"] == "processing"
    assert answer["say"]
    request_id = answer["result"]["requestId"]
    (dispatched,) = runner.requests
    assert (dispatched.method, dispatched.path) == ("POST", "/cursor/execute/async")
    assert dispatched.headers["X-Webhook-Secret"] == RUNNER_SECRET
    assert json.loads(dispatched.body) == {
        "id": request_id,
        "prompt": "Find the bug",
        "conversationId": conversation_id,
        "queueType": "api",
        "callbackUrl": "http://testserver/callback",
    }
    stored = task(request_id)
    assert stored["status"] == "pending"
    assert (stored["conversationId"], stored["toolName"]) == (conversation_id, "search_code")
    assert stored["toolArgs"] == {"prompt": "Find the bug", "repo": "ui"}
    (started,) = messages(conversation_id)
    assert started["messageId"] == f"task:{request_id}:started"
    assert (started["role"], started["source"], started["status"]) == (
        "tool",
        "tool_output",
        "pending",
    )
    assert started["toolArgs"] == {"prompt": "Find the bug", "repo": "ui"}


def test_without_a_prompt_argument_the_prompt_names_the_tool_and_its_arguments(runner):
    conversation_id = conversation_with_session()

    assert tool_call(conversation_id=conversation_id, tool_args={"q": "x"}).status_code == 200

    prompt = json.loads(runner.requests[0].body)["prompt"]
    assert "search_code" in prompt
    assert '{"q":"x"}' in prompt


def test_callback_completes_the_task_and_appends_the_result(runner):
    conversation_id = conversation_with_session()
    request_id = tool_call(session_id=CALL).json()["result"]["requestId"]

    response = callback(request_id, output="Found it in src/app.ts\nmore detail")

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "requestId": request_id,
        "conversationId": conversation_id,
        "status": "completed",
    }
    assert task(request_id)["status"] == "completed"
    assert task(request_id)["output"] == "Found it in src/app.ts\nmore detail"
    started, done = messages(conversation_id)
    assert started["status"] == "pending"
    assert done["messageId"] == f"task:{request_id}:done"
    assert (done["role"], done["source"], done["status"]) == ("tool", "tool_output", "completed")
    assert done["toolOutput"] == "Found it in src/app.ts\nmore detail"
    assert done["content"] == "search_code completed: Found it in src/app.ts"


def test_a_failed_task_is_recorded_as_failed_with_its_error(runner):
    conversation_id = conversation_with_session()
    request_id = tool_call(session_id=CALL).json()["result"]["requestId"]

    response = callback(request_id, success=False, error="Repository not found")

    assert response.json()["status"] == "failed"
    assert task(request_id)["error"] == "Repository not found"
    done = messages(conversation_id)[-1]
    assert (done["status"], done["toolOutput"]) == ("failed", "Repository not found")


def test_a_repeated_callback_stores_nothing_more(runner):
    conversation_id = conversation_with_session()
    request_id = tool_call(session_id=CALL).json()["result"]["requestId"]
    callback(request_id, output="first")

    repeated = callback(request_id, success=False, error="second")

    assert repeated.status_code == 200
    assert repeated.json()["duplicate"] is True
    assert repeated.json()["status"] == "completed"
    assert [m["messageId"].rsplit(":", 1)[1] for m in messages(conversation_id)] == [
        "started",
        "done",
    ]
    assert task(request_id)["output"] == "first"


def test_a_callback_before_the_dispatch_is_answered_completes_the_task(runner):
    conversation_id = conversation_with_session()

    def call_back_first(dispatched: Recorded) -> None:
        body = json.loads(dispatched.body)
        assert callback(body["id"], output="done early").status_code == 200

    runner.before_answer = call_back_first

    answer = tool_call(session_id=CALL).json()

    assert answer["result"]["status"] == "processing"
    assert task(answer["result"]["requestId"])["status"] == "completed"
    assert [m["status"] for m in messages(conversation_id)] == ["pending", "completed"]


@pytest.mark.parametrize("runner_state", ["down", "refusing"])
def test_cursor_runner_down_or_refusing_is_502_and_the_task_fails(runner, settings, runner_state):
    conversation_id = conversation_with_session()
    if runner_state == "down":
        settings.CURSOR_RUNNER_URL = f"http://127.0.0.1:{spare_port()}"
    else:
        runner.answer(500, '{"error": "queue full"}')

    response = tool_call(session_id=CALL)

    assert response.status_code == 502
    answer = response.json()
    assert answer["ok"] is False
    assert answer["say"]
    assert answer["result"]["status"] == "failed"
    assert task(answer["result"]["requestId"])["status"] == "failed"
    (started,) = messages(conversation_id)
    assert started["status"] == "failed"


def test_cursor_runner_not_answering_in_time_leaves_the_task_pending(runner):
    conversation_id = conversation_with_session()
    runner.answer(200, "{}", delay=1.5)

    began = time.monotonic()
    response = tool_call(session_id=CALL)

    assert time.monotonic() - began < 1.2  # CURSOR_RUNNER_TIMEOUT_SECONDS is 0.5 here
    assert response.status_code == 200
    assert response.json()["result"]["status"] == "processing"
    assert task(response.json()["result"]["requestId"])["status"] == "pending"
    assert messages(conversation_id)[0]["status"] == "pending"


def test_unknown_conversation_session_or_task_is_404_and_stores_nothing(runner, redis_db):
    assert tool_call(conversation_id="no-such-conversation").status_code == 404
    assert tool_call(session_id="conv_unknown").status_code == 404
    assert callback("no-such-request").status_code == 404
    assert APIClient().get("/tasks/no-such-request").status_code == 404
    assert runner.requests == []
    assert redis_db.keys("elevenlabs:task:*") == []


def test_a_tool_call_naming_no_conversation_is_400(runner):
    response = tool_call(tool_args={"q": "x"})

    assert response.status_code == 400
    assert "conversation_id or session_id" in response.json()["error"]


def test_a_callback_for_a_deleted_conversation_is_404_and_stores_nothing(runner, redis_db):
    conversation_id = conversation_with_session()
    request_id = tool_call(session_id=CALL).json()["result"]["requestId"]
    redis_db.delete(*redis_db.keys(conversations.conversation_key(conversation_id) + "*"))

    assert callback(request_id).status_code == 404

    assert task(request_id)["status"] == "pending"
    assert redis_db.keys(conversations.conversation_key(conversation_id) + "*") == []


@pytest.mark.parametrize("route", ["/agent-tools", "/callback"])
def test_without_webhook_secret_configured_the_routes_are_closed(runner, settings, route):
    settings.WEBHOOK_SECRET = ""

    response = webhook(route, {"tool_name": "x", "session_id": CALL}, secret="anything")

    assert response.status_code == 503
    assert response.json() == {"success": False, "error": WEBHOOK_SECRET_MISSING}


@pytest.mark.parametrize("route", ["/agent-tools", "/callback"])
@pytest.mark.parametrize("secret", [None, "", "webhook-secret-2", "webhook-secret-1 "])
def test_a_missing_or_wrong_secret_is_401_before_anything_is_looked_up(runner, route, secret):
    conversation_id = conversation_with_session()
    body = {"tool_name": "x", "conversation_id": conversation_id, "success": True, "requestId": "r"}

    response = webhook(route, body, secret=secret)

    assert response.status_code == 401
    assert response.json()["success"] is False
    assert runner.requests == []
    assert len(messages(conversation_id)) == 0


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/agent-tools", {"HTTP_X_WEBHOOK_SECRET": SECRET}),
        ("/agent-tools", {"HTTP_X_CURSOR_RUNNER_SECRET": SECRET}),
        (f"/agent-tools?secret={SECRET}", {}),
    ],
)
def test_the_secret_is_accepted_in_each_of_its_three_places(runner, path, headers):
    conversation_id = conversation_with_session()

    response = APIClient().post(
        path, {"tool_name": "x", "conversation_id": conversation_id}, format="json", **headers
    )

    assert response.status_code == 200


def test_api_keys_do_not_apply_to_the_webhooks_but_do_to_tasks(runner, settings):
    conversation_id = conversation_with_session()
    settings.AGENT_API_KEYS = ["key-1"]

    answer = tool_call(conversation_id=conversation_id)
    request_id = answer.json()["result"]["requestId"]

    assert answer.status_code == 200
    assert callback(request_id).status_code == 200
    assert APIClient().get(f"/tasks/{request_id}").status_code == 401
    keyed = APIClient().get(f"/tasks/{request_id}", HTTP_X_API_KEY="key-1")
    assert keyed.json()["status"] == "completed"


@pytest.mark.parametrize("route", ["/agent-tools", "/callback"])
def test_feature_off_closes_the_webhooks(runner, settings, route):
    settings.ELEVENLABS_AGENT_ENABLED = False

    assert webhook(route, {}).status_code == 503


# --- The push to the live agent --------------------------------------------------------------


def _push_of(request_id: str, conversation_id: str, text: str) -> dict[str, Any]:
    return {
        "type": "agent_session.push",
        "conversationId": conversation_id,
        "deliveryId": f"task:{request_id}",
        "event": {"type": "contextual_update", "text": text},
    }


def test_the_result_reaches_the_live_socket_as_a_push(runner):
    conversation_id = conversation_with_session()
    request_id = tool_call(session_id=CALL).json()["result"]["requestId"]

    async def scenario() -> None:
        communicator, _ = await subscribed(f"conversationId={conversation_id}")
        await sync_to_async(callback)(request_id, output="All tests pass")
        updated = await frame(communicator)
        assert updated["type"] == "agent_conversation.updated"
        assert updated["message"]["messageId"] == f"task:{request_id}:done"
        push = await frame(communicator)
        assert push == _push_of(request_id, conversation_id, "search code is done. All tests pass")
        await communicator.disconnect()

    run(scenario)


def test_a_reconnecting_socket_gets_the_unacknowledged_push_once_and_never_after_its_ack(runner):
    conversation_id = conversation_with_session()
    request_id = tool_call(session_id=CALL).json()["result"]["requestId"]
    callback(request_id, output="ok")
    expected = _push_of(request_id, conversation_id, "search code is done. ok")

    async def scenario() -> None:
        first, _ = await subscribed(f"conversationId={conversation_id}")
        assert await frame(first) == expected
        await first.send_json_to({"type": "ping"})
        assert await frame(first) == {"type": "pong"}  # the push came once
        await first.disconnect()

        second, _ = await subscribed(f"conversationId={conversation_id}")
        assert await frame(second) == expected  # not acknowledged: offered again
        await second.send_json_to(
            {"type": "agent_session.ack", "deliveryId": expected["deliveryId"]}
        )
        await second.send_json_to({"type": "ping"})
        assert await frame(second) == {"type": "pong"}
        await second.disconnect()

        third, _ = await subscribed(f"conversationId={conversation_id}")
        await third.send_json_to({"type": "ping"})
        assert await frame(third) == {"type": "pong"}  # acknowledged: never again
        await third.disconnect()

    run(scenario)


def pending_pushes(conversation_id: str) -> list[dict[str, Any]]:
    snapshot = conversations.conversation_snapshot(conversation_id=conversation_id)
    assert snapshot is not None
    return snapshot.pushes


def test_without_a_live_session_there_is_no_push(runner, redis_db):
    conversation_id = APIClient().post(f"{API}/new", {}, format="json").json()["conversationId"]
    request_id = tool_call(conversation_id=conversation_id).json()["result"]["requestId"]

    callback(request_id, output="ok")

    assert pending_pushes(conversation_id) == []
    assert messages(conversation_id)[-1]["status"] == "completed"


def test_a_push_expires_with_its_task(runner, redis_db):
    conversation_id = conversation_with_session()
    request_id = tool_call(session_id=CALL).json()["result"]["requestId"]
    callback(request_id, output="ok")
    assert len(pending_pushes(conversation_id)) == 1

    redis_db.delete(task_key(request_id))  # as its TTL would

    assert pending_pushes(conversation_id) == []
    assert redis_db.hlen(conversations.pushes_key(conversation_id)) == 0
