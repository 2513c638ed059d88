"""Size and depth limits, and the characters that ids and content may carry."""

import json

import pytest

from agent_conversations.store import messages_key
from agent_sessions.serializers import SESSION_URL_HOST_NOT_ALLOWED
from agent_sessions.store import session_key
from tests.support import API

WS_URL = "wss://api.elevenlabs.io/v1/convai/conversation?token=x"


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"d": value}
    return value


@pytest.fixture
def conversation(api, redis_db) -> str:
    return api.post(f"{API}/new").json()["conversationId"]


@pytest.mark.parametrize("field", ["metadata", "sessionPayload"])
def test_session_objects_over_the_depth_limit_are_refused(api, redis_db, settings, field):
    settings.OPAQUE_OBJECT_MAX_DEPTH = 4

    ok = api.post(f"{API}/c1/session", {"sessionUrl": WS_URL, field: nested(4)}, format="json")
    deep = api.post(f"{API}/c2/session", {"sessionUrl": WS_URL, field: nested(5)}, format="json")

    assert ok.status_code == 200
    assert deep.status_code == 400
    assert list(deep.json()["details"]) == [field]
    assert redis_db.exists(session_key("c2")) == 0


@pytest.mark.parametrize(("limit", "ok", "too_much"), [
    ("OPAQUE_OBJECT_MAX_BYTES", {"blob": "y" * 80}, {"blob": "y" * 100}),
    ("OPAQUE_OBJECT_MAX_DEPTH", nested(4), nested(5)),
])  # fmt: skip
def test_tool_args_over_a_limit_are_refused(
    api, conversation, redis_db, settings, limit, ok, too_much
):
    settings.OPAQUE_OBJECT_MAX_BYTES, settings.OPAQUE_OBJECT_MAX_DEPTH = 100, 4
    url = f"{API}/{conversation}/message"

    accepted = api.post(url, {"role": "tool", "content": "x", "toolArgs": ok}, format="json")
    refused = api.post(url, {"role": "tool", "content": "x", "toolArgs": too_much}, format="json")

    assert accepted.status_code == 200
    assert refused.status_code == 400
    assert list(refused.json()["details"]) == ["toolArgs"]
    assert redis_db.llen(messages_key(conversation)) == 1


@pytest.mark.parametrize("field", ["metadata", "sessionPayload"])
def test_session_objects_over_the_size_limit_are_refused(api, redis_db, settings, field):
    settings.OPAQUE_OBJECT_MAX_BYTES = 100

    ok = api.post(
        f"{API}/c1/session", {"sessionUrl": WS_URL, field: {"b": "y" * 80}}, format="json"
    )
    big = api.post(
        f"{API}/c2/session", {"sessionUrl": WS_URL, field: {"b": "y" * 100}}, format="json"
    )

    assert ok.status_code == 200
    assert big.status_code == 400
    assert "100 bytes" in big.json()["details"][field][0]
    assert redis_db.exists(session_key("c2")) == 0


def test_metadata_over_the_size_limit_is_refused_on_new(api, redis_db, settings):
    settings.OPAQUE_OBJECT_MAX_BYTES = 50

    response = api.post(f"{API}/new", {"metadata": {"k": "v" * 60}}, format="json")

    assert response.status_code == 400
    assert redis_db.keys("*") == []


def test_deeply_nested_json_is_a_400_not_a_crash(api, redis_db, settings):
    raw = '{"metadata": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert len(raw) < settings.MAX_REQUEST_BODY_BYTES  # refused for its depth, not its size
    response = api.post(f"{API}/new", raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["success"] is False


def test_session_url_hosts_can_be_restricted(api, redis_db, settings):
    settings.SESSION_URL_ALLOWED_HOSTS = ["*.elevenlabs.io"]

    allowed = api.post(f"{API}/c1/session", {"sessionUrl": WS_URL}, format="json")
    internal = api.post(
        f"{API}/c2/session", {"sessionUrl": "ws://169.254.169.254/latest"}, format="json"
    )
    lookalike = api.post(
        f"{API}/c3/session", {"sessionUrl": "wss://elevenlabs.io.evil.example/ws"}, format="json"
    )

    assert allowed.status_code == 200
    for refused in (internal, lookalike):
        assert refused.status_code == 400
        assert refused.json()["details"] == {"sessionUrl": [SESSION_URL_HOST_NOT_ALLOWED]}
    assert redis_db.exists(session_key("c2"), session_key("c3")) == 0


@pytest.mark.parametrize(
    "content",
    ["Grüße, 世界 🎙️", "tab\tand\nnewline", "bell\x07 and escape \x1b[0m", "\u202eright-to-left"],
)
def test_unicode_and_control_characters_in_content_are_kept_exactly(
    api, conversation, redis_db, content
):
    response = api.post(
        f"{API}/{conversation}/message", {"role": "user", "content": content}, format="json"
    )

    assert response.status_code == 200
    assert json.loads(redis_db.lindex(messages_key(conversation), 0))["content"] == content
    assert api.get(f"{API}/{conversation}").json()["messages"][0]["content"] == content


@pytest.mark.parametrize("content", ["nul\x00byte", "\u3000\u00a0 \n"])
def test_content_with_nul_or_only_whitespace_is_refused(api, conversation, redis_db, content):
    response = api.post(
        f"{API}/{conversation}/message", {"role": "user", "content": content}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["details"]) == ["content"]
    assert redis_db.llen(messages_key(conversation)) == 0


@pytest.mark.parametrize(
    ("cid", "status"),
    [
        ("caf\u00e9", 400),
        ("tab%09id", 400),
        ("nul%00id", 400),
        ("line%0Abreak", 400),
        ("a%2Fb", 404),  # a decoded slash: no such route
    ],
)
def test_unicode_and_control_characters_in_ids_are_refused(api, redis_db, cid, status):
    response = api.post(f"{API}/{cid}/session", {"sessionUrl": WS_URL}, format="json")

    assert response.status_code == status
    assert response.json()["success"] is False
    assert redis_db.keys("*") == []


def test_a_huge_list_offset_is_a_400_not_a_500(api, redis_db):
    response = api.get(f"{API}/list", {"offset": 2**62})

    assert response.status_code == 400
    assert "offset" in response.json()["error"]


LONE_SURROGATE = r'{"note": "cut emoji \ud83d", "nested": {"list": ["\udc00"]}}'  # JSON text


@pytest.mark.parametrize("field", ["metadata", "sessionPayload", "toolArgs"])
def test_a_lone_utf16_surrogate_in_an_opaque_object_is_kept_not_a_500(
    api, redis_db, conversation, field
):
    if field == "metadata":
        path, body = f"{API}/new", f'{{"metadata": {LONE_SURROGATE}}}'
    elif field == "sessionPayload":
        body = f'{{"sessionUrl": "wss://example.test/s", "sessionPayload": {LONE_SURROGATE}}}'
        path = f"{API}/{conversation}/session"
    else:
        body = f'{{"role": "tool", "content": "ran", "toolArgs": {LONE_SURROGATE}}}'
        path = f"{API}/{conversation}/message"

    response = api.generic("POST", path, body, content_type="application/json")

    assert response.status_code == 200
    expected = json.loads(LONE_SURROGATE)
    if field == "metadata":
        stored = api.get(f"{API}/{response.json()['conversationId']}").json()["metadata"]
    elif field == "sessionPayload":
        stored = json.loads(redis_db.get(session_key(conversation)))["sessionPayload"]
    else:
        stored = api.get(f"{API}/{conversation}").json()["messages"][-1]["toolArgs"]
    assert stored == expected


@pytest.mark.parametrize("at", ["middle", "end"])
def test_a_lone_surrogate_in_message_text_is_a_400_and_stores_nothing(
    api, redis_db, conversation, at
):
    content = r"cut emoji \ud83d here" if at == "middle" else "x" * 31_000 + r"\udc00"
    body = f'{{"role": "user", "content": "{content}"}}'

    response = api.generic(
        "POST", f"{API}/{conversation}/message", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert "Surrogate characters are not allowed" in json.dumps(response.json())
    assert api.get(f"{API}/{conversation}").json()["messageCount"] == 0
