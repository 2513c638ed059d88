import json

import pytest

from agent_sessions.serializers import SESSION_URL_INVALID
from agent_sessions.store import session_key
from agent_sessions.views import SESSION_REGISTERED, SESSION_REMOVED
from elevenlabs_agent.errors import NO_ACTIVE_SESSION
from elevenlabs_agent.ids import CONVERSATION_ID

WS_URL = "wss://api.elevenlabs.io/v1/ws/conversation/abc?token=x"
URL = "/agent-conversations/api/conv-123/session"


def register(api, body: dict, url: str = URL):
    return api.post(url, body, format="json")


def test_register_answers_the_contract_body(api, redis_db):
    response = register(api, {"sessionUrl": WS_URL, "sessionId": "s-1"})

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "success": True,
        "message": SESSION_REGISTERED,
        "conversationId": "conv-123",
        "sessionId": "s-1",
        "ttl": 600,
        "createdAt": body["createdAt"],
        "conversationCreated": True,  # conv-123 did not exist: registering started it
    }
    assert json.loads(redis_db.get(session_key("conv-123")))["sessionUrl"] == WS_URL
    assert register(api, {"sessionUrl": WS_URL}).json()["conversationCreated"] is False


def test_register_without_session_id_omits_it(api, redis_db):
    body = register(api, {"sessionUrl": WS_URL}).json()

    assert "sessionId" not in body


def test_register_uses_agent_session_id_when_session_id_is_absent(api, redis_db):
    body = register(api, {"sessionUrl": WS_URL, "agentSessionId": "agent-1"}).json()

    assert body["sessionId"] == "agent-1"


def test_status_reports_the_session_without_credentials(api, redis_db):
    register(
        api,
        {
            "sessionUrl": WS_URL,
            "sessionId": "s-1",
            "transport": "webrtc",
            "metadata": {"secret": "m"},
            "sessionPayload": {"token": "p"},
        },
    )

    response = api.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "active": True,
        "conversationId": "conv-123",
        "sessionId": "s-1",
        "transport": "webrtc",
        "createdAt": body["createdAt"],
        "expiresInSeconds": body["expiresInSeconds"],
    }
    assert 590 < body["expiresInSeconds"] <= 600
    assert "token" not in response.content.decode()


def test_status_without_a_session_is_a_404_envelope(api, redis_db):
    response = api.get(URL)

    assert response.status_code == 404
    assert response.json() == {"success": False, "error": NO_ACTIVE_SESSION, "active": False}


def test_delete_removes_the_session_and_is_idempotent(api, redis_db):
    register(api, {"sessionUrl": WS_URL})

    first = api.delete(URL)
    second = api.delete(URL)

    assert first.status_code == 200
    assert first.json() == {"success": True, "message": SESSION_REMOVED, "removed": True}
    assert second.json() == {"success": True, "message": SESSION_REMOVED, "removed": False}
    assert api.get(URL).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "sessionUrl"),
        ({"sessionUrl": ""}, "sessionUrl"),
        ({"sessionUrl": 42}, "sessionUrl"),
        ({"sessionUrl": "https://api.elevenlabs.io/ws"}, "sessionUrl"),
        ({"sessionUrl": "wss://"}, "sessionUrl"),
        ({"sessionUrl": "/relative/ws"}, "sessionUrl"),
        ({"sessionUrl": "wss://h.example/" + "a" * 4096}, "sessionUrl"),
        ({"sessionUrl": WS_URL, "sessionId": 7}, "sessionId"),
        ({"sessionUrl": WS_URL, "agentSessionId": ["x"]}, "agentSessionId"),
        ({"sessionUrl": WS_URL, "expiresAt": "tomorrow"}, "expiresAt"),
        ({"sessionUrl": WS_URL, "expiresAt": 1700000000}, "expiresAt"),
        ({"sessionUrl": WS_URL, "transport": "carrier-pigeon"}, "transport"),
        ({"sessionUrl": WS_URL, "metadata": "not-an-object"}, "metadata"),
        ({"sessionUrl": WS_URL, "metadata": [1, 2]}, "metadata"),
        ({"sessionUrl": WS_URL, "sessionPayload": "wss://x"}, "sessionPayload"),
    ],
)
def test_register_rejects_invalid_bodies_and_writes_nothing(api, redis_db, body, field):
    response = register(api, body)

    assert response.status_code == 400
    envelope = response.json()
    assert envelope["success"] is False
    assert field in envelope["error"]
    assert list(envelope["details"]) == [field]
    assert redis_db.keys("*") == []


def test_register_rejects_a_non_websocket_url_with_a_clear_message(api, redis_db):
    response = register(api, {"sessionUrl": "http://x.example"})

    assert response.json()["details"] == {"sessionUrl": [SESSION_URL_INVALID]}


def test_register_normalises_expires_at_to_the_contract_format(api, redis_db):
    register(api, {"sessionUrl": WS_URL, "expiresAt": "2026-11-23T14:00:00+01:00"})

    stored = json.loads(redis_db.get(session_key("conv-123")))
    assert stored["expiresAt"] == "2026-11-23T13:00:00.000Z"


@pytest.mark.parametrize("body", [[1, 2], "text", 3, None])
def test_register_rejects_json_that_is_not_an_object(api, redis_db, body):
    response = api.post(URL, json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert redis_db.keys("*") == []


@pytest.mark.parametrize(
    "conversation_id",
    ["-leading-dash", ".dot", "a" * 129, "has space", "semi;colon", "ünïcode", "list", "new"],
)
@pytest.mark.parametrize("method", ["post", "get", "delete"])
def test_invalid_conversation_ids_are_rejected_before_redis(
    api, redis_down, method, conversation_id
):
    # Redis is down: a 400 (not a 503) proves the id was rejected before Redis was touched.
    url = f"/agent-conversations/api/{conversation_id}/session"
    response = getattr(api, method)(url, {"sessionUrl": WS_URL}, format="json")

    assert response.status_code == 400
    assert response.json()["details"] == {"conversationId": [CONVERSATION_ID.invalid]}


def test_longest_valid_conversation_id_is_accepted(api, redis_db):
    conversation_id = "A" + "b.-_9" * 25 + "zz"
    assert len(conversation_id) == 128

    response = register(
        api, {"sessionUrl": WS_URL}, f"/agent-conversations/api/{conversation_id}/session"
    )

    assert response.status_code == 200
    assert redis_db.exists(session_key(conversation_id)) == 1
