"""ElevenLabs' post-call webhook: signatures computed here, transcripts imported once (§10)."""

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from rest_framework.test import APIClient

from elevenlabs_agent.errors import ELEVENLABS_WEBHOOK_SECRET_MISSING
from tests.support import API, run_concurrently

SECRET = "wsec_test_123"
PATH = "/webhooks/elevenlabs/post-call"
CALL = "conv_el_777"


def signed(body: bytes, *, secret: str = SECRET, at: float | None = None) -> str:
    timestamp = str(int(time.time() if at is None else at))
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v0={digest.hexdigest()}"


def transcription(call: str = CALL, **data: Any) -> dict[str, Any]:
    return {
        "type": "post_call_transcription",
        "event_timestamp": 1764244800,
        "data": {
            "agent_id": "agent_abc",
            "conversation_id": call,
            "status": "done",
            "transcript": [
                {"role": "agent", "message": "Hello, how can I help?", "time_in_call_secs": 0},
                {"role": "user", "message": "Run the tests please.", "time_in_call_secs": 3},
                {"role": "agent", "message": None, "time_in_call_secs": 5, "tool_calls": []},
                {"role": "agent", "message": "Started them.", "time_in_call_secs": 6},
            ],
            "metadata": {"start_time_unix_secs": 1764244800, "call_duration_secs": 9},
            "analysis": {"call_successful": "success", "transcript_summary": "User ran tests."},
            **data,
        },
    }


def deliver(event: dict[str, Any], signature: str | None = None, body: bytes | None = None) -> Any:
    raw = body if body is not None else json.dumps(event).encode()
    headers = {"HTTP_ELEVENLABS_SIGNATURE": signature if signature is not None else signed(raw)}
    return APIClient().generic("POST", PATH, raw, content_type="application/json", **headers)


def conversation(conversation_id: str) -> dict[str, Any]:
    return APIClient().get(f"{API}/{conversation_id}").json()


def test_a_transcript_of_a_registered_call_is_imported_into_its_conversation(webhook):
    mine = APIClient().post(f"{API}/new", {"metadata": {"page": "help"}}, format="json").json()
    conversation_id = mine["conversationId"]
    session = {"sessionUrl": "wss://api.elevenlabs.io/v1/convai/conversation", "sessionId": CALL}
    APIClient().post(f"{API}/{conversation_id}/session", session, format="json")

    response = deliver(transcription())

    assert response.status_code == 200
    assert response.json() == {
        "conversationId": conversation_id,
        "imported": 3,
        "duplicates": 0,
        "conversationCreated": False,
    }
    stored = conversation(conversation_id)
    assert [(m["messageId"], m["role"], m["content"]) for m in stored["messages"]] == [
        (f"el:{CALL}:0", "assistant", "Hello, how can I help?"),
        (f"el:{CALL}:1", "user", "Run the tests please."),
        (f"el:{CALL}:3", "assistant", "Started them."),
    ]
    assert {m["source"] for m in stored["messages"]} == {"voice"}
    assert stored["messages"][1]["timestamp"] == "2025-11-27T12:00:03.000Z"
    assert stored["metadata"] == {
        "page": "help",
        "elevenlabs": {
            "conversationId": CALL,
            "callSuccessful": "success",
            "summary": "User ran tests.",
        },
    }


def test_a_repeated_delivery_adds_nothing(webhook):
    first = deliver(transcription()).json()

    again = deliver(transcription())

    assert again.json() == {**first, "imported": 0, "duplicates": 3, "conversationCreated": False}
    assert conversation(first["conversationId"])["messageCount"] == 3


def test_the_conversation_named_by_the_browser_s_dynamic_variable_is_used(webhook):
    conversation_id = APIClient().post(f"{API}/new", {}, format="json").json()["conversationId"]
    client_data = {"dynamic_variables": {"conversation_id": conversation_id}}

    answer = deliver(transcription(conversation_initiation_client_data=client_data)).json()

    assert answer["conversationId"] == conversation_id
    assert answer["conversationCreated"] is False
    assert conversation(conversation_id)["messageCount"] == 3


def test_an_unknown_call_gets_a_new_conversation_that_later_deliveries_find(webhook):
    answer = deliver(transcription()).json()

    assert answer["conversationCreated"] is True
    created = conversation(answer["conversationId"])
    assert created["agentId"] == "agent_abc"
    again = deliver(transcription()).json()
    assert again["conversationId"] == answer["conversationId"]
    assert again["duplicates"] == 3


def test_deliveries_racing_for_a_new_call_land_in_one_conversation(webhook):
    answers = run_concurrently(lambda _: deliver(transcription()).json(), workers=4)

    assert len({answer["conversationId"] for answer in answers}) == 1
    assert sum(answer["imported"] for answer in answers) == 3
    assert sum(answer["conversationCreated"] for answer in answers) == 1


def test_other_event_types_are_acknowledged_and_ignored(webhook):
    event = {"type": "post_call_audio", "data": {"conversation_id": CALL, "full_audio": "AAAA"}}

    response = deliver(event)

    assert response.json() == {"ignored": True}
    assert webhook.keys("elevenlabs:conversation:*") == []


# Each case signs when the test runs, not when it is collected: a run that reaches it a minute
# later must not carry "31 minutes ahead" back inside the window.
@pytest.mark.parametrize(
    "sign",
    [
        pytest.param(lambda: "", id="missing"),
        pytest.param(lambda: "t=abc,v0=00", id="malformed"),
        pytest.param(lambda: f"t={int(time.time())},v0=\u00e9\u00e9", id="non-ascii"),
        pytest.param(lambda: signed(b"{}"), id="other-body"),
        pytest.param(
            lambda: signed(json.dumps(transcription()).encode(), secret="wrong"),
            id="wrong-secret",
        ),
        pytest.param(
            lambda: signed(json.dumps(transcription()).encode(), at=time.time() - 31 * 60),
            id="31-min-old",
        ),
        pytest.param(
            lambda: signed(json.dumps(transcription()).encode(), at=time.time() + 31 * 60),
            id="31-min-ahead",
        ),
    ],
)
def test_a_bad_signature_is_401_and_stores_nothing(webhook, sign):
    response = deliver(transcription(), signature=sign())

    assert response.status_code == 401
    assert response.json()["success"] is False
    assert webhook.keys("elevenlabs:*") == []


def test_a_tampered_body_is_401(webhook):
    genuine = json.dumps(transcription()).encode()
    tampered = genuine.replace(b"Run the tests", b"Delete the repo")

    assert deliver({}, signature=signed(genuine), body=tampered).status_code == 401


def test_a_signature_29_minutes_old_is_accepted(webhook):
    raw = json.dumps(transcription()).encode()

    assert deliver({}, signature=signed(raw, at=time.time() - 29 * 60), body=raw).status_code == 200


def test_without_the_secret_configured_the_webhook_is_closed(settings, redis_db):
    settings.ELEVENLABS_WEBHOOK_SECRET = ""

    response = deliver(transcription())

    assert response.status_code == 503
    assert response.json() == {"success": False, "error": ELEVENLABS_WEBHOOK_SECRET_MISSING}


def test_api_keys_do_not_apply_but_the_feature_flag_does(webhook, settings):
    settings.AGENT_API_KEYS = ["key-1"]
    assert deliver(transcription()).status_code == 200

    settings.ELEVENLABS_AGENT_ENABLED = False
    assert deliver(transcription()).status_code == 503


def test_a_transcript_larger_than_other_bodies_is_accepted(webhook, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    long = transcription()
    long["data"]["transcript"] = [{"role": "user", "message": "x" * 500}] * 20

    response = deliver(long)

    assert response.status_code == 200
    assert response.json()["imported"] == 20
