import json

from elevenlabs_agent.encoding import RawJSON, dumps, loads
from tests.support import API


def test_dumps_writes_compact_utf8_in_key_order():
    assert dumps({"b": 1, "a": "ü"}) == '{"b":1,"a":"ü"}'.encode()


def test_dumps_embeds_raw_json_as_is():
    assert dumps({"x": RawJSON(b'[{"k":1}]')}) == b'{"x":[{"k":1}]}'


def test_integers_beyond_64_bits_take_the_stdlib_path_with_raw_json_inside():
    value = {"big": 2**70, "raw": RawJSON(b'{"k":[1]}')}

    encoded = dumps(value)

    assert json.loads(encoded) == {"big": 2**70, "raw": {"k": [1]}}
    assert loads(encoded)["big"] == 2**70


def test_big_integers_in_opaque_objects_round_trip_through_the_api(api, redis_db):
    metadata = {"big": 2**70, "negative": -(2**65), "nested": [{"n": 12345678901234567890123}]}

    cid = api.post(f"{API}/new", {"metadata": metadata}, format="json").json()["conversationId"]
    api.post(
        f"{API}/{cid}/message",
        {"role": "tool", "content": "x", "toolArgs": metadata},
        format="json",
    )

    conversation = json.loads(api.get(f"{API}/{cid}").content)
    listed = json.loads(api.get(f"{API}/list").content)["conversations"][0]
    assert conversation["metadata"] == metadata
    assert conversation["messages"][0]["toolArgs"] == metadata
    assert listed == conversation | {"lastAccessedAt": listed["lastAccessedAt"]}


def test_conversation_pages_render_in_the_browsable_api(api, redis_db):
    cid = api.post(f"{API}/new").json()["conversationId"]

    response = api.get(f"{API}/{cid}", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert cid in response.content.decode()
