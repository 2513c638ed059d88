"""Liveness, readiness, the config page's health panel, and /config (what the frontend reads)."""

import time

import pytest

from elevenlabs_agent.settings import channel_layer_settings, redis_cache_settings


@pytest.mark.parametrize("enabled", [True, False])
def test_health_answers_ok_without_redis_even_when_disabled(api, redis_down, settings, enabled):
    settings.ELEVENLABS_AGENT_ENABLED = enabled

    response = api.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_is_ready_while_redis_answers(api, redis_db):
    response = api.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readiness_is_503_when_redis_is_down(api, redis_down):
    response = api.get("/health/ready")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "dependencies": {"redis": "disconnected"}}


@pytest.mark.parametrize("path", ["/health", "/health/ready", "/config/health"])
def test_health_routes_answer_any_host_header(api, redis_db, path):
    response = api.get(path, HTTP_HOST="10.1.2.3:8000")  # a probe addressing the pod's IP

    assert response.status_code == 200


@pytest.mark.parametrize("enabled", [True, False])
def test_config_health_reports_redis_and_cursor_runner_not_configured(
    api, redis_db, settings, enabled
):
    settings.ELEVENLABS_AGENT_ENABLED = enabled
    settings.CURSOR_RUNNER_URL = ""

    response = api.get("/config/health")

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "service": "elevenlabs-agent",
        "status": "ok",
        "dependencies": {"redis": "connected", "cursorRunner": "not configured"},
        "featureEnabled": enabled,
        "timestamp": body["timestamp"],
    }
    assert body["timestamp"].endswith("Z")


def test_config_health_is_200_degraded_when_redis_is_down(api, redis_down):
    response = api.get("/config/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["dependencies"]["redis"] == "disconnected"


@pytest.mark.parametrize(
    ("answer", "state", "overall"),
    [(200, "connected", "ok"), (500, "unhealthy", "degraded"), (404, "unhealthy", "degraded")],
)
def test_config_health_probes_cursor_runner(
    api, redis_db, settings, fake_http, answer, state, overall
):
    settings.CURSOR_RUNNER_URL = fake_http.url
    fake_http.answer(answer, '{"status":"ok"}')

    body = api.get("/config/health").json()

    assert body["dependencies"]["cursorRunner"] == state
    assert body["status"] == overall
    assert [r.path for r in fake_http.requests] == ["/health"]


def test_config_health_cursor_runner_not_listening_is_disconnected(api, redis_db, settings):
    settings.CURSOR_RUNNER_URL = "http://127.0.0.1:9"  # discard port: nothing listens

    body = api.get("/config/health").json()

    assert body["dependencies"]["cursorRunner"] == "disconnected"
    assert body["status"] == "degraded"


def test_config_health_answers_within_2s_when_cursor_runner_hangs(
    api, redis_db, settings, fake_http
):
    settings.CURSOR_RUNNER_URL = fake_http.url
    fake_http.answer(200, "{}", delay=5)

    started = time.monotonic()
    body = api.get("/config/health").json()

    assert time.monotonic() - started < 2
    assert body["dependencies"]["cursorRunner"] == "disconnected"
    assert body["status"] == "degraded"


def test_config_has_every_field_the_frontend_reads(api, settings):
    settings.ELEVENLABS_AGENT_ID = "agent_123"
    settings.ELEVENLABS_AGENT_URL = "https://agent.example.com"
    settings.CURSOR_RUNNER_URL = "http://cursor-runner:3001"
    settings.WEBHOOK_SECRET = "whsec-not-to-be-shown"
    settings.CURSOR_RUNNER_SECRET = "runner-secret-not-to-be-shown"
    settings.ELEVENLABS_API_KEY = "xi-key-not-to-be-shown"
    settings.TASK_TTL_SECONDS = 3600

    response = api.get("/config")

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["timestamp"].endswith("Z")
    config = body["config"]
    assert {k: config[k] for k in ("agentId", "agentUrl", "cursorRunnerUrl")} == {
        "agentId": "agent_123",
        "agentUrl": "https://agent.example.com",
        "cursorRunnerUrl": "http://cursor-runner:3001",
    }
    assert config["webhookSecretConfigured"] is True
    assert config["cursorRunnerSecretConfigured"] is True
    assert config["taskTtlSeconds"] == 3600
    assert config["hasApiKey"] is True
    assert "not-to-be-shown" not in response.content.decode()


def test_config_without_settings_has_null_agent_and_the_request_base_url(api, settings):
    for name in ("ELEVENLABS_AGENT_ID", "ELEVENLABS_AGENT_URL", "CURSOR_RUNNER_URL"):
        setattr(settings, name, "")
    settings.WEBHOOK_SECRET = settings.ELEVENLABS_API_KEY = settings.CURSOR_RUNNER_SECRET = ""

    config = api.get("/config", HTTP_HOST="localhost:8000").json()["config"]

    assert config["agentId"] is None  # present, not omitted: the dashboard reads the key
    assert config["cursorRunnerUrl"] is None
    assert config["agentUrl"] == "http://localhost:8000"
    assert config["webhookSecretConfigured"] is False
    assert config["cursorRunnerSecretConfigured"] is False
    assert config["hasApiKey"] is False


def test_config_never_shows_the_redis_url(api, settings):
    # Where the URL really lives: the cache and channel-layer settings built from REDIS_URL.
    url = "redis://user:hunter2@redis.internal:6379/0"
    settings.REDIS_URL = url
    settings.CACHES = {"default": redis_cache_settings(url)}
    settings.CHANNEL_LAYERS = channel_layer_settings(url)
    settings.REDIS_EMBEDDED = False

    response = api.get("/config")

    config = response.json()["config"]
    assert config["redisUrl"] == "configured"
    assert config["redis"] == "external"
    assert "hunter2" not in response.content.decode()
    assert "redis.internal" not in response.content.decode()


def test_config_is_gated_by_the_feature_flag(api, settings):
    settings.ELEVENLABS_AGENT_ENABLED = False

    response = api.get("/config")

    assert response.status_code == 503
    assert response.json()["enabled"] is False
