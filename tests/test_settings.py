import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from elevenlabs_agent.environment import parse_feature_flag


@pytest.mark.parametrize("raw", ["true", "TRUE", "1", "yes", "Yes", "on", "ON", " true "])
def test_feature_flag_on_values(raw):
    assert parse_feature_flag(raw) is True


@pytest.mark.parametrize("raw", ["false", "False", "0", "no", "NO", "off", "", None])
def test_feature_flag_off_values(raw):
    assert parse_feature_flag(raw) is False


@pytest.mark.parametrize("raw", ["enabled", "2", "truthy", "y"])
def test_feature_flag_unknown_values_are_off_with_a_warning(raw, caplog):
    with caplog.at_level(logging.WARNING):
        assert parse_feature_flag(raw) is False
    assert "ELEVENLABS_AGENT_ENABLED" in caplog.text


ROOT = Path(__file__).resolve().parent.parent
VALID = {"SECRET_KEY": "settings-tests", "REDIS_URL": "redis://127.0.0.1:6379/0"}


def manage_check(**overrides: str) -> subprocess.CompletedProcess:
    """`manage.py check` in a clean environment: what `make serve` runs before granian."""
    env = {"PATH": os.environ["PATH"], **VALID, **overrides}
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REDIS_URL", "redis://host:6379/abc"),
        ("REDIS_URL", "notaurl"),
        ("REDIS_URL", "redis://host:port/0"),
        ("API_THROTTLE_RATE", "lots"),
        ("API_THROTTLE_RATE", "0/minute"),
        ("SESSION_TTL_SECONDS", "0"),
        ("SESSION_TTL_SECONDS", "-5"),
        ("CONVERSATION_TTL_SECONDS", "10m"),
        ("REDIS_SOCKET_TIMEOUT_SECONDS", "abc"),
        ("REDIS_SOCKET_TIMEOUT_SECONDS", "5"),
        ("MAX_REQUEST_BODY_BYTES", "0"),
        ("CURSOR_RUNNER_URL", "cursor-runner:3001"),
        ("CURSOR_RUNNER_TIMEOUT_SECONDS", "5"),
        ("TASK_TTL_SECONDS", "1d"),
        ("REDIS_SENTINELS", "sentinel-a"),
        ("REDIS_CLUSTER_NODES", "node-a,node-b:7001"),
        ("LOG_LEVEL", "verbose"),
        ("DEBUG", "ture"),
        ("TRUST_X_FORWARDED_PROTO", "yes please"),
        ("SECURE_SSL_REDIRECT", "enabled"),
        ("ELEVENLABS_EMBEDDED_STORE", "y"),
        ("CONVERSATION_MAX_MESSAGES", "3001"),
        ("CONVERSATION_MAX_BYTES", "1572865"),
    ],
)
def test_an_invalid_setting_stops_startup_with_one_line_naming_it(name, value):
    result = manage_check(**{name: value})

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no traceback
    assert f"{name}={value!r} is invalid" in lines[0]


def test_valid_settings_start():
    result = manage_check(API_THROTTLE_RATE="600/minute", CONVERSATION_TTL_SECONDS="0")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("spelling", ["true", "1", "yes", "on", "ON", "False", "0", "no", "off"])
def test_boolean_settings_take_every_documented_spelling(spelling):
    result = manage_check(
        DEBUG=spelling, TRUST_X_FORWARDED_PROTO=spelling, SECURE_SSL_REDIRECT=spelling,
        ELEVENLABS_EMBEDDED_STORE=spelling,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr


def test_the_caps_take_their_upper_bounds():
    result = manage_check(CONVERSATION_MAX_MESSAGES="3000", CONVERSATION_MAX_BYTES="1572864")

    assert result.returncode == 0, result.stderr


def test_production_refuses_the_embedded_store_unless_asked_for():
    refused = manage_check(REDIS_URL="")
    allowed = manage_check(REDIS_URL="", ELEVENLABS_EMBEDDED_STORE="true")
    debugging = manage_check(REDIS_URL="", DEBUG="true")

    assert refused.returncode != 0
    assert "REDIS_URL is not set" in refused.stderr
    assert "ELEVENLABS_EMBEDDED_STORE=true" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
    assert debugging.returncode == 0, debugging.stderr


def test_a_cluster_is_named_alone_or_startup_stops():
    both = manage_check(REDIS_CLUSTER_NODES="127.0.0.1:7001,127.0.0.1:7002")  # and REDIS_URL
    alone = manage_check(REDIS_URL="", REDIS_CLUSTER_NODES="127.0.0.1:7001,127.0.0.1:7002")

    assert both.returncode != 0
    assert "set one of them" in both.stderr
    assert len(both.stderr.strip().splitlines()) == 1, both.stderr
    assert alone.returncode == 0, alone.stderr
