"""Sentinel failover: a primary, a replica and a sentinel on spare ports; the primary dies."""

import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.redis_servers import RedisServer
from tests.serve_process import Server
from tests.support import API, spare_port, wait_until

SERVICE = "agent-primary"


@pytest.fixture
def sentinel_cluster(tmp_path, settings):
    primary_dir, replica_dir, sentinel_dir = (tmp_path / d for d in ("p", "r", "s"))
    for folder in (primary_dir, replica_dir, sentinel_dir):
        folder.mkdir()
    common = ("--save", "", "--appendonly", "no")
    primary = RedisServer(primary_dir, spare_port(), *common).start()
    replica = RedisServer(
        replica_dir, spare_port(), *common, "--replicaof", "127.0.0.1", str(primary.port)
    ).start()
    sentinel = RedisServer(
        sentinel_dir,
        spare_port(),
        "--sentinel",
        config=(
            f"sentinel monitor {SERVICE} 127.0.0.1 {primary.port} 1\n"
            f"sentinel down-after-milliseconds {SERVICE} 500\n"
            f"sentinel failover-timeout {SERVICE} 5000\n"
        ),
    ).start()

    def sentinel_sees_the_replica() -> bool:
        return bool(sentinel.client().execute_command("SENTINEL", "REPLICAS", SERVICE))

    wait_until(sentinel_sees_the_replica, timeout=15, what="the sentinel to find the replica")

    from elevenlabs_agent.settings import redis_cache_settings

    settings.CACHES = {
        "default": redis_cache_settings(
            f"redis://{SERVICE}/0", sentinels=[f"127.0.0.1:{sentinel.port}"]
        )
    }
    yield primary, replica, sentinel
    for server in (sentinel, replica, primary):
        server.kill()


def test_writes_resume_after_failover_and_no_acknowledged_write_is_lost(api, sentinel_cluster):
    primary, replica, _ = sentinel_cluster
    cid = api.post(f"{API}/new").json()["conversationId"]
    acknowledged: list[str] = []

    def append(n: int) -> int:
        body = {"role": "user", "content": f"m{n}", "messageId": f"m{n}"}
        status = api.post(f"{API}/{cid}/message", body, format="json").status_code
        if status == 200:
            acknowledged.append(f"m{n}")
        return status

    for n in range(20):
        assert append(n) == 200
    # Replication has caught up: the replica confirms every write so far.
    assert primary.client().execute_command("WAIT", 1, 2000) == 1
    primary.kill()

    statuses, n, deadline = [], 20, time.monotonic() + 30
    while time.monotonic() < deadline:
        statuses.append(append(n))
        n += 1
        if statuses[-3:] == [200, 200, 200]:
            break
        time.sleep(0.1)

    assert statuses[-3:] == [200, 200, 200], f"writes did not resume: {statuses}"
    assert set(statuses) <= {200, 503}  # during the failover: the contract's 503, never a 500
    assert replica.client().info("replication")["role"] == "master"
    stored = [m["messageId"] for m in api.get(f"{API}/{cid}").json()["messages"]]
    assert stored == acknowledged


# --- Replica confirmation under `make serve`: what a 200 promises when the primary dies --------


@pytest.fixture
def replicated(tmp_path) -> Iterator[dict[str, Any]]:
    """A primary, its replica and three sentinels (quorum 2) on spare ports."""
    primary = RedisServer(tmp_path, spare_port(), "--save", "", "--appendonly", "no").start()
    replica = RedisServer(
        tmp_path, spare_port(), "--save", "", "--appendonly", "no",
        "--replicaof", "127.0.0.1", str(primary.port),
    ).start()  # fmt: skip
    sentinels = [
        RedisServer(
            tmp_path, spare_port(), "--sentinel",
            config=(
                f"sentinel monitor {SERVICE} 127.0.0.1 {primary.port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 500\n"
                f"sentinel failover-timeout {SERVICE} 5000\n"
            ),
        ).start()
        for _ in range(3)
    ]  # fmt: skip
    wait_until(
        lambda: all(s.client().execute_command("SENTINEL", "REPLICAS", SERVICE) for s in sentinels),
        timeout=15, what="the sentinels to find the replica",
    )  # fmt: skip
    wait_until(lambda: replica.client().info("replication")["master_link_status"] == "up",
               timeout=15, what="the replica's first sync")  # fmt: skip
    yield {"primary": primary, "replica": replica, "sentinels": sentinels}
    for server in [*sentinels, replica, primary]:
        server.process.send_signal(signal.SIGCONT)  # a test that failed while it was paused
        server.kill()


def kill_the_primary_while_its_replica_lags(replicated, write_replicas: int) -> dict[str, Any]:
    """`make serve` on the sentinels; ten appends; ten more while replication is stalled; the
    primary killed with what it had not sent, and the replica promoted; the old primary back as
    a replica; every append that was not answered 200 retried with its messageId. What was
    acknowledged, refused and finally stored."""
    primary, replica = replicated["primary"], replicated["replica"]
    service = Server(
        2,
        REDIS_URL="",
        REDIS_SENTINELS=",".join(f"127.0.0.1:{s.port}" for s in replicated["sentinels"]),
        REDIS_SENTINEL_SERVICE=SERVICE,
        REDIS_WRITE_REPLICAS=str(write_replicas),
    )
    try:
        created = service.call("POST", f"{API}/new")
        assert created.status == 200, created
        cid = created.body["conversationId"]

        def append(n: int) -> int:
            body = {"role": "user", "content": f"m{n}", "messageId": f"m{n}"}
            return service.call("POST", f"{API}/{cid}/message", body).status

        answers = {n: append(n) for n in range(10)}
        # Replication stalls: the replica paused, and its link cut so that nothing more reaches
        # it (a paused process's kernel would otherwise keep receiving for it).
        replica.process.send_signal(signal.SIGSTOP)
        primary.client().client_kill_filter(_type="replica")
        answers |= {n: append(n) for n in range(10, 20)}
        reads_while_paused = service.call("GET", f"{API}/{cid}").status
        primary.kill()
        replica.process.send_signal(signal.SIGCONT)
        wait_until(lambda: replica.client().info("replication")["role"] == "master",
                   timeout=30, what="the replica's promotion")  # fmt: skip
        primary.start()  # the sentinels make it a replica of the new primary
        wait_until(lambda: replica.client().info("replication")["connected_slaves"] >= 1,
                   timeout=30, what="the old primary to follow the new one")  # fmt: skip
        retried = {}
        for n in (n for n, status in answers.items() if status != 200):
            wait_until(lambda n=n: append(n) == 200, timeout=10, what=f"a 200 for m{n}")
            retried[n] = 200
        stored = [m["messageId"] for m in service.call("GET", f"{API}/{cid}").body["messages"]]
    finally:
        service.stop()
    acknowledged = [f"m{n}" for n, status in answers.items() if status == 200]
    return {
        "acknowledged": acknowledged,
        "refused": [f"m{n}" for n in retried],
        "missing": [m for m in acknowledged if m not in stored],
        "stored": stored,
        "reads_while_paused": reads_while_paused,
    }


def test_with_one_confirming_replica_no_acknowledged_append_is_lost(replicated):
    outcome = kill_the_primary_while_its_replica_lags(replicated, write_replicas=1)

    assert outcome["acknowledged"] == [f"m{n}" for n in range(10)]
    assert outcome["refused"] == [f"m{n}" for n in range(10, 20)]  # 503: not confirmed
    assert outcome["missing"] == []
    assert sorted(outcome["stored"]) == sorted(f"m{n}" for n in range(20))  # each once
    assert outcome["reads_while_paused"] == 200


def test_without_confirmation_the_appends_the_replica_missed_are_lost(replicated):
    """Today's window, made wide: what the primary acknowledged while its replica lagged."""
    outcome = kill_the_primary_while_its_replica_lags(replicated, write_replicas=0)

    assert outcome["acknowledged"] == [f"m{n}" for n in range(20)]
    assert outcome["missing"] == [f"m{n}" for n in range(10, 20)]
