"""Cluster mode under `make serve` while the cluster changes: slots moving between primaries,
and a primary killed and replaced by its replica. Nothing acknowledged may be lost, nothing
stored twice, and every conversation stays listed exactly once."""

import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from redis.crc import key_slot
from rest_framework.test import APIClient

from agent_conversations import store
from elevenlabs_agent import redis as redis_module
from elevenlabs_agent.errors import StoreUnavailable
from tests.conftest import use_redis
from tests.redis_servers import LocalCluster
from tests.serve_process import Server
from tests.support import API, require_program, wait_until

CONVERSATIONS = 24
APPENDERS = 6


@pytest.fixture
def three_primaries(tmp_path) -> Iterator[LocalCluster]:
    cluster = LocalCluster(tmp_path, primaries=3).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def three_primaries_with_replicas(tmp_path) -> Iterator[LocalCluster]:
    cluster = LocalCluster(tmp_path, primaries=3, replicas=1).start()
    yield cluster
    cluster.stop()


class Appends:
    """Threads appending messages to the conversations round-robin, each message retried with
    its messageId until it is answered 200; what was acknowledged, and every status seen."""

    def __init__(self, service: Server, conversations: list[str]) -> None:
        self.service, self.conversations = service, conversations
        self.acknowledged: dict[str, list[str]] = {cid: [] for cid in conversations}
        self.statuses: list[int] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._append, args=(n,), daemon=True) for n in range(APPENDERS)
        ]

    def __enter__(self) -> "Appends":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _append(self, appender: int) -> None:
        n = 0
        while not self.stopping.is_set():
            cid = self.conversations[(appender + n * APPENDERS) % len(self.conversations)]
            message_id = f"a{appender}-{n}"
            body = {"role": "user", "content": message_id, "messageId": message_id}
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                answer = self.service.call("POST", f"{API}/{cid}/message", body)
                with self._lock:
                    self.statuses.append(answer.status)
                if answer.status == 200:
                    with self._lock:
                        self.acknowledged[cid].append(message_id)
                    break
                time.sleep(0.05)
            n += 1

    @property
    def count(self) -> int:
        with self._lock:
            return sum(map(len, self.acknowledged.values()))


def serve_on(cluster: LocalCluster, **settings: str) -> Server:
    return Server(2, REDIS_URL="", REDIS_CLUSTER_NODES=cluster.nodes, **settings)


def create_conversations(service: Server) -> list[str]:
    """CONVERSATIONS conversations, every other one of agent `agent-a`."""
    created = []
    for n in range(CONVERSATIONS):
        body = {"agentId": "agent-a"} if n % 2 else {}
        answer = service.call("POST", f"{API}/new", body)
        assert answer.status == 200, answer
        created.append(answer.body["conversationId"])
    return created


def listed(service: Server, query: str = "") -> list[str]:
    """Every conversation id of the list, page by page (limit 5: pages cross the shards)."""
    ids: list[str] = []
    while True:
        answer = service.call(
            "GET", f"{API}/list?limit=5&offset={len(ids)}&sortBy=createdAt{query}"
        )
        assert answer.status == 200, answer
        ids += [c["conversationId"] for c in answer.body["conversations"]]
        if not answer.body["pagination"]["hasMore"]:
            return ids


def assert_nothing_lost(service: Server, appends: Appends, created: list[str]) -> None:
    assert appends.count > 100, "too few appends to prove anything"
    assert set(appends.statuses) <= {200, 503}, "a change of the cluster is a 503, never a 500"
    for cid in created:
        answer = service.call("GET", f"{API}/{cid}")
        assert answer.status == 200, answer
        stored = [m["messageId"] for m in answer.body["messages"]]
        assert len(stored) == len(set(stored)), "a message stored twice"
        assert set(appends.acknowledged[cid]) <= set(stored), "an acknowledged append lost"
        assert answer.body["messageCount"] == len(stored)
    assert sorted(listed(service)) == sorted(created)
    assert sorted(listed(service, "&agentId=agent-a")) == sorted(created[1::2])


def node_id(cluster: LocalCluster, n: int) -> str:
    return cluster.servers[n].client().execute_command("CLUSTER", "MYID").decode()


def test_slots_moving_between_primaries_lose_no_acknowledged_append(three_primaries):
    cluster = three_primaries
    service = serve_on(cluster)
    try:
        created = create_conversations(service)
        with Appends(service, created) as appends:
            wait_until(lambda: appends.count > 50, timeout=30, what="appends under way")
            # Half of the first primary's slots to the second, then half of the second's to
            # the third: every shard of those ranges moves, keys and all, under the appends.
            for source, target in ((0, 1), (1, 2)):
                subprocess.run(
                    [require_program("redis-cli", "apt-get install redis-tools"),
                     "--cluster", "reshard", f"127.0.0.1:{cluster.servers[0].port}",
                     "--cluster-from", node_id(cluster, source),
                     "--cluster-to", node_id(cluster, target),
                     "--cluster-slots", "2730", "--cluster-pipeline", "1", "--cluster-yes"],
                    check=True, stdout=subprocess.DEVNULL, timeout=120,
                )  # fmt: skip
            moved_at = appends.count
            wait_until(lambda: appends.count > moved_at + 50, timeout=30, what="appends after")
        assert_nothing_lost(service, appends, created)
    finally:
        service.stop()


def test_a_killed_primary_replaced_by_its_replica_loses_no_acknowledged_append(
    three_primaries_with_replicas,
):
    cluster = three_primaries_with_replicas
    # Each write is confirmed by a replica before its 200 (REDIS_WRITE_REPLICAS).
    service = serve_on(cluster, REDIS_WRITE_REPLICAS="1")
    try:
        created = create_conversations(service)
        with Appends(service, created) as appends:
            wait_until(lambda: appends.count > 50, timeout=30, what="appends under way")
            victim = next(
                server for server in cluster.servers
                if server.client().info("replication")["role"] == "master"
            )  # fmt: skip
            victim.kill()
            survivors = [server for server in cluster.servers if server is not victim]

            def replaced() -> bool:
                roles = [server.client().info("replication")["role"] for server in survivors]
                return roles.count("master") == 3 and all(
                    b"cluster_state:ok" in server.client().execute_command("CLUSTER", "INFO")
                    for server in survivors
                )

            wait_until(replaced, timeout=30, what="a replica promoted")
            # The promoted primary has no replica to confirm its writes (they are refused, 503)
            # until the old primary is back: it rejoins as its replica.
            victim.start()
            promoted_at = appends.count
            wait_until(lambda: appends.count > promoted_at + 50, timeout=30, what="appends after")
        assert_nothing_lost(service, appends, created)
    finally:
        service.stop()


# --- One slot caught half moved, in the store itself ------------------------------------------


def test_a_write_to_a_half_moved_shard_writes_all_or_nothing(three_primaries, settings):
    """A slot whose keys are partly on the next primary (as `reshard` leaves it between two
    MIGRATE batches): a write there is refused whole (503, nothing written), and once the slot
    has moved it is stored, once, with its indexes."""
    cluster = three_primaries
    use_redis(settings, "", cluster_nodes=cluster.nodes.split(","))
    conversation_id = store.conversation_create(agent_id="agent-a")["conversationId"]
    # Every key the script declares exists here, so Redis runs it here (else it would redirect
    # the script to the next primary, which asks it to try again until the slot has moved).
    store.conversation_ensure(conversation_id=conversation_id, elevenlabs_id="call-1")
    store.conversation_watched(conversation_id=conversation_id)
    store.message_append(conversation_id=conversation_id, message=a_message("m1"))
    key = store.conversation_key(conversation_id)
    slot = key_slot(key.encode())
    source = owner_of(cluster, slot)
    target = next(server for server in cluster.servers if server is not source)
    source_id, target_id = (s.client().execute_command("CLUSTER", "MYID") for s in (source, target))
    target.client().execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
    source.client().execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
    keys = source.client().execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1000)
    agent_keys = [k for k in keys if b":agent:" in k]  # derived, not declared, by the scripts
    migrate(source, target, agent_keys)

    with pytest.raises(StoreUnavailable):
        store.message_append(conversation_id=conversation_id, message=a_message("m2"))
    assert source.client().llen(store.messages_key(conversation_id)) == 1  # nothing written

    migrate(source, target, [k for k in keys if k not in agent_keys])
    for server in cluster.servers:
        server.client().execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
    appended = store.message_append(conversation_id=conversation_id, message=a_message("m2"))

    assert appended is not None
    assert appended.message_count == 2
    page = store.conversation_list(
        limit=10, offset=0, sort_by="messageCount", sort_order="desc", agent_id="agent-a"
    )
    assert [(c["conversationId"], c["messageCount"]) for c in page.conversations.decoded()] == [
        (conversation_id, 2)
    ]


def a_message(message_id: str) -> dict:
    return {"messageId": message_id, "role": "user", "content": message_id,
            "timestamp": "2026-12-04T08:00:00.000Z", "source": "text"}  # fmt: skip


def owner_of(cluster: LocalCluster, slot: int):
    slots = cluster.servers[0].client().execute_command("CLUSTER", "SLOTS")
    port = next(int(r[2][1]) for r in slots if r[0] <= slot <= r[1])
    return next(server for server in cluster.servers if server.port == port)


def migrate(source, target, keys: list[bytes]) -> None:
    for key in keys:
        source.client().execute_command("MIGRATE", "127.0.0.1", target.port, key, 0, 5000)


def test_config_reports_the_durability_of_the_weakest_primary(
    three_primaries_with_replicas, settings
):
    cluster = three_primaries_with_replicas
    use_redis(settings, "", cluster_nodes=cluster.nodes.split(","))
    replica = next(s for s in cluster.servers if s.client().info("replication")["role"] == "slave")

    before = APIClient().get("/config").json()["config"]["durability"]
    replica.kill()  # one primary is left without its replica
    wait_until(
        lambda: min(
            s.client().info("replication")["connected_slaves"]
            for s in cluster.servers
            if s is not replica and s.client().info("replication")["role"] == "master"
        ) == 0,
        timeout=10, what="its primary to see the replica gone",
    )  # fmt: skip
    redis_module._durability_read = None  # as 5 s later
    after = APIClient().get("/config").json()["config"]["durability"]

    assert before["replicasConnected"] == 1
    assert after["replicasConnected"] == 0
    assert after["appendOnly"] is False
    assert after["snapshots"] is False
