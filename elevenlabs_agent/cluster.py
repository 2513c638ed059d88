"""Redis Cluster mode: where keys live, and how a round trip finds the primary that holds them.

Hash slots: Redis Cluster places a key by the CRC16 of its name, or of the part between the
first `{` and `}` (its hash tag), in one of 16,384 slots, and a primary owns a range of slots.
A Lua script, or a transaction, may only touch keys of one slot. The service keeps each
conversation's keys, and its entries in the indexes across conversations, in one slot (a
shard), so that every write of a conversation stays one atomic script (docs/api.md):

  SHARDS shards, each a hash tag whose slot lies in its own 1/SHARDS of the slot range, so
  that primaries owning equal ranges hold equal numbers of shards. A conversation's shard
  follows from its id (`shard_of`); a list page merges the shards' indexes (store.py).

Round trips: `routed` is `redis.commands` for a cluster. It sends to the primary that owns the
calls' slot, as the client's slot map says, and follows the cluster's answers when that map is
stale: MOVED (the slot has a new owner: read the map again), ASK (the slot is moving and this
key is already there), TRYAGAIN (a multi-key call while its slot moves: shortly again). A
primary that cannot be reached is retried once on a freshly read map (a failover may have
replaced it); then the caller's outage handling takes over (redis.py: a 503, and the breaker
until every primary answers again), as in the other modes: a round trip never waits out a
failover on a worker's event loop.
"""

import contextlib
import functools
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

# Shards of the conversations' data (their keys and index entries). Fixed: a conversation's
# keys are named by its shard, so changing it would orphan stored conversations. It bounds how
# many primaries share the conversations (64), and a list page reads every shard's index.
SHARDS = 64
# Redirections a round trip follows (a slot moved, then moved on) before it gives up.
MOST_REDIRECTIONS = 10
# Pause before asking again after TRYAGAIN (a slot's keys are half moved: soon they are not).
TRYAGAIN_PAUSE_SECONDS = 0.01


def _shard_tag(shard: int) -> str:
    """The first tag `s<shard>.<n>` whose slot falls in the shard's part of the slot range."""
    width = REDIS_CLUSTER_HASH_SLOTS // SHARDS
    n = 0
    while key_slot(f"s{shard}.{n}".encode()) // width != shard:
        n += 1
    return f"s{shard}.{n}"


SHARD_TAGS = [_shard_tag(shard) for shard in range(SHARDS)]


def shard_of(identifier: str) -> int:
    """The shard of a conversation (or of a task: agent_tasks/store.py) by its id."""
    return zlib.crc32(identifier.encode()) % SHARDS


def hash_tag(identifier: str) -> str:
    """`{tag}`: the hash tag that places keys in `identifier`'s shard."""
    return "{" + SHARD_TAGS[shard_of(identifier)] + "}"


# Commands whose first argument is not a key (they run on whichever node receives them).
_KEYLESS = {"ASKING", "CONFIG", "INFO", "PING", "PUBSUB", "SCRIPT", "TIME", "WAIT"}


def _slot(calls: Sequence[tuple[Any, ...]]) -> int | None:
    """The slot of the keys the calls name (as for a script, one); None if they name none.

    Only a call's first key is looked at (a script's keys are checked by Redis).
    """
    slots = set()
    for call in calls:
        name = call[0].upper() if isinstance(call[0], str) else call[0].decode().upper()
        if name in ("EVALSHA", "EVAL"):
            if int(call[2]) > 0:
                slots.add(_key_slot(call[3]))
        elif name not in _KEYLESS and len(call) > 1:
            slots.add(_key_slot(call[1]))
    if len(slots) > 1:
        raise ValueError(f"one round trip names keys of slots {sorted(slots)}: use scatter")
    return slots.pop() if slots else None


@functools.lru_cache(maxsize=8192)
def _key_slot(key: str | bytes) -> int:
    """The slot of a key (the indexes' few hundred names come again and again)."""
    return key_slot(key if isinstance(key, bytes) else str(key).encode())


Send = Callable[[redis.ConnectionPool, Sequence[tuple[Any, ...]], float | None], list[Any]]
Read = Callable[[redis.Connection], Any]


def routed(
    client: RedisCluster,
    calls: Sequence[tuple[Any, ...]],
    last_within: float | None,
    send: Send,
) -> list[Any]:
    """`send` the calls (one round trip, replies in order, error replies as values) to the
    primary of their slot, following the cluster's redirections (see the module docstring)."""
    slot = _slot(calls)
    ask_node: ClusterNode | None = None
    refreshed = False
    for _ in range(MOST_REDIRECTIONS + 1):
        if ask_node is not None:
            node, sent = ask_node, [("ASKING",), *calls]
        elif slot is None:
            node, sent = client.get_default_node(), list(calls)
        else:
            node, sent = _primary(client, slot), list(calls)
        try:
            replies = send(client.get_redis_connection(node).connection_pool, sent, last_within)
        except redis.ConnectionError:
            if refreshed:
                raise
            refreshed = True
            _refresh(client)  # a failover may have replaced that primary
            continue
        if ask_node is not None:
            replies, ask_node = replies[1:], None
        redirect = next((r for r in replies if _is_redirect(r)), None)
        if redirect is None:
            return replies
        if isinstance(redirect, redis.exceptions.MovedError):
            _refresh(client)
        elif isinstance(redirect, redis.exceptions.AskError):
            ask_node = _node(client, redirect.host, redirect.port)
        else:  # TRYAGAIN: the slot's keys are half moved
            time.sleep(TRYAGAIN_PAUSE_SECONDS)
    # A 503 for this call (redis.py), without the breaker: the cluster answers, it is busy.
    raise redis.exceptions.TryAgainError(f"slot {slot} still moving ({MOST_REDIRECTIONS} tries)")


def _is_redirect(reply: Any) -> bool:
    """MOVED, ASK, TRYAGAIN; or a script stopped, before it wrote anything, by a key its slot
    has moved already (prelude.lua's before_writing): as TRYAGAIN."""
    if isinstance(reply, redis.exceptions.AskError | redis.exceptions.TryAgainError):
        return True  # MOVED is an ASK
    return isinstance(reply, redis.ResponseError) and "non local key" in str(reply)


def _primary(client: RedisCluster, slot: int) -> ClusterNode:
    try:
        return client.nodes_manager.get_node_from_slot(slot)
    except redis.exceptions.SlotNotCoveredError as exc:  # mid-failover map: read it again
        client.nodes_manager.initialize()
        try:
            return client.nodes_manager.get_node_from_slot(slot)
        except redis.exceptions.SlotNotCoveredError:
            raise redis.ConnectionError(f"no primary serves slot {slot}") from exc


def _node(client: RedisCluster, host: str, port: int) -> ClusterNode:
    node = client.get_node(host=host, port=port)
    if node is None:
        client.nodes_manager.initialize()
        node = client.get_node(host=host, port=port)
    if node is None:
        raise redis.ConnectionError(f"the cluster redirected to an unknown node {host}:{port}")
    return node


def _refresh(client: RedisCluster) -> None:
    """Read the slot map again."""
    with contextlib.suppress(redis.RedisError):  # no node answers: the next attempt says so
        client.nodes_manager.initialize()


def ping_primaries(client: RedisCluster) -> None:
    """Raise unless every primary of a freshly read slot map answers (the breaker's probe)."""
    client.nodes_manager.initialize()
    for node in client.get_primaries():
        client.get_redis_connection(node).ping()


_UNANSWERED = object()


def scattered(
    client: RedisCluster, calls: Sequence[tuple[Any, ...]], send: Send, read: Read
) -> list[Any]:
    """Independent calls, each naming keys of one slot (of many): one round trip per primary
    that holds some, all sent before any reply is read (so the primaries work at once), replies
    in the calls' order (error replies as values, read by `read`). A call that the cluster
    redirects, or whose primary could not be reached, is sent again on its own by `routed`."""
    by_node: dict[str, tuple[ClusterNode, list[int]]] = {}
    by_slot: dict[int | None, ClusterNode] = {}
    for n, call in enumerate(calls):
        slot = _slot([call])
        node = by_slot.get(slot)
        if node is None:
            node = client.get_default_node() if slot is None else _primary(client, slot)
            by_slot[slot] = node
        by_node.setdefault(node.name, (node, []))[1].append(n)
    replies: list[Any] = [_UNANSWERED] * len(calls)
    sent: list[tuple[redis.ConnectionPool, redis.Connection, list[int]]] = []
    try:
        for node, numbers in by_node.values():
            pool = client.get_redis_connection(node).connection_pool
            connection = pool.get_connection()
            try:
                connection.send_packed_command(
                    connection.pack_commands([calls[n] for n in numbers])
                )
            except redis.ConnectionError:  # that primary is gone: its calls go alone, below
                connection.disconnect()
                pool.release(connection)
                continue
            sent.append((pool, connection, numbers))
        while sent:
            pool, connection, numbers = sent[0]
            try:
                for n in numbers:
                    replies[n] = read(connection)
            except redis.ConnectionError:
                connection.disconnect()
            pool.release(connection)
            sent.pop(0)
    finally:
        for pool, connection, _ in sent:  # an error: their replies are unread, never reuse them
            connection.disconnect()
            pool.release(connection)
    for n, reply in enumerate(replies):
        if reply is _UNANSWERED or _is_redirect(reply):
            replies[n] = routed(client, [calls[n]], None, send)[0]
    return replies
