"""Each spoken turn stored once: the post-call transcript reconciled with the voice messages the
page stored during the call, on both backends.

The call (tests/agent_conversations/test_post_call.transcription) starts 2025-11-27 12:00:00 UTC;
its turns: the agent at +0 s "Hello, how can I help?" (el:<call>:0), the user at +3 s "Run the
tests please." (:1), the agent at +6 s "Started them." (:3).
"""

from typing import Any

from rest_framework.test import APIClient

from tests.agent_conversations.test_post_call import CALL, deliver, transcription
from tests.support import API

HELLO = ("assistant", "Hello, how can I help?", "2025-11-27T12:00:00.400Z")
RUN = ("user", "Run the tests please.", "2025-11-27T12:00:03.300Z")
STARTED = ("assistant", "Started them.", "2025-11-27T12:00:06.200Z")


def call_conversation() -> str:
    cid = APIClient().post(f"{API}/new").json()["conversationId"]
    session = {"sessionUrl": "wss://api.elevenlabs.io/v1/convai/conversation", "sessionId": CALL}
    assert APIClient().post(f"{API}/{cid}/session", session, format="json").status_code == 200
    return cid


def page_stored(cid: str, *turns: tuple[str, str, str]) -> list[str]:
    """The page's voice messages, as it appends them during the call; their messageIds."""
    ids = []
    for n, (role, content, timestamp) in enumerate(turns):
        body = {"role": role, "content": content, "timestamp": timestamp, "source": "voice",
                "messageId": f"page-{timestamp}-{n}"}  # fmt: skip
        assert APIClient().post(f"{API}/{cid}/message", body, format="json").status_code == 200
        ids.append(body["messageId"])
    return ids


def messages(cid: str) -> list[dict[str, Any]]:
    return APIClient().get(f"{API}/{cid}").json()["messages"]


def test_a_call_the_page_stored_whole_is_stored_once(webhook):
    cid = call_conversation()
    page_ids = page_stored(cid, HELLO, RUN, STARTED)

    answer = deliver(transcription()).json()

    assert (answer["imported"], answer["duplicates"]) == (0, 3)
    stored = messages(cid)
    assert [m["messageId"] for m in stored] == page_ids
    assert [m["elevenlabsTurn"] for m in stored] == [f"el:{CALL}:{n}" for n in (0, 1, 3)]


def test_turns_the_page_missed_take_their_place_in_time(webhook):
    cid = call_conversation()
    page_stored(cid, HELLO, STARTED)  # the user's turn never reached the page

    answer = deliver(transcription()).json()

    assert (answer["imported"], answer["duplicates"]) == (1, 2)
    stored = messages(cid)
    assert [m["content"] for m in stored] == [HELLO[1], RUN[1], STARTED[1]]
    assert stored[1]["messageId"] == f"el:{CALL}:1"
    # Paging by messageId finds every message where it now is.
    page = APIClient().get(f"{API}/{cid}/messages", {"after": stored[0]["messageId"]}).json()
    assert [m["content"] for m in page["messages"]] == [RUN[1], STARTED[1]]
    assert APIClient().get(f"{API}/{cid}").json()["messageCount"] == 3


def test_text_that_differs_only_in_whitespace_is_the_same_turn(webhook):
    cid = call_conversation()
    page_stored(cid, HELLO, ("user", "  Run the\ttests\n please. ", RUN[2]), STARTED)

    answer = deliver(transcription()).json()

    assert (answer["imported"], answer["duplicates"]) == (0, 3)
    assert len(messages(cid)) == 3


def test_a_repeated_delivery_is_all_duplicates(webhook):
    cid = call_conversation()
    page_stored(cid, HELLO, STARTED)
    deliver(transcription())
    before = messages(cid)

    again = deliver(transcription()).json()

    assert (again["imported"], again["duplicates"]) == (0, 3)
    assert messages(cid) == before


def test_turns_of_one_call_never_match_another_call_s_messages(webhook):
    cid = call_conversation()
    # An earlier call in the same conversation, an hour before, with the same greeting.
    page_stored(cid, (HELLO[0], HELLO[1], "2025-11-27T11:00:00.400Z"))

    answer = deliver(transcription()).json()

    assert (answer["imported"], answer["duplicates"]) == (3, 0)
    stored = messages(cid)
    assert "elevenlabsTurn" not in stored[0]
    assert [m["content"] for m in stored] == [HELLO[1], HELLO[1], RUN[1], STARTED[1]]


def test_typed_messages_of_the_call_keep_their_place(webhook):
    cid = call_conversation()
    typed = {"role": "user", "content": "a link for you", "source": "text",
             "timestamp": "2025-11-27T12:00:04.000Z"}  # fmt: skip
    page_stored(cid, HELLO)
    APIClient().post(f"{API}/{cid}/message", typed, format="json")

    answer = deliver(transcription()).json()

    assert (answer["imported"], answer["duplicates"]) == (2, 1)
    assert [m["content"] for m in messages(cid)] == [HELLO[1], RUN[1], typed["content"], STARTED[1]]
