"""The one place a Redis client is obtained, where driver errors become StoreUnavailable, and
where an outage is noticed once (the breaker) rather than once per request."""

import contextlib
import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ParamSpec, Required, TypedDict, TypeVar

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django_redis import get_redis_connection
from django_redis.exceptions import ConnectionInterrupted
from django_redis.pool import ConnectionFactory
from django_redis.serializers.base import BaseSerializer
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

from elevenlabs_agent import cluster, metrics
from elevenlabs_agent.encoding import dumps, loads
from elevenlabs_agent.errors import StoreUnavailable, WriteNotConfirmed

P = ParamSpec("P")
R = TypeVar("R")

# What means "storage unavailable" (a 503, retry later): the server unreachable or too slow,
# out of memory, or read-only (a demoted primary). django-redis wraps its own calls' failures
# in ConnectionInterrupted.
OUTAGE_ERRORS = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.ClusterDownError,  # a cluster missing a primary (failover under way)
    redis.exceptions.TryAgainError,  # a cluster's slot still moving (cluster.routed)
    redis.exceptions.RedisClusterException,  # no node of REDIS_CLUSTER_NODES answers
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
    ConnectionInterrupted,
)
# Of those, the ones that say Redis cannot be reached at all: they open the breaker. (Out of
# memory and read-only are answers: Redis is up, and other calls may well work.)
UNREACHABLE_ERRORS = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.RedisClusterException,
)
# While the breaker is open, a probe PINGs Redis this often (recovery is seen within 1 s).
PROBE_INTERVAL_SECONDS = 0.2
# A store call slower than this marks Redis as slow for SLOW_FOR_SECONDS: meanwhile requests
# run on threads (asgi_http.py), so that their waits overlap and hold up no other request,
# socket or probe of the worker. Healthy calls take well under a millisecond. At 5 ms, calls
# that waited for a CPU on a saturated machine switched workers to threads and back all the
# time, and cost fast routes up to 16% (docs/performance.md); 20 ms measured no cost.
SLOW_CALL_SECONDS = 0.02
SLOW_FOR_SECONDS = 1.0

logger = logging.getLogger(__name__)


class Breaker:
    """Fails store calls at once while Redis cannot be reached, instead of one timeout each.

    A call that cannot reach Redis (refused, dropped, timed out) opens the breaker; while it is
    open every store call raises StoreUnavailable without touching Redis, and one probe thread
    PINGs Redis until it answers, which closes it. One WARNING as an outage starts, one as it
    ends.
    """

    def __init__(self) -> None:
        self.open_since: float | None = None
        self.slow_until = 0.0
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self.open_since is not None

    @property
    def is_slow(self) -> bool:
        """Whether a recent call was slow (see SLOW_CALL_SECONDS)."""
        return self.slow_until > time.monotonic()

    def took(self, seconds: float) -> None:
        metrics.REDIS_CALL_SECONDS.observe(seconds)
        if seconds > SLOW_CALL_SECONDS:
            self.slow_until = time.monotonic() + SLOW_FOR_SECONDS

    def failed(self, exc: BaseException) -> None:
        """A call failed with one of OUTAGE_ERRORS: open when it says Redis is unreachable."""
        if not _is_unreachable(exc):
            metrics.REDIS_FAILURES.labels("refused").inc()
            return
        metrics.REDIS_FAILURES.labels("unreachable").inc()
        with self._lock:
            if self.open_since is not None:
                return
            self.open_since = time.monotonic()
        metrics.REDIS_OUTAGES.inc()
        metrics.REDIS_UP.set(0)
        logger.warning("Redis is unavailable (%s); answering 503 until it is back", exc)
        threading.Thread(target=self._probe, name="redis-probe", daemon=True).start()

    def close(self) -> None:
        with self._lock:
            since, self.open_since = self.open_since, None
        if since is not None:
            metrics.REDIS_UP.set(1)
            logger.warning("Redis is back after %.1f s", time.monotonic() - since)

    def reset(self) -> None:
        """Forget what was seen of the store (another store is configured)."""
        self.open_since, self.slow_until = None, 0.0
        metrics.REDIS_UP.set(1)

    def _probe(self) -> None:
        while self.is_open:
            time.sleep(PROBE_INTERVAL_SECONDS)
            try:
                client = redis_client()
                if isinstance(client, RedisCluster):
                    cluster.ping_primaries(client)  # each shard is someone's conversations
                else:
                    client.ping()
            except Exception:  # still down (or a client being rebuilt): probe again
                continue
            self.close()


def _is_unreachable(exc: BaseException) -> bool:
    """Whether `exc` (or the driver error django-redis wrapped in it) means Redis is out of
    reach, rather than an answer refusing this one call."""
    if isinstance(exc, ConnectionInterrupted):
        exc = exc.__cause__ or exc
    return isinstance(exc, UNREACHABLE_ERRORS)


breaker = Breaker()


def key_as_named(key: str, key_prefix: str, version: int) -> str:
    """django-redis KEY_FUNCTION that keeps the contract's key names (no `:1:` prefix)."""
    return key


class JSONSerializer(BaseSerializer):
    """django-redis serializer writing the service's JSON (readable UTF-8, never pickle)."""

    def dumps(self, value: Any) -> bytes:
        return dumps(value)

    def loads(self, value: bytes) -> Any:
        return loads(value)


class ClusterConnectionFactory(ConnectionFactory):
    """django-redis's connections to a Redis Cluster: LOCATION is
    `redis-cluster://host:port,host:port` (settings.redis_cache_settings), and one
    RedisCluster per process serves every cache client (it keeps the slot map and a pool per
    node)."""

    _clusters: dict[str, RedisCluster] = {}

    def connect(self, url: str) -> RedisCluster:
        client = self._clusters.get(url)
        if client is None:
            nodes = url.removeprefix("redis-cluster://").split(",")
            client = RedisCluster(
                startup_nodes=[ClusterNode(*node.rsplit(":", 1)) for node in nodes],
                socket_timeout=self.options["SOCKET_TIMEOUT"],
                socket_connect_timeout=self.options["SOCKET_CONNECT_TIMEOUT"],
                # The hot routes' redirections are followed by cluster.routed; redis-py's own
                # (for the few plain commands) get one retry, without the sleeps that would
                # hold a worker's event loop.
                retry=Retry(NoBackoff(), 1),
            )
            self._clusters[url] = client
        return client

    def disconnect(self, connection: Any) -> None:
        """Kept open: the one cluster client of the process serves every cache client."""


_client: redis.Redis | None = None


def redis_client() -> redis.Redis:
    """The pooled client behind the default cache, for anything compound (pipelines, Lua);
    a RedisCluster in cluster mode (typed as Redis: it takes the same single-key commands).

    One per process: Django keeps a cache backend per thread and per asyncio task, so under
    the ASGI server every request would otherwise build a new client (the connection pool
    is shared either way; building the client cost a tenth of a request).
    """
    global _client
    if _client is None:
        _client = get_redis_connection("default")
    return _client


@receiver(setting_changed)
def _forget_client(setting: str, **kwargs: Any) -> None:
    """Tests point CACHES elsewhere: the next call builds a client for the new store, whose
    health nothing is known of yet."""
    global _client, _durability_read
    if setting == "CACHES":
        _client = _durability_read = None
        breaker.reset()


def store_operation(func: Callable[P, R]) -> Callable[P, R]:
    """Translate Redis outages raised inside a store function into StoreUnavailable, and fail
    at once while the breaker is open."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if breaker.open_since is not None:
            raise StoreUnavailable
        started = time.monotonic()
        try:
            result = func(*args, **kwargs)
        except OUTAGE_ERRORS as exc:
            breaker.failed(exc)
            raise StoreUnavailable from exc
        breaker.took(time.monotonic() - started)
        return result

    return wrapper


@store_operation
def redis_ping() -> None:
    """Raise StoreUnavailable unless Redis answers a PING."""
    redis_client().ping()


def commands(*calls: tuple[Any, ...], last_within: float | None = None) -> list[Any]:
    """Several commands in one round trip (no transaction), their raw replies in order.

    The path to Redis of the hot routes: straight to a pooled connection, without redis-py's
    client path (retry wrapper, metrics hooks, reply callbacks, pipeline objects: 70-85 µs of
    CPU per call in a loop of calls, against 28 µs for a bare socket). Its rules are kept: a
    connection that breaks is retried once on a fresh one (Redis may have closed it while it
    was pooled), a timeout is not (a frozen Redis costs one timeout), and an error reply raises
    (the first one, once every reply has been read, so the connection goes back clean).
    Replies are not decoded (bytes, ints, lists); callers read them as the commands define.
    In cluster mode the calls name keys of one slot, and go to its primary (cluster.routed).
    `last_within`: the last command blocks (WAIT), and its reply may take that many seconds
    before the socket timeout starts to count.
    """
    client = redis_client()
    if isinstance(client, RedisCluster):
        return _raise_first_error(cluster.routed(client, calls, last_within, _send))
    return _raise_first_error(_send(client.connection_pool, calls, last_within))


def _raise_first_error(replies: list[Any]) -> list[Any]:
    for reply in replies:
        if isinstance(reply, redis.ResponseError):
            raise reply
    return replies


def scatter(*calls: tuple[Any, ...]) -> list[Any]:
    """Independent reads in as few round trips as possible, their raw replies in order (the
    first error reply raised): one round trip, or in cluster mode one per primary holding
    their keys (each command's keys in one slot, any slot). In cluster mode a command whose
    reply was lost is sent again: reads only."""
    client = redis_client()
    if not isinstance(client, RedisCluster):
        return commands(*calls)
    return _raise_first_error(cluster.scattered(client, calls, _send, _reply))


def load_everywhere(source: bytes) -> None:
    """SCRIPT LOAD on the Redis, or on every primary of a cluster."""
    client = redis_client()
    if not isinstance(client, RedisCluster):
        commands(("SCRIPT", "LOAD", source))
        return
    for node in client.get_primaries():
        client.get_redis_connection(node).script_load(source)


def cluster_mode() -> bool:
    """Whether the store is a Redis Cluster (REDIS_CLUSTER_NODES): keys then carry hash tags."""
    return bool(settings.REDIS_CLUSTER_NODES)


def _send(
    pool: redis.ConnectionPool, calls: Sequence[tuple[Any, ...]], last_within: float | None
) -> list[Any]:
    """`commands`' round trip on a connection of `pool`: the replies, error replies as values."""
    for attempt in (1, 2):
        connection = pool.get_connection()
        try:
            connection.send_packed_command(connection.pack_commands(calls))
            replies = [_reply(connection) for _ in calls[:-1]]
            if last_within is not None and not connection.can_read(timeout=last_within):
                connection.disconnect()  # its reply may still come: never reuse it
                raise redis.TimeoutError(f"no answer to {calls[-1][0]} in {last_within} s")
            replies.append(_reply(connection))
        except redis.ConnectionError:
            connection.disconnect()  # never hand a half-read connection back to the pool
            if attempt == 2:
                raise
            continue
        finally:
            pool.release(connection)
        return replies
    raise AssertionError("unreachable")


def _reply(connection: redis.Connection) -> Any:
    """The next reply, an error reply returned rather than raised."""
    try:
        return connection.read_response()
    except redis.ResponseError as error:
        return error


# Redis answers a WAIT whose timeout passed on its next cron tick: with its default `hz 10`,
# up to 100 ms late (measured: WAIT 1 20 answered after 100 ms).
WAIT_TICK_SECONDS = 0.1


def confirmed_commands(*calls: tuple[Any, ...]) -> list[Any]:
    """`commands` for writes: with REDIS_WRITE_REPLICAS, a WAIT in the same round trip, and
    WriteNotConfirmed unless that many replicas had the writes within REDIS_WRITE_TIMEOUT_SECONDS.

    WAIT asks about every write this connection made so far, and a pooled connection has made
    no write since its last confirmation, so it confirms exactly these.
    """
    replicas = settings.REDIS_WRITE_REPLICAS
    if not replicas:
        return commands(*calls)
    timeout = settings.REDIS_WRITE_TIMEOUT_SECONDS
    wait = ("WAIT", replicas, max(1, round(timeout * 1000)))  # WAIT ... 0 would wait forever
    *replies, confirmed = commands(*calls, wait, last_within=timeout + WAIT_TICK_SECONDS)
    if confirmed < replicas:
        metrics.REDIS_FAILURES.labels("unconfirmed").inc()
        raise WriteNotConfirmed
    return replies


class LuaScript:
    """A Lua script from these files, in order (shared functions first), run by EVALSHA.

    Read once, at import; loaded into Redis (SCRIPT LOAD) the first time a Redis does not know
    it. Called through `commands`, the lean path; a script that writes (`writes`, the default)
    through `confirmed_commands`, so that replicas confirm what it wrote.
    """

    def __init__(self, *files: Path, writes: bool = True) -> None:
        self.source = "\n".join(path.read_text() for path in files).encode()
        self.sha = hashlib.sha1(self.source).hexdigest()
        self.send = confirmed_commands if writes else commands

    def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        run = ("EVALSHA", self.sha, len(keys), *keys, *args)
        try:
            return self.send(run)[0]
        except redis.exceptions.NoScriptError:
            # A Redis that restarted, or another one (failover): load it, then run it.
            return self.send(("SCRIPT", "LOAD", self.source), run)[1]

    def each(self, runs: Sequence[tuple[Sequence[Any], Sequence[Any]]]) -> list[Any]:
        """A read script once per (keys, args), in as few round trips as the store allows
        (`scatter`: several primaries in cluster mode); the results in order."""
        calls = [("EVALSHA", self.sha, len(keys), *keys, *args) for keys, args in runs]
        try:
            return scatter(*calls)
        except redis.exceptions.NoScriptError:
            load_everywhere(self.source)
            return scatter(*calls)


class ReportedDurability(TypedDict, total=False):
    """What the primary reports of the durability of a write (each left out if unreadable)."""

    replicasConnected: int  # replicas the primary sees now
    appendOnly: bool  # the primary logs every write to its append-only file
    snapshots: bool  # the primary saves RDB snapshots (`save` configured)


class Durability(ReportedDurability):
    """What the deployment keeps of an acknowledged write (GET /config)."""

    writeReplicas: Required[int]  # REDIS_WRITE_REPLICAS: replicas that confirm each write


# What Redis reports of its durability is read at most this often, never per request.
DURABILITY_READ_SECONDS = 5.0
_durability_read: tuple[float, ReportedDurability] | None = None


def durability() -> Durability:
    """The setting, and what the primary reports of its replicas and persistence; what could
    not be read (Redis down, CONFIG disabled on a managed Redis) is left out."""
    global _durability_read
    if _durability_read is None or time.monotonic() - _durability_read[0] > DURABILITY_READ_SECONDS:
        _durability_read = (time.monotonic(), _read_durability())
    return Durability(writeReplicas=settings.REDIS_WRITE_REPLICAS, **_durability_read[1])


def _read_durability() -> ReportedDurability:
    """What the primary reports; in cluster mode the weakest primary's (every primary holds
    someone's conversations)."""
    if settings.REDIS_EMBEDDED:  # one process's memory: no replica, nothing on disk
        return {"replicasConnected": 0, "appendOnly": False, "snapshots": False}
    report: ReportedDurability = {}
    with contextlib.suppress(StoreUnavailable, redis.ResponseError):
        primaries = _info("replication", "persistence")
        report["replicasConnected"] = min(
            int(replication.get("connected_slaves", 0)) for replication, _ in primaries
        )
        report["appendOnly"] = all(
            persistence.get("aof_enabled") == "1" for _, persistence in primaries
        )
    with contextlib.suppress(StoreUnavailable, redis.ResponseError):  # CONFIG may be disabled
        report["snapshots"] = all(save.strip() for save in _config_get("save"))
    return report


def _on_every_primary(*calls: tuple[Any, ...]) -> list[list[Any]]:
    """The calls' replies from the Redis, or from each primary of a cluster."""
    client = redis_client()
    if not isinstance(client, RedisCluster):
        return [commands(*calls)]
    return [
        _raise_first_error(_send(client.get_redis_connection(node).connection_pool, calls, None))
        for node in client.get_primaries()
    ]


@store_operation
def _info(*sections: str) -> list[list[dict[str, str]]]:
    """Per primary, INFO of each section as its fields."""
    return [
        [
            dict(line.split(":", 1) for line in reply.decode().splitlines() if ":" in line)
            for reply in replies
        ]
        for replies in _on_every_primary(*(("INFO", section) for section in sections))
    ]


@store_operation
def _config_get(name: str) -> list[str]:
    """Per primary, the setting's value."""
    values = []
    for (reply,) in _on_every_primary(("CONFIG", "GET", name)):
        # RESP3: a map; RESP2: [name, value]
        value = next(iter(reply.values())) if isinstance(reply, dict) else reply[1]
        values.append(value.decode())
    return values
