"""One test per error kind: every failure answers the contract's JSON envelope."""

import time

import pytest

from agent_sessions import store as session_store
from elevenlabs_agent.errors import (
    FEATURE_DISABLED,
    FEATURE_DISABLED_MESSAGE,
    NOT_FOUND,
    REQUEST_TOO_LARGE,
    SERVER_ERROR,
    STORAGE_UNAVAILABLE,
)

SESSION_URL = "/agent-conversations/api/conv-1/session"
# One body that every POST route accepts: a session URL, and a message for .../message.
BODY = {"sessionUrl": "wss://api.elevenlabs.io/ws", "role": "user", "content": "hi"}

GATED_ROUTES = [
    ("post", SESSION_URL),
    ("get", SESSION_URL),
    ("delete", SESSION_URL),
    ("get", "/agent-conversations/api/list"),
    ("post", "/agent-conversations/api/new"),
    ("get", "/agent-conversations/api/conv-1"),
    ("post", "/agent-conversations/api/conv-1/message"),
    ("get", "/config"),
]


def assert_envelope(response, status: int, error: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["success"] is False
    assert body["error"] == error


def test_unknown_route_is_a_json_404(api):
    response = api.get("/agent-conversations/api/conv-1/nothing-here")

    assert response.status_code == 404
    assert response.json() == {"success": False, "error": NOT_FOUND}


def test_trailing_slash_is_not_redirected(api):
    assert api.get(SESSION_URL + "/").status_code == 404


def test_wrong_method_is_a_json_405(api):
    assert_envelope(api.put(SESSION_URL, BODY, format="json"), 405, 'Method "PUT" not allowed.')


def test_form_post_is_a_json_415(api, redis_db):
    response = api.post(SESSION_URL, BODY)  # multipart, as a browser form would send

    assert response.status_code == 415
    assert response.json()["success"] is False
    assert redis_db.keys("*") == []


def test_malformed_json_is_a_json_400(api, redis_db):
    response = api.post(SESSION_URL, '{"sessionUrl": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"].startswith("JSON parse error")
    assert redis_db.keys("*") == []


def test_duplicate_json_keys_are_a_json_400(api, redis_db):
    raw = '{"sessionUrl": "wss://a.example/ws", "sessionUrl": "wss://b.example/ws"}'
    response = api.post(SESSION_URL, raw, content_type="application/json")

    assert response.status_code == 400
    assert "duplicate key" in response.json()["error"]
    assert redis_db.keys("*") == []


def test_body_over_the_limit_is_a_json_413(api, redis_db, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1024
    body = {**BODY, "metadata": {"blob": "x" * 2000}}

    assert_envelope(api.post(SESSION_URL, body, format="json"), 413, REQUEST_TOO_LARGE)
    assert redis_db.keys("*") == []


def test_validation_error_envelope_names_the_field(api, redis_db):
    response = api.post(SESSION_URL, {}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "Invalid sessionUrl: This field is required.",
        "details": {"sessionUrl": ["This field is required."]},
    }


STORAGE_ROUTES = [route for route in GATED_ROUTES if route[1] != "/config"]


@pytest.mark.parametrize(("method", "url"), STORAGE_ROUTES)
def test_storage_outage_is_a_fast_json_503_with_retry_after(api, redis_down, method, url):
    started = time.monotonic()
    response = getattr(api, method)(url, BODY, format="json")

    assert time.monotonic() - started < 2
    assert_envelope(response, 503, STORAGE_UNAVAILABLE)
    assert response.json() == {"success": False, "error": STORAGE_UNAVAILABLE}
    assert int(response["Retry-After"]) > 0


def test_unexpected_failure_is_a_json_500_without_a_trace(api, redis_db, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(session_store, "session_get", broken)
    api.raise_request_exception = False

    response = api.get(SESSION_URL)

    assert_envelope(response, 500, SERVER_ERROR)
    assert "secret internals" not in response.content.decode()


@pytest.mark.parametrize(("method", "url"), GATED_ROUTES)
def test_feature_flag_off_gates_every_api_route_with_the_contract_503(
    api, redis_db, settings, method, url
):
    settings.ELEVENLABS_AGENT_ENABLED = False

    response = getattr(api, method)(url, BODY, format="json")

    assert response.status_code == 503
    assert response.json() == {
        "success": False,
        "error": FEATURE_DISABLED,
        "message": FEATURE_DISABLED_MESSAGE,
        "enabled": False,
    }
    assert redis_db.keys("*") == []


# What each gated route answers with the feature on and an empty store.
ANSWERS_WHEN_ON = {
    ("post", SESSION_URL): 200,  # registered
    ("get", SESSION_URL): 404,  # no session registered
    ("delete", SESSION_URL): 200,  # idempotent: nothing to remove
    ("get", "/agent-conversations/api/list"): 200,
    ("post", "/agent-conversations/api/new"): 200,
    ("get", "/agent-conversations/api/conv-1"): 404,  # nobody created it
    ("post", "/agent-conversations/api/conv-1/message"): 404,
    ("get", "/config"): 200,
}


@pytest.mark.parametrize(("method", "url"), GATED_ROUTES)
def test_feature_flag_on_lets_every_api_route_through(api, redis_db, settings, method, url):
    settings.ELEVENLABS_AGENT_ENABLED = True

    response = getattr(api, method)(url, BODY, format="json")

    assert response.status_code == ANSWERS_WHEN_ON[method, url]
    assert response.json().get("enabled") is not False


def test_browser_asking_for_html_gets_the_browsable_api(api, redis_db):
    response = api.get(SESSION_URL, HTTP_ACCEPT="text/html")

    assert response["Content-Type"].startswith("text/html")
