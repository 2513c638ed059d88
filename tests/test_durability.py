"""Replica confirmation (REDIS_WRITE_REPLICAS) on the real Redis, which has no replica: every
write route is refused with the "not confirmed" 503 within its timeout, reads go on, and a
retry once replicas confirm again stores the write once. (tests/test_failover.py kills a
primary under replicated writes.)"""

import time
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from elevenlabs_agent.errors import WRITE_NOT_CONFIRMED
from tests.agent_conversations.test_post_call import SECRET as ELEVENLABS_SECRET
from tests.agent_conversations.test_post_call import deliver, transcription
from tests.conftest import FAKE_REDIS_URL, use_redis
from tests.support import API

SECRET = "durability-secret"
WS_URL = "wss://api.elevenlabs.io/v1/convai/conversation?token=x"


def webhook(path: str, body: dict[str, Any]) -> Any:
    return APIClient().post(path, body, format="json", HTTP_X_WEBHOOK_SECRET=SECRET)


@pytest.fixture
def unconfirmed(settings, real_redis_db, fake_http) -> dict[str, str]:
    """A conversation with a session and a pending task, written while no replica was required;
    then one replica required, which this Redis does not have."""
    settings.WEBHOOK_SECRET, settings.ELEVENLABS_WEBHOOK_SECRET = SECRET, ELEVENLABS_SECRET
    settings.CURSOR_RUNNER_URL = fake_http.url
    fake_http.answer(200, '{"success": true, "queued": true}')
    api = APIClient()
    cid = api.post(f"{API}/new").json()["conversationId"]
    assert (
        api.post(f"{API}/{cid}/session", {"sessionUrl": WS_URL}, format="json").status_code == 200
    )
    task = webhook("/agent-tools", {"tool_name": "search", "conversation_id": cid}).json()
    settings.REDIS_WRITE_REPLICAS = 1
    settings.REDIS_WRITE_TIMEOUT_SECONDS = 0.02
    return {"conversation": cid, "task": task["result"]["requestId"]}


def post_call_into(conversation_id: str) -> Any:
    """A post-call transcript naming the conversation (the browser's dynamic variable)."""
    variables = {"dynamic_variables": {"conversation_id": conversation_id}}
    return deliver(transcription(conversation_initiation_client_data=variables))


WRITES: dict[str, Callable[[APIClient, dict[str, str]], Any]] = {
    "register": lambda api, ids: api.post(
        f"{API}/{ids['conversation']}/session", {"sessionUrl": WS_URL}, format="json"
    ),
    "new": lambda api, ids: api.post(f"{API}/new"),
    "append": lambda api, ids: api.post(
        f"{API}/{ids['conversation']}/message", {"role": "user", "content": "hi"}, format="json"
    ),
    "patch": lambda api, ids: api.patch(
        f"{API}/{ids['conversation']}", {"metadata": {"a": 1}}, format="json"
    ),
    "delete": lambda api, ids: api.delete(f"{API}/{ids['conversation']}"),
    "drop session": lambda api, ids: api.delete(f"{API}/{ids['conversation']}/session"),
    "tool call": lambda api, ids: webhook(
        "/agent-tools", {"tool_name": "search", "conversation_id": ids["conversation"]}
    ),
    "callback": lambda api, ids: webhook(
        "/callback", {"success": True, "requestId": ids["task"], "result": "done"}
    ),
    "post-call": lambda api, ids: post_call_into(ids["conversation"]),
}


@pytest.mark.parametrize("route", WRITES)
def test_a_write_no_replica_confirms_is_a_503_that_says_it_may_have_been_applied(
    unconfirmed, route
):
    started = time.monotonic()
    response = WRITES[route](APIClient(), unconfirmed)

    assert time.monotonic() - started < 1
    assert response.status_code == 503
    assert response.json() == {"success": False, "error": WRITE_NOT_CONFIRMED}
    assert int(response["Retry-After"]) > 0


def test_reads_go_on_while_writes_are_not_confirmed(unconfirmed):
    api, cid = APIClient(), unconfirmed["conversation"]

    for path in (f"{API}/{cid}", f"{API}/{cid}/session", f"{API}/list", f"{API}/{cid}/messages"):
        assert api.get(path).status_code == 200, path
    assert api.get("/health/ready").status_code == 200


def test_a_write_retried_once_replicas_confirm_is_stored_once(unconfirmed, settings):
    api, cid = APIClient(), unconfirmed["conversation"]
    body = {"role": "user", "content": "keep me", "messageId": "m-1"}

    refused = api.post(f"{API}/{cid}/message", body, format="json")
    settings.REDIS_WRITE_REPLICAS = 0  # as when a replica confirms again
    retried = api.post(f"{API}/{cid}/message", body, format="json")

    assert refused.status_code == 503
    assert retried.status_code == 200
    stored = [m["messageId"] for m in api.get(f"{API}/{cid}").json()["messages"]]
    assert stored.count("m-1") == 1


def test_config_reports_the_durability_the_deployment_has(settings, real_redis_db):
    settings.REDIS_WRITE_REPLICAS = 0

    durability = APIClient().get("/config").json()["config"]["durability"]

    info = real_redis_db.info("replication") | real_redis_db.info("persistence")
    assert durability["writeReplicas"] == 0
    assert durability["replicasConnected"] == info["connected_slaves"]
    assert durability["appendOnly"] is bool(info["aof_enabled"])
    assert durability["snapshots"] is bool(real_redis_db.config_get("save")["save"])


def test_the_embedded_store_reports_that_it_keeps_nothing(settings):
    use_redis(settings, FAKE_REDIS_URL, embedded=True)

    durability = APIClient().get("/config").json()["config"]["durability"]

    assert durability == {
        "writeReplicas": 0, "replicasConnected": 0, "appendOnly": False, "snapshots": False,
    }  # fmt: skip
