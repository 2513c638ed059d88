"""A session lives as long as its call: every sign of life gives it SESSION_TTL_SECONDS more
from then, and the call's end removes it. On both backends."""

import time

import pytest
from rest_framework.test import APIClient

from agent_conversations import consumers
from agent_conversations.store import pushes_key
from agent_sessions.store import session_key
from tests.agent_conversations.test_post_call import SECRET as ELEVENLABS_SECRET
from tests.agent_conversations.test_post_call import deliver, transcription
from tests.conftest import WEBHOOK_SECRET as SECRET
from tests.live import frame, run, subscribed
from tests.support import API

CALL = "el-call-life"
WS_URL = "wss://api.elevenlabs.io/v1/convai/conversation?token=x"


@pytest.fixture
def call(api, redis_db, runner, settings) -> str:
    """A conversation with the call CALL's session registered, whose TTL the test then cuts to
    one second (as if it had been registered 599 s ago)."""
    settings.ELEVENLABS_WEBHOOK_SECRET = ELEVENLABS_SECRET
    cid = api.post(f"{API}/new").json()["conversationId"]
    session = {"sessionUrl": WS_URL, "sessionId": CALL}
    assert api.post(f"{API}/{cid}/session", session, format="json").status_code == 200
    redis_db.pexpire(session_key(cid), 1000)
    return cid


def remaining_ms(redis_db, cid: str) -> int:
    return redis_db.pttl(session_key(cid))


def voice(api, cid: str, text: str, source: str = "voice") -> None:
    body = {"role": "user", "content": text, "source": source}
    assert api.post(f"{API}/{cid}/message", body, format="json").status_code == 200


def tool(name: str, **body: str) -> int:
    return (
        APIClient()
        .post(
            "/agent-tools", {"tool_name": name, **body}, format="json", HTTP_X_WEBHOOK_SECRET=SECRET
        )
        .status_code
    )


def test_a_voice_message_gives_the_session_its_full_ttl_again(api, redis_db, call):
    voice(api, call, "still talking")

    assert remaining_ms(redis_db, call) > 599_000


def test_a_typed_message_is_no_sign_of_the_call(api, redis_db, call):
    voice(api, call, "typed on the page", source="text")

    assert remaining_ms(redis_db, call) <= 1000


@pytest.mark.parametrize("named_by", ["session_id", "conversation_id"])
def test_a_tool_call_gives_the_session_its_full_ttl_again(api, redis_db, call, named_by):
    assert tool("search_code", **{named_by: CALL if named_by == "session_id" else call}) == 200

    assert remaining_ms(redis_db, call) > 599_000


def test_the_agent_asking_about_its_tasks_gives_the_session_its_full_ttl_again(redis_db, call):
    assert tool("task_status", session_id=CALL) == 200

    assert remaining_ms(redis_db, call) > 599_000


def test_an_open_page_s_keepalive_gives_the_session_its_full_ttl_again(redis_db, call, monkeypatch):
    monkeypatch.setattr(consumers, "KEEPALIVE_SECONDS", 0.2)

    async def scenario() -> None:
        socket, _ = await subscribed(f"conversationId={call}")
        assert await frame(socket) == {"type": "keepalive"}
        assert await frame(socket) == {"type": "keepalive"}  # the first one's refresh is done
        await socket.disconnect()

    run(scenario)
    assert remaining_ms(redis_db, call) > 599_000


def test_the_call_s_post_call_transcript_ends_its_session(api, redis_db, call):
    assert deliver(transcription(call=CALL)).status_code == 200

    assert redis_db.exists(session_key(call)) == 0
    assert api.get(f"{API}/{call}/session").status_code == 404


def test_another_call_s_transcript_leaves_the_session(api, redis_db, call):
    variables = {"dynamic_variables": {"conversation_id": call}}
    earlier = transcription(
        call="el-an-earlier-call", conversation_initiation_client_data=variables
    )

    assert deliver(earlier).status_code == 200

    assert api.get(f"{API}/{call}/session").status_code == 200


def test_a_call_longer_than_the_ttl_keeps_its_session_and_gets_its_push(
    api, redis_db, call, settings
):
    """SESSION_TTL_SECONDS of 1 s stands for 10 minutes: the call goes on for 2.5 times that,
    talking every 0.4 s; then a task finishes and its push is kept for the agent."""
    settings.SESSION_TTL_SECONDS = 1
    for n in range(6):
        voice(api, call, f"turn {n}")
        time.sleep(0.4)  # the call's own pace: talking every 0.4 s
    assert api.get(f"{API}/{call}/session").status_code == 200

    request_id = APIClient().post(
        "/agent-tools", {"tool_name": "search_code", "session_id": CALL}, format="json",
        HTTP_X_WEBHOOK_SECRET=SECRET,
    ).json()["result"]["requestId"]  # fmt: skip
    done = {"success": True, "requestId": request_id, "output": "ok"}
    APIClient().post("/callback", done, format="json", HTTP_X_WEBHOOK_SECRET=SECRET)

    assert redis_db.hexists(pushes_key(call), f"task:{request_id}")


def test_without_a_sign_of_life_the_session_expires(api, call):
    time.sleep(1.1)  # PX counts on Redis's own clock: only waiting shows it expire

    assert api.get(f"{API}/{call}/session").status_code == 404
