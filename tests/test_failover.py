"""Sentinel failover: a primary, a replica and a sentinel on spare ports; the primary dies."""

import time

import pytest

from tests.redis_servers import RedisServer
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
