"""GET /signed-url against a local fake of the ElevenLabs API (never the internet)."""

import logging
import time

import pytest

from elevenlabs_agent.errors import API_KEY_MISSING, REFUSALS, TIMED_OUT, UNREACHABLE

KEY = "xi-secret-key-1234"
SIGNED = "wss://api.elevenlabs.io/v1/convai/conversation?agent_id=agent_1&conversation_signature=s"


@pytest.fixture
def elevenlabs(settings, fake_http):
    """The fake ElevenLabs API, with the service pointed at it and a key configured."""
    settings.ELEVENLABS_API_BASE_URL = fake_http.url
    settings.ELEVENLABS_API_KEY = KEY
    settings.ELEVENLABS_AGENT_ID = "agent_default"
    settings.ELEVENLABS_API_TIMEOUT_SECONDS = 0.5
    fake_http.answer(200, f'{{"signed_url": "{SIGNED}"}}')
    return fake_http


def test_signed_url_asks_elevenlabs_with_the_key_and_answers_the_url(api, elevenlabs):
    response = api.get("/signed-url", {"agentId": "agent_1"})

    assert response.status_code == 200
    assert response.json() == {"signedUrl": SIGNED}
    (request,) = elevenlabs.requests
    assert request.path == "/v1/convai/conversation/get-signed-url?agent_id=agent_1"
    assert request.headers["xi-api-key"] == KEY


def test_signed_url_defaults_to_the_configured_agent(api, elevenlabs):
    assert api.get("/signed-url").status_code == 200

    assert elevenlabs.requests[0].path.endswith("?agent_id=agent_default")


def test_signed_url_without_any_agent_id_is_400(api, elevenlabs, settings):
    settings.ELEVENLABS_AGENT_ID = ""

    response = api.get("/signed-url")

    assert response.status_code == 400
    assert "agentId" in response.json()["error"]
    assert elevenlabs.requests == []


@pytest.mark.parametrize("query", [{}, {"agentId": "agent_1"}, {"agentId": ""}])
def test_signed_url_without_api_key_is_503_whatever_the_query(api, elevenlabs, settings, query):
    settings.ELEVENLABS_API_KEY = ""

    response = api.get("/signed-url", query)

    assert response.status_code == 503
    assert response.json() == {"success": False, "error": API_KEY_MISSING}
    assert elevenlabs.requests == []


@pytest.mark.parametrize("status", [401, 403, 404, 422])
def test_signed_url_passes_elevenlabs_refusals_on(api, elevenlabs, status):
    elevenlabs.answer(status, '{"detail": {"status": "refused"}}')

    response = api.get("/signed-url")

    assert response.status_code == status
    assert response.json() == {"success": False, "error": REFUSALS[status]}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, '{"detail": "boom"}'),
        (503, "upstream down"),
        (200, "<html>not json</html>"),
        (200, '{"url": "missing the field"}'),
        (200, '{"signed_url": 42}'),
        (302, ""),
    ],
)
def test_signed_url_5xx_or_unreadable_answer_is_502(api, elevenlabs, status, body):
    elevenlabs.answer(status, body)

    response = api.get("/signed-url")

    assert response.status_code == 502
    assert response.json() == {"success": False, "error": UNREACHABLE}


def test_signed_url_elevenlabs_unreachable_is_502(api, elevenlabs, settings):
    settings.ELEVENLABS_API_BASE_URL = "http://127.0.0.1:9"

    assert api.get("/signed-url").status_code == 502


def test_signed_url_elevenlabs_hanging_is_504_after_the_timeout(api, elevenlabs):
    elevenlabs.answer(200, f'{{"signed_url": "{SIGNED}"}}', delay=3)

    started = time.monotonic()
    response = api.get("/signed-url")

    assert response.status_code == 504
    assert response.json() == {"success": False, "error": TIMED_OUT}
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("status", [200, 401, 500])
def test_signed_url_key_is_in_no_answer_and_no_log(api, elevenlabs, caplog, status):
    elevenlabs.answer(status, f'{{"signed_url": "{SIGNED}"}}')

    with caplog.at_level(logging.DEBUG):
        response = api.get("/signed-url")

    assert KEY not in response.content.decode()
    assert KEY not in caplog.text


def test_signed_url_is_gated_by_the_feature_flag(api, elevenlabs, settings):
    settings.ELEVENLABS_AGENT_ENABLED = False

    assert api.get("/signed-url").status_code == 503
    assert elevenlabs.requests == []
