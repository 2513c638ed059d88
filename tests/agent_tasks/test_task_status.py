"""The `task_status` tool: the agent asks how its tasks went (the pull beside the push), on
both backends. Its answers are for a voice: short, no JSON, no ids."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from agent_tasks.speech import FULL_RESULT, NO_TASKS, spoken_output
from tests.agent_tasks.test_callbacks import CALL, callback, conversation_with_session, webhook
from tests.conftest import WEBHOOK_SECRET as SECRET
from tests.live import frame, run, subscribed
from tests.support import API


def task_status(secret: str | None = SECRET, **body: Any) -> Any:
    return webhook("/agent-tools", {"tool_name": "task_status", **body}, secret=secret)


def started(conversation_id: str, tool: str = "search_code") -> str:
    answer = webhook("/agent-tools", {"tool_name": tool, "conversation_id": conversation_id})
    return answer.json()["result"]["requestId"]


def test_a_pending_task_is_still_running(runner):
    conversation_id = conversation_with_session()
    request_id = started(conversation_id)

    answer = task_status(session_id=CALL)

    assert answer.status_code == 200
    assert answer.json() == {
        "ok": True,
        "say": "search code is still running.",
        "result": {"tasks": [
            {"requestId": request_id, "status": "processing", "toolName": "search_code"}
        ]},
    }  # fmt: skip
    assert len(runner.requests) == 1  # the tool itself dispatched nothing


def test_a_completed_task_is_told_with_its_output(runner):
    conversation_id = conversation_with_session()
    request_id = started(conversation_id)
    callback(request_id, output="All 42 tests passed.")

    answer = task_status(conversation_id=conversation_id, tool_args={"requestId": request_id})

    assert answer.json()["say"] == "search code is done. All 42 tests passed."
    (state,) = answer.json()["result"]["tasks"]
    assert (state["status"], state["output"]) == ("completed", "All 42 tests passed.")


def test_a_failed_task_is_told_with_its_reason(runner):
    conversation_id = conversation_with_session()
    request_id = started(conversation_id, tool="deploy-app")
    callback(request_id, success=False, error="The repository was not found.")

    answer = task_status(conversation_id=conversation_id)

    assert answer.json()["say"] == "deploy app failed. The repository was not found."
    assert answer.json()["result"]["tasks"][0]["error"] == "The repository was not found."


def test_several_tasks_are_told_newest_first_five_at_most(runner):
    conversation_id = conversation_with_session()
    request_ids = [started(conversation_id, tool=f"tool_{n}") for n in range(6)]
    callback(request_ids[4], output="Done.")

    answer = task_status(conversation_id=conversation_id).json()

    assert [t["requestId"] for t in answer["result"]["tasks"]] == request_ids[:0:-1]
    assert answer["say"] == (
        "tool 5 is still running. tool 4 is done. Done. tool 3 is still running. "
        "tool 2 is still running. tool 1 is still running."
    )


def test_no_task_yet(runner):
    conversation_id = conversation_with_session()

    answer = task_status(conversation_id=conversation_id).json()

    assert answer == {"ok": True, "say": NO_TASKS, "result": {"tasks": []}}


def test_an_unknown_task_or_another_conversation_s_is_404(runner):
    conversation_id = conversation_with_session()
    other = APIClient().post(f"{API}/new").json()["conversationId"]
    theirs = started(other)

    unknown = task_status(conversation_id=conversation_id, tool_args={"requestId": "nope"})
    foreign = task_status(conversation_id=conversation_id, tool_args={"requestId": theirs})

    assert (unknown.status_code, foreign.status_code) == (404, 404)
    assert unknown.json() == {"success": False, "error": "Task not found"}


def test_bad_arguments_are_400(runner):
    conversation_id = conversation_with_session()

    answer = task_status(conversation_id=conversation_id, tool_args={"requestId": 7})

    assert answer.status_code == 400


def test_the_secret_and_the_feature_flag_apply(runner, settings):
    conversation_id = conversation_with_session()

    assert task_status(secret=None, conversation_id=conversation_id).status_code == 401
    assert task_status(secret="wrong", conversation_id=conversation_id).status_code == 401
    settings.ELEVENLABS_AGENT_ENABLED = False
    assert task_status(conversation_id=conversation_id).status_code == 503


def test_a_task_told_by_pull_is_not_pushed_after(runner):
    conversation_id = conversation_with_session()
    request_id = started(conversation_id)
    callback(request_id, output="ok")  # a push waits for the agent's socket

    assert task_status(conversation_id=conversation_id).json()["say"] == "search code is done. ok"

    async def scenario() -> None:
        socket, _ = await subscribed(f"conversationId={conversation_id}")
        await socket.send_json_to({"type": "ping"})
        assert await frame(socket) == {"type": "pong"}  # no push came before it
        await socket.disconnect()

    run(scenario)


def test_a_pending_task_s_push_still_comes_when_it_finishes(runner):
    conversation_id = conversation_with_session()
    request_id = started(conversation_id)
    task_status(conversation_id=conversation_id)  # still running: nothing settled
    callback(request_id, output="ok")

    async def scenario() -> None:
        socket, _ = await subscribed(f"conversationId={conversation_id}")
        push = await frame(socket)
        assert push["type"] == "agent_session.push"
        assert push["event"]["text"] == "search code is done. ok"
        await socket.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    ("output", "spoken"),
    [
        ("Short and sweet.", "Short and sweet."),
        ('{"passed": 42, "failed": 0}', FULL_RESULT),
        ("Deployed build 3f2a9c1d8e7b6a5f4e3d2c1b to staging.", "Deployed build to staging."),
        ("Task 0b7c3f0e-9a4d-4c1e-8f2b-5d6e7f8a9b0c is done.", "Task is done."),
    ],
)
def test_outputs_are_spoken_without_data_or_ids(output, spoken):
    assert spoken_output(output) == spoken


def test_a_long_output_is_cut_after_a_whole_sentence():
    sentence = "The tests ran on every package of the monorepo without a single failure. "
    spoken = spoken_output(sentence * 10)

    assert spoken.endswith(f"failure. {FULL_RESULT}")
    assert len(spoken) <= 240 + len(FULL_RESULT) + 1
    assert spoken.count("The tests ran") == 3
