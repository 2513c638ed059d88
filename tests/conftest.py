import socket
from collections.abc import Callable, Iterator

import pytest
import redis
from rest_framework.test import APIClient

from elevenlabs_agent.redis import redis_client
from elevenlabs_agent.settings import channel_layer_settings, redis_cache_settings
from tests.fake_http import FakeHTTP, serve_fake_http
from tests.redis_servers import LocalCluster, require_redis_server
from tests.serve_process import Server
from tests.support import IN_CI, REAL_REDIS_URL

FAKE_REDIS_URL = "redis://fakeredis-tests:6379/0"


_checked_empty = False


def require_real_redis() -> None:
    """Skip (locally) or fail (in CI) when the real Redis is not answering.

    The tests flush their database around each test, so the first time in a run they refuse
    a database that already holds keys: those are someone's data, or a crashed run's leftovers
    (then `redis-cli -n 15 FLUSHDB` once).
    """
    global _checked_empty
    try:
        client = redis.Redis.from_url(REAL_REDIS_URL, socket_connect_timeout=0.5)
        keys = client.dbsize()
    except redis.RedisError as exc:
        reason = (
            f"real Redis at {REAL_REDIS_URL} is unreachable ({exc}); start it with `make redis`"
        )
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    if not _checked_empty and keys:
        pytest.exit(
            f"{REAL_REDIS_URL} holds {keys} keys and the tests flush it: empty it if they are "
            "leftovers of a test run, or point TEST_REDIS_URL at an empty database",
            returncode=3,
        )
    _checked_empty = True


def use_redis(
    settings, url: str, *, embedded: bool = False, cluster_nodes: list[str] | None = None
) -> redis.Redis:
    """Point the service's store (and its live updates) at `url`, or at a cluster, for this
    test; return the raw client to inspect it (a RedisCluster for a cluster)."""
    settings.REDIS_CLUSTER_NODES = cluster_nodes or []
    settings.REDIS_EMBEDDED = embedded  # as the settings derive it from REDIS_URL
    settings.CACHES = {
        "default": redis_cache_settings(url, embedded=embedded, cluster_nodes=cluster_nodes)
    }
    settings.CHANNEL_LAYERS = channel_layer_settings(
        url, embedded=embedded, cluster_nodes=cluster_nodes
    )
    return redis_client()


class ClusterInspector(redis.RedisCluster):
    """A test's view of a cluster: KEYS and SCAN cover every primary (redis-py asks one)."""

    def keys(self, pattern="*", **kwargs):
        return super().keys(pattern, target_nodes=self.PRIMARIES, **kwargs)

    def scan_iter(self, match=None, count=None, _type=None, **kwargs):
        for node in self.get_primaries():
            yield from self.get_redis_connection(node).scan_iter(match=match, count=count)


@pytest.fixture(scope="session")
def local_cluster(tmp_path_factory) -> Iterator[LocalCluster]:
    """A Redis Cluster of three primaries on spare ports, for the whole test run."""
    require_redis_server()
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["fakeredis", "redis", "cluster"])
def redis_db(request, settings) -> Iterator[redis.Redis]:
    """The store on fakeredis, on the real Redis (its own db, flushed around each test), and on
    a local Redis Cluster (flushed around each test)."""
    if request.param == "redis":
        require_real_redis()
        client = use_redis(settings, REAL_REDIS_URL)
    elif request.param == "cluster":
        cluster = request.getfixturevalue("local_cluster")
        use_redis(settings, "", cluster_nodes=cluster.nodes.split(","))
        client = ClusterInspector(host="127.0.0.1", port=cluster.servers[0].port)
    else:
        client = use_redis(settings, FAKE_REDIS_URL, embedded=True)
    client.flushdb()
    yield client
    client.flushdb()
    if isinstance(client, ClusterInspector):
        client.close()  # the test's own client (the others are the service's)


@pytest.fixture
def real_redis_db(settings) -> Iterator[redis.Redis]:
    """The real Redis only, for behaviour fakeredis cannot prove (threads, timing)."""
    require_real_redis()
    client = use_redis(settings, REAL_REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def redis_down(settings) -> str:
    """Point the store at a loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    use_redis(settings, url)
    return url


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def fake_http() -> Iterator[FakeHTTP]:
    """A local HTTP server the test scripts (a fake ElevenLabs API, a fake cursor-runner)."""
    yield from serve_fake_http()


@pytest.fixture
def serve(real_redis_db) -> Iterator[Callable[..., Server]]:
    """Start `make serve` (workers, settings as environment variables) on the real Redis;
    every server started is stopped after the test."""
    started: list[Server] = []

    def start(workers: int, **settings: str) -> Server:
        server = Server(workers, **settings)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


WEBHOOK_SECRET = "webhook-secret-1"
RUNNER_SECRET = "runner-secret-1"


@pytest.fixture
def runner(settings, redis_db, fake_http) -> FakeHTTP:
    """A fake cursor-runner that accepts every task; the service configured for callbacks."""
    settings.WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.CURSOR_RUNNER_URL = fake_http.url
    settings.CURSOR_RUNNER_SECRET = RUNNER_SECRET
    settings.CURSOR_RUNNER_TIMEOUT_SECONDS = 0.5
    fake_http.answer(200, '{"success": true, "queued": true}')
    return fake_http
