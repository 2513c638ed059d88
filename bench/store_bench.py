"""`make bench`: list-page and append cost against the real Redis, and Redis time at the caps.

Runs the whole request path in-process (Django + DRF + store) against REDIS_URL, by default
database 14 of the local Redis, which it flushes. Prints markdown tables.
"""

import statistics
import time
from collections.abc import Callable

import inprocess  # noqa: F401  (sets Django up: must come first)
from django.conf import settings
from redis.connection import Connection
from rest_framework.response import Response
from rest_framework.test import APIClient

from agent_conversations.store import (
    AgentMessage,
    conversation_ensure,
    live_channel,
    message_append,
)
from elevenlabs_agent.redis import redis_client

API = "/agent-conversations/api"
SAMPLES = 300
SIZES = (100, 10_000, 100_000)


class RoundTrips:
    """Counts what the client sends to Redis: one send is one round trip (a pipeline is one)."""

    count = 0
    _send = Connection.send_packed_command

    @classmethod
    def install(cls) -> None:
        def counting_send(self, command, check_health=True):
            cls.count += 1
            return cls._send(self, command, check_health)

        Connection.send_packed_command = counting_send


def median_ms(request: Callable[[], Response], samples: int = SAMPLES) -> float:
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        response = request()
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content  # never time an error
    return statistics.median(timings)


def per_request(request: Callable[[], object], samples: int = 50) -> tuple[float, float]:
    """(Redis commands, round trips) per request, from INFO commandstats and the send counter."""
    client = redis_client()
    request()  # warm: scripts loaded, connection open
    client.config_resetstat()
    RoundTrips.count = 0
    for _ in range(samples):
        request()
    stats = client.info("commandstats")
    commands = sum(v["calls"] for k, v in stats.items() if k != "cmdstat_config")
    # INFO itself was one more round trip, and its own call is counted after the reset.
    return (commands - 1) / samples, RoundTrips.count / samples


def populate(total: int, already: int) -> None:
    """Conversations of two agents, alternately (the filtered list pages one of them)."""
    for n in range(already, total):
        conversation_ensure(conversation_id=f"bench-{n:06d}", agent_id=f"agent-{n % 2}")


def fill(conversation_id: str, total: int, already: int) -> None:
    for n in range(already, total):
        message: AgentMessage = {
            "messageId": f"m{n}", "role": "user", "content": f"line {n}",
            "timestamp": "2026-11-27T12:00:00.000Z", "source": "voice",
        }  # fmt: skip
        message_append(conversation_id=conversation_id, message=message)


def main() -> None:
    RoundTrips.install()
    redis_client().flushdb()
    api = APIClient()
    list_page = lambda: api.get(f"{API}/list", {"limit": 20, "sortBy": "lastAccessedAt"})  # noqa: E731
    agent_page = lambda: api.get(f"{API}/list", {"limit": 20, "agentId": "agent-0"})  # noqa: E731
    rows: list[tuple[str, str]] = []

    stored = 0
    list_times, agent_times = {}, {}
    for size in SIZES:
        populate(size, stored)
        stored = size
        list_times[size] = median_ms(list_page)
        agent_times[size] = median_ms(agent_page)
        rows.append((f"list page (20) at {size:,} conversations", f"{list_times[size]:.3f} ms"))
        rows.append(
            (f"one agent's list page (20) at {size:,} conversations", f"{agent_times[size]:.3f} ms")
        )

    # Message pages of 50 from the middle of a conversation of 100 to 100,000 messages.
    caps = settings.CONVERSATION_MAX_MESSAGES, settings.CONVERSATION_MAX_BYTES
    settings.CONVERSATION_MAX_MESSAGES = settings.CONVERSATION_MAX_BYTES = 10**9
    long = api.post(f"{API}/new").json()["conversationId"]
    filled = 0
    page_times = {}
    for size in SIZES:
        fill(long, size, filled)
        filled = size
        middle = {"limit": 50, "after": f"m{size // 2}"}
        page_times[size] = median_ms(lambda: api.get(f"{API}/{long}/messages", middle))  # noqa: B023
        rows.append(
            (f"message page (50) in the middle of {size:,} messages", f"{page_times[size]:.3f} ms")
        )
    api.delete(f"{API}/{long}")
    settings.CONVERSATION_MAX_MESSAGES, settings.CONVERSATION_MAX_BYTES = caps

    cid = api.post(f"{API}/new").json()["conversationId"]
    n = 0

    def append() -> Response:
        nonlocal n
        n += 1
        return api.post(
            f"{API}/{cid}/message", {"role": "user", "content": f"line {n}"}, format="json"
        )

    # Median over the first 50 appends, then over the 50 ending at message 2,000.
    early = median_ms(append, samples=50)
    while n < 1950:
        append()
    late = median_ms(append, samples=50)
    rows.append(("append, messages 1-50", f"{early:.3f} ms"))
    rows.append(("append, messages 1,951-2,000", f"{late:.3f} ms"))

    cid = api.post(f"{API}/new").json()["conversationId"]  # room for the appends counted below
    small = api.post(f"{API}/new").json()["conversationId"]
    for k in range(20):
        api.post(f"{API}/{small}/message", {"role": "user", "content": f"m{k}"}, format="json")
    for name, request in (
        ("get (20 messages)", lambda: api.get(f"{API}/{small}")),
        ("list page (20)", list_page),
        ("append", append),
    ):
        commands, trips = per_request(request)
        rows.append((f"{name}: Redis commands / round trips", f"{commands:.1f} / {trips:.1f}"))

    ratio_list = list_times[SIZES[-1]] / list_times[SIZES[0]]
    rows.append(
        (f"list at {SIZES[-1]:,} / list at {SIZES[0]:,}", f"{ratio_list:.2f}x (target <= 1.5x)")
    )
    ratio_agent = agent_times[SIZES[-1]] / agent_times[SIZES[0]]
    rows.append(
        (f"agent list at {SIZES[-1]:,} / at {SIZES[0]:,}", f"{ratio_agent:.2f}x (target <= 1.5x)")
    )
    ratio_pages = page_times[SIZES[-1]] / page_times[SIZES[0]]
    rows.append(
        (f"message page at {SIZES[-1]:,} / at {SIZES[0]:,}", f"{ratio_pages:.2f}x (target <= 1.5x)")
    )
    rows.append(("append at 2,000 / append at 1", f"{late / early:.2f}x (target <= 1.5x)"))

    print(f"| measure (median of {SAMPLES} requests; appends: of 50) | result |")
    print("| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    redis_client().flushdb()
    at_the_caps(api)
    redis_client().flushdb()


FULL_CONVERSATIONS = 100


def at_the_caps(api: APIClient) -> None:
    """The longest any Redis call runs when conversations are as large as the caps allow."""
    client = redis_client()
    line = "x" * 400  # 2,000 of these messages come close to both caps at once
    print(f"\nfilling {FULL_CONVERSATIONS} conversations to the caps ...", flush=True)
    ids = [f"full-{n:03d}" for n in range(FULL_CONVERSATIONS)]
    for cid in ids:
        conversation_ensure(conversation_id=cid)
        room = settings.CONVERSATION_MAX_MESSAGES - (cid == ids[1])  # ids[1]: one short
        for m in range(room):
            message = {"messageId": f"{cid}-{m}", "role": "user", "content": line,
                       "timestamp": "2026-11-23T12:00:00.000Z", "source": "voice"}  # fmt: skip
            if message_append(conversation_id=cid, message=message).full:  # type: ignore[union-attr,arg-type]
                break
    sizes = [int(client.hget(f"elevenlabs:conversation:{cid}", "storedBytes")) for cid in ids]

    watcher = client.pubsub()  # a subscriber, so that appends build their live-update frame
    watcher.subscribe(live_channel(ids[0]))
    client.config_set("slowlog-log-slower-than", 0)  # log every call, to find the longest
    client.config_set("slowlog-max-len", 100_000)
    client.slowlog_reset()
    outcomes = {
        "GET a full conversation": api.get(f"{API}/{ids[0]}").status_code,
        f"list page of {FULL_CONVERSATIONS} full conversations": api.get(
            f"{API}/list", {"limit": FULL_CONVERSATIONS}
        ).status_code,
        "append to a full conversation (refused)": api.post(
            f"{API}/{ids[0]}/message", {"role": "user", "content": "more"}, format="json"
        ).status_code,
    }
    watcher.subscribe(live_channel(ids[1]))
    outcomes["append to a nearly full, watched conversation"] = api.post(
        f"{API}/{ids[1]}/message", {"role": "user", "content": "last"}, format="json"
    ).status_code
    entries = client.slowlog_get(100_000)
    client.config_set("slowlog-log-slower-than", 10_000)
    client.config_set("slowlog-max-len", 128)
    watcher.close()
    longest = max(entries, key=lambda entry: entry["duration"])
    over = sum(entry["duration"] > 50_000 for entry in entries)

    print(f"\n| at the caps ({settings.CONVERSATION_MAX_MESSAGES:,} messages, "
          f"{settings.CONVERSATION_MAX_BYTES:,} bytes; conversations of "
          f"{min(sizes):,} to {max(sizes):,} bytes) | result |")  # fmt: skip
    print("| --- | --- |")
    for name, status in outcomes.items():
        print(f"| {name} | HTTP {status} |")
    print(f"| Redis calls logged (SLOWLOG, every call) | {len(entries):,} |")
    print(f"| longest Redis call | {longest['duration'] / 1000:.1f} ms "
          f"({longest['command'].split()[0].decode()}) |")  # fmt: skip
    print(f"| Redis calls over 50 ms | {over} |")


if __name__ == "__main__":
    main()
