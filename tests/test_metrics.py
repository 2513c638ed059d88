"""GET /metrics, request ids and JSON logs: what the person on call reads."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from elevenlabs_agent.middleware import REQUEST_ID
from tests.support import API

ROOT = Path(__file__).resolve().parent.parent
LIST_ROUTE = "/agent-conversations/api/list"
CONVERSATION_ROUTE = "/agent-conversations/api/<str:conversation_id>"


def scrape(api: APIClient, **headers: str) -> dict[tuple[str, tuple], float]:
    """Every sample of GET /metrics, parsed by prometheus-client's own parser."""
    response = api.get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    families = text_string_to_metric_families(response.content.decode())
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }


def requests_of(samples: dict, route: str, status: str = "200") -> float:
    labels = (("method", "GET"), ("route", route), ("status", status))
    return samples.get(("elevenlabs_agent_http_requests_total", labels), 0.0)


def test_requests_are_counted_by_route_template_method_and_status(api, redis_db):
    before = scrape(api)
    for _ in range(3):
        assert api.get(f"{API}/list").status_code == 200
    assert api.get(f"{API}/nobody-made-this").status_code == 404

    after = scrape(api)

    assert requests_of(after, LIST_ROUTE) - requests_of(before, LIST_ROUTE) == 3
    gone = requests_of(after, CONVERSATION_ROUTE, "404") - requests_of(
        before, CONVERSATION_ROUTE, "404"
    )
    assert gone == 1
    duration = ("elevenlabs_agent_http_request_duration_seconds_count", (("route", LIST_ROUTE),))
    assert after[duration] - before.get(duration, 0) == 3


def test_a_thousand_conversation_ids_add_no_series(api, redis_db):
    api.get(f"{API}/warm-up")  # the route's series exist, and the scrape's own (next line)
    scrape(api)
    before = scrape(api)
    for n in range(1000):
        api.get(f"{API}/conversation-{n}")

    after = scrape(api)

    assert set(after) == set(before)


def test_redis_calls_and_error_codes_are_counted(api, redis_db, settings):
    settings.CONVERSATION_MAX_MESSAGES = 1
    cid = api.post(f"{API}/new").json()["conversationId"]
    body = {"role": "user", "content": "hi"}
    assert api.post(f"{API}/{cid}/message", body, format="json").status_code == 200
    before = scrape(api)

    assert api.post(f"{API}/{cid}/message", body, format="json").status_code == 409

    after = scrape(api)
    full = ("elevenlabs_agent_api_errors_total", (("code", "conversation_full"),))
    assert after[full] - before.get(full, 0) == 1
    calls = ("elevenlabs_agent_redis_call_duration_seconds_count", ())
    assert after[calls] - before[calls] >= 1  # the refused append asked Redis
    assert after[("elevenlabs_agent_redis_up", ())] == 1


def test_metrics_need_an_api_key_when_keys_are_set_but_not_the_feature(api, redis_db, settings):
    settings.AGENT_API_KEYS = ["key-1"]
    settings.ELEVENLABS_AGENT_ENABLED = False

    assert api.get("/metrics").status_code == 401
    scrape(api, HTTP_AUTHORIZATION="Bearer key-1")


def test_a_request_id_is_kept_when_safe_and_made_otherwise(api, redis_db):
    kept = api.get("/health", HTTP_X_REQUEST_ID="trace-1.2_3")
    unsafe = api.get("/health", HTTP_X_REQUEST_ID="no spaces; or <tags>")
    too_long = api.get("/health", HTTP_X_REQUEST_ID="a" * 129)
    none = api.get("/health")

    assert kept["X-Request-ID"] == "trace-1.2_3"
    made = [unsafe["X-Request-ID"], too_long["X-Request-ID"], none["X-Request-ID"]]
    assert all(REQUEST_ID.fullmatch(request_id) for request_id in made)
    assert len(set(made)) == 3


def test_the_request_id_reaches_the_log_line_and_cursor_runner(
    api, redis_db, settings, fake_http, caplog
):
    settings.WEBHOOK_SECRET = "secret"
    settings.CURSOR_RUNNER_URL = fake_http.url
    settings.CURSOR_RUNNER_SECRET = ""
    fake_http.answer(502, "no")  # refused: the tool call logs nothing of its own
    cid = api.post(f"{API}/new").json()["conversationId"]

    response = api.post(
        "/agent-tools", {"tool_name": "search", "conversation_id": cid}, format="json",
        HTTP_X_WEBHOOK_SECRET="secret", HTTP_X_REQUEST_ID="call-42",
    )  # fmt: skip

    assert response["X-Request-ID"] == "call-42"
    (dispatched,) = fake_http.requests
    assert dispatched.headers["X-Request-ID"] == "call-42"
    logged = [r for r in caplog.records if r.name == "django.request"]
    assert logged
    assert all(record.request_id == "call-42" for record in logged)


def test_json_logs_are_one_object_per_line():
    code = (
        "import logging; from elevenlabs_agent.middleware import request_id_var;"
        "request_id_var.set('rid-7'); logging.getLogger('elevenlabs_agent').warning('one');"
        "logging.getLogger('elevenlabs_agent').error('two %s', 'args')"
    )
    env = {
        "PATH": os.environ["PATH"], "SECRET_KEY": "x", "REDIS_URL": "redis://127.0.0.1:6379/0",
        "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "elevenlabs_agent.settings",
    }  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip

    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(line["level"], line["message"]) for line in lines] == [
        ("WARNING", "one"), ("ERROR", "two args"),
    ]  # fmt: skip
    assert {line["logger"] for line in lines} == {"elevenlabs_agent"}
    assert {line["request_id"] for line in lines} == {"rid-7"}
    assert all(line["time"].endswith("+00:00") for line in lines)


@pytest.mark.parametrize("value", ["xml", "JSON "])
def test_an_unknown_log_format_stops_startup(value):
    env = {"PATH": os.environ["PATH"], "SECRET_KEY": "x", "REDIS_URL": "redis://127.0.0.1:6379/0",
           "LOG_FORMAT": value}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert f"LOG_FORMAT={value!r} is invalid" in result.stderr
