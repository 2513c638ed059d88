"""API keys, CORS and throttling."""

import pytest

from elevenlabs_agent.errors import API_KEY_REQUIRED, FEATURE_DISABLED

LIST = "/agent-conversations/api/list"
FRONTEND = "https://app.example.com"


@pytest.fixture
def api_keys(settings):
    settings.AGENT_API_KEYS = ["key-one", "key-two"]
    return settings.AGENT_API_KEYS


def test_without_configured_keys_the_api_is_open(api, redis_db):
    assert api.get(LIST).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer wrong"},
        {"HTTP_AUTHORIZATION": "Bearer key-one-and-more"},
        {"HTTP_AUTHORIZATION": "Basic a2V5LW9uZTo="},
        {"HTTP_AUTHORIZATION": "Bearer "},
        {"HTTP_X_API_KEY": "KEY-ONE"},
    ],
)
def test_with_keys_a_missing_or_wrong_key_is_a_json_401(api, redis_db, api_keys, headers):
    response = api.get(LIST, **headers)

    assert response.status_code == 401
    assert response.json() == {"success": False, "error": API_KEY_REQUIRED}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_AUTHORIZATION": "Bearer key-one"},
        {"HTTP_AUTHORIZATION": "bearer key-two"},
        {"HTTP_X_API_KEY": "key-two"},
    ],
)
def test_with_keys_a_valid_key_gets_through(api, redis_db, api_keys, headers):
    assert api.get(LIST, **headers).status_code == 200


def test_with_keys_a_failed_key_writes_nothing(api, redis_db, api_keys):
    response = api.post("/agent-conversations/api/new", HTTP_AUTHORIZATION="Bearer nope")

    assert response.status_code == 401
    assert redis_db.keys("*") == []


def test_the_feature_flag_answers_before_the_key_check(api, redis_db, api_keys, settings):
    settings.ELEVENLABS_AGENT_ENABLED = False

    response = api.get(LIST)

    assert response.status_code == 503
    assert response.json()["error"] == FEATURE_DISABLED


@pytest.mark.parametrize("path", ["/health", "/config/health", "/api/schema/"])
def test_health_and_schema_need_no_key(api, redis_db, api_keys, path):
    assert api.get(path).status_code == 200


def test_cors_answers_an_allowed_origin(api, redis_db, settings):
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]

    preflight = api.options(
        LIST,
        HTTP_ORIGIN=FRONTEND,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, authorization, x-api-key",
    )
    response = api.get(LIST, HTTP_ORIGIN=FRONTEND)

    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == FRONTEND
    allowed = preflight["Access-Control-Allow-Headers"].lower()
    assert {"content-type", "authorization", "x-api-key"} <= set(allowed.split(", "))
    assert response["Access-Control-Allow-Origin"] == FRONTEND


def test_cors_refuses_other_origins(api, redis_db, settings):
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]

    response = api.get(LIST, HTTP_ORIGIN="https://evil.example")

    assert "Access-Control-Allow-Origin" not in response


@pytest.fixture
def throttled(settings):
    """Two requests a minute per client."""
    settings.API_THROTTLE_RATE = "2/minute"


def test_throttling_answers_a_json_429_with_retry_after(api, redis_db, throttled):
    statuses = [api.get(LIST).status_code for _ in range(3)]
    response = api.get(LIST)

    assert statuses == [200, 200, 429]
    assert response.status_code == 429
    assert response.json()["success"] is False
    assert "throttled" in response.json()["error"].lower()
    assert int(response["Retry-After"]) > 0
    throttle_keys = redis_db.keys("elevenlabs:throttle:*")
    assert len(throttle_keys) == 1


def test_throttling_counts_each_api_key_apart(api, redis_db, throttled, api_keys):
    for _ in range(2):
        assert api.get(LIST, HTTP_X_API_KEY="key-one").status_code == 200
    assert api.get(LIST, HTTP_X_API_KEY="key-one").status_code == 429
    assert api.get(LIST, HTTP_X_API_KEY="key-two").status_code == 200
    assert b"key-one" not in b"".join(redis_db.keys("*"))


def test_health_is_never_throttled(api, redis_db, throttled):
    assert {api.get("/health").status_code for _ in range(5)} == {200}


def test_throttling_with_redis_down_is_the_storage_503(api, redis_down, throttled):
    response = api.get(LIST)

    assert response.status_code == 503
    assert response["Retry-After"]


def test_throttling_cannot_be_dodged_by_rotating_x_forwarded_for(api, redis_db, throttled):
    statuses = [api.get(LIST, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(4)]

    assert statuses == [200, 200, 429, 429]
    assert len(redis_db.keys("elevenlabs:throttle:*")) == 1


def test_throttling_behind_a_trusted_proxy_counts_the_client_it_names(
    api, redis_db, throttled, settings
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    for _ in range(2):
        assert api.get(LIST, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 200
    assert api.get(LIST, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 429
    assert api.get(LIST, HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 200
