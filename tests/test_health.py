import pytest


@pytest.mark.parametrize("enabled", [True, False])
def test_health_answers_ok_without_redis_even_when_disabled(api, redis_down, settings, enabled):
    settings.ELEVENLABS_AGENT_ENABLED = enabled

    response = api.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("enabled", [True, False])
def test_config_health_reports_redis_ok(api, redis_db, settings, enabled):
    settings.ELEVENLABS_AGENT_ENABLED = enabled

    response = api.get("/config/health")

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "success": True,
        "health": {
            "service": "elevenlabs-agent",
            "status": "ok",
            "dependencies": {"redis": "ok"},
            "featureEnabled": enabled,
            "timestamp": body["health"]["timestamp"],
        },
    }


def test_config_health_is_degraded_503_when_redis_is_down(api, redis_down):
    response = api.get("/config/health")

    assert response.status_code == 503
    health = response.json()["health"]
    assert health["status"] == "degraded"
    assert health["dependencies"] == {"redis": "unavailable"}


def test_config_lists_non_secret_settings_only(api, settings):
    settings.CACHES["default"]["LOCATION"] = "redis://user:hunter2@redis.internal:6379/0"
    settings.REDIS_EMBEDDED = False

    response = api.get("/config")

    assert response.status_code == 200
    config = response.json()["config"]
    assert config["featureEnabled"] is True
    assert config["sessionTtlSeconds"] == settings.SESSION_TTL_SECONDS
    assert config["conversationTtlSeconds"] == settings.CONVERSATION_TTL_SECONDS
    assert config["redis"] == "external"
    text = response.content.decode()
    assert "hunter2" not in text
    assert "redis://" not in text
    assert settings.SECRET_KEY not in text
