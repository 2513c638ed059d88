"""Agent conversations in Redis, laid out for the frontend's access patterns.

Per conversation (the first three keys share one expiry, renewed by every read or write):
  elevenlabs:conversation:{id}              hash: conversationId, createdAt, lastAccessedAt
                                            (as sent to the frontend), messageCount, agentId?,
                                            metadata? (the client's object as a JSON string),
                                            storedBytes (of message JSON, for the caps)
  elevenlabs:conversation:{id}:messages     list of AgentMessage JSON strings, in append order
  elevenlabs:conversation:{id}:message-index  hash: messageId -> its place in the list (0-based),
                                            so a retry stores nothing and a page starts anywhere
  elevenlabs:conversation:{id}:pushes       hash: deliveryId -> a push for the live agent not yet
                                            acknowledged by the browser (`conversation_snapshot`)

Across conversations, sorted sets of conversation ids, once for all conversations and once
per agent (the same four under elevenlabs:conversations:agent:{agentId}:...):
  elevenlabs:conversations:by-created-at       score: createdAt (epoch ms)
  elevenlabs:conversations:by-last-accessed-at score: lastAccessedAt (epoch ms)
  elevenlabs:conversations:by-message-count    score: messageCount
  elevenlabs:conversations:by-expiry           score: when the keys above expire (epoch ms)
and hashes that outlive a conversation's keys until it is swept (lua/indexes.lua):
  elevenlabs:conversations:agent-ids           conversation id -> its agentId
  elevenlabs:conversations:by-elevenlabs-id    ElevenLabs conversation id -> conversation id
  elevenlabs:conversations:elevenlabs-ids      conversation id -> its ElevenLabs ids (JSON array)

In cluster mode (REDIS_CLUSTER_NODES) each of these names carries the hash tag of the
conversation's shard, and each shard has its own indexes (`Indexes`; the layout and its
reasons: docs/api.md, "Redis keys"): a conversation and its index entries share one slot.

Every write is one Lua script, so a conversation and its indexes never disagree. An append
is RPUSH + HSET + HINCRBY: its cost does not depend on the conversation's length; the caps
(CONVERSATION_MAX_MESSAGES, CONVERSATION_MAX_BYTES) bound what any read of one conversation
costs. Conversations whose keys Redis has expired leave the indexes a few per read or write
and up to 1,000 per list call (lua/indexes.lua, `sweep_expired`), and are never counted
meanwhile, so a conversation leaves GET, the pages and the total at the same moment. A list
page, of all conversations or of one agent's, is ZCARD, ZCOUNT and ZRANGE: O(log N + page)
however many conversations exist (in cluster mode, per shard, merged: `_merged_page`).

Reads answer in one round trip: Lua assembles each AgentConversation's JSON
(lua/conversation_json.lua) from the stored message and metadata JSON, which is never decoded
and re-encoded. Every write that changes a conversation also publishes the live-update frame
(lua/prelude.lua, `publish_update`) when some process listens; see consumers.py. The scripts
are in lua/, each with its KEYS, ARGV and return values at the top.
"""

import functools
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

from django.conf import settings

from elevenlabs_agent.cluster import SHARD_TAGS, hash_tag, shard_of
from elevenlabs_agent.encoding import RawJSON, dumps, loads
from elevenlabs_agent.redis import (
    LuaScript,
    cluster_mode,
    commands,
    confirmed_commands,
    redis_client,
    scatter,
    store_operation,
)
from elevenlabs_agent.timestamps import from_epoch_ms

SortBy = Literal["createdAt", "lastAccessedAt", "messageCount"]
SortOrder = Literal["asc", "desc"]


CONVERSATION_KEY_PREFIX = "elevenlabs:conversation:"
MESSAGES_KEY_SUFFIX = ":messages"
INDEX_PREFIX = "elevenlabs:conversations:"


def shard_tag(conversation_id: str) -> str:
    """In cluster mode, `{tag}:`: the hash tag of the conversation's shard (elevenlabs_agent/
    cluster.py), which its keys and its index entries share; else ''."""
    return hash_tag(conversation_id) + ":" if cluster_mode() else ""


def conversation_key(conversation_id: str) -> str:
    return f"{CONVERSATION_KEY_PREFIX}{shard_tag(conversation_id)}{conversation_id}"


def messages_key(conversation_id: str) -> str:
    return conversation_key(conversation_id) + MESSAGES_KEY_SUFFIX


def message_index_key(conversation_id: str) -> str:
    return conversation_key(conversation_id) + ":message-index"


def pushes_key(conversation_id: str) -> str:
    return conversation_key(conversation_id) + ":pushes"


def watched_key(conversation_id: str) -> str:
    """Cluster mode: set while a live-update socket watches the conversation (a lease its
    socket renews), because there PUBSUB NUMSUB counts only one node's subscribers."""
    return conversation_key(conversation_id) + ":watched"


# How long a socket's watch lasts unless renewed (consumers.py renews it a third as often).
WATCH_LEASE_SECONDS = 60


def live_group(conversation_id: str) -> str:
    """The Channels group of the sockets that watch this conversation (see consumers.py)."""
    return f"conversation.{conversation_id}"


def live_channel(conversation_id: str) -> str:
    """The Redis pub/sub channel behind `live_group`: the writes' Lua publishes frames there.

    channels-redis's pub/sub layer subscribes each process once per group, to
    `{prefix}__group__{group}`, and hands what arrives to that process's sockets in the group.
    """
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    return f"{prefix}__group__{live_group(conversation_id)}"


_SORT_INDEX_SUFFIXES: dict[SortBy, str] = {
    "createdAt": "by-created-at",
    "lastAccessedAt": "by-last-accessed-at",
    "messageCount": "by-message-count",
}


@dataclass(frozen=True)
class Indexes:
    """The indexes across conversations: of all of them, or (cluster mode) of one shard's.

    Sorted sets of conversation ids (and the same four per agent under `agent_prefix`):
    by-created-at, by-last-accessed-at, by-message-count (scores as named) and by-expiry (when
    the conversation's keys expire); hashes that outlive a conversation's keys until it is
    swept (lua/indexes.lua): agent-ids (id -> agentId), by-elevenlabs-id (ElevenLabs id -> id)
    and elevenlabs-ids (id -> its ElevenLabs ids).
    """

    prefix: str  # elevenlabs:conversations: (cluster mode: elevenlabs:conversations:{tag}:)

    @functools.cached_property
    def agent_prefix(self) -> str:
        """lua/indexes.lua derives an agent's indexes: agent_prefix + agentId + ':by-...'."""
        return f"{self.prefix}agent:"

    def sort(self, sort_by: SortBy, agent_id: str | None = None) -> str:
        base = self.prefix if agent_id is None else f"{self.agent_prefix}{agent_id}:"
        return f"{base}{_SORT_INDEX_SUFFIXES[sort_by]}"

    def expiry(self, agent_id: str | None = None) -> str:
        base = self.prefix if agent_id is None else f"{self.agent_prefix}{agent_id}:"
        return f"{base}by-expiry"

    @property
    def by_elevenlabs_id(self) -> str:
        return f"{self.prefix}by-elevenlabs-id"

    @property
    def elevenlabs_ids(self) -> str:
        return f"{self.prefix}elevenlabs-ids"

    @functools.cached_property
    def lua_keys(self) -> list[str]:
        """The keys every index-writing script gets, in the order lua/indexes.lua reads them."""
        return [
            *(self.sort(sort_by) for sort_by in _SORT_INDEX_SUFFIXES),
            self.expiry(),
            self.by_elevenlabs_id,
            self.elevenlabs_ids,
            f"{self.prefix}agent-ids",
        ]


INDEXES = Indexes(INDEX_PREFIX)
# Cluster mode: each shard's, in shard order.
SHARD_INDEXES = [Indexes(f"{INDEX_PREFIX}{{{tag}}}:") for tag in SHARD_TAGS]


def indexes_of(conversation_id: str) -> Indexes:
    """The indexes the conversation is listed in."""
    return SHARD_INDEXES[shard_of(conversation_id)] if cluster_mode() else INDEXES


def all_indexes() -> list[Indexes]:
    """Every set of indexes a list page merges (one, except in cluster mode)."""
    return SHARD_INDEXES if cluster_mode() else [INDEXES]


class AgentMessage(TypedDict):
    """The frontend's AgentMessage, exactly as stored and returned."""

    messageId: str
    role: Literal["user", "assistant", "system", "tool"]
    content: str
    timestamp: str
    source: Literal["voice", "text", "tool_output", "system_event", "user_input", "agent_response"]
    toolName: NotRequired[str]
    toolArgs: NotRequired[dict[str, Any]]
    toolOutput: NotRequired[str]
    status: NotRequired[Literal["pending", "completed", "failed"]]


class AgentConversation(TypedDict):
    """The frontend's AgentConversation."""

    conversationId: str
    messages: list[AgentMessage]
    createdAt: str
    lastAccessedAt: str
    messageCount: int
    agentId: NotRequired[str]
    metadata: NotRequired[dict[str, Any]]


@dataclass(frozen=True)
class ConversationPage:
    conversations: RawJSON  # a JSON array of AgentConversation
    total: int


@dataclass(frozen=True)
class AppendResult:
    message_id: str
    message_count: int
    duplicate: bool = False
    full: bool = False  # at CONVERSATION_MAX_MESSAGES or CONVERSATION_MAX_BYTES: not stored


LUA = Path(__file__).parent / "lua"


_SHARED = (LUA / "conversation_json.lua", LUA / "elevenlabs_ids.lua", LUA / "indexes.lua")


def conversation_script(*paths: Path, writes: bool = True) -> LuaScript:
    """A script that reads or writes one conversation: the shared functions and prelude.lua
    (its KEYS, ARGV and helpers), then the files at `paths`. Run it with `conversation_call`.
    A script of a read route passes `writes=False`: what it writes (lastAccessedAt) is not
    worth a replica's confirmation, and reads go on while replicas lag."""
    return LuaScript(*_SHARED, LUA / "prelude.lua", *paths, writes=writes)


_CREATE_OR_TOUCH = conversation_script(LUA / "create_or_touch.lua")
_GET = conversation_script(LUA / "get.lua", writes=False)
_APPEND = conversation_script(LUA / "append.lua")
_UPDATE = conversation_script(LUA / "update.lua")
_DELETE = conversation_script(LUA / "delete.lua")
_MESSAGES_PAGE = conversation_script(LUA / "messages_page.lua", writes=False)
_IMPORT_MESSAGES = conversation_script(LUA / "import_messages.lua")
_PEEK = LuaScript(LUA / "conversation_json.lua", LUA / "peek.lua", writes=False)
_LIST_PAGE = LuaScript(*_SHARED, LUA / "list_page.lua", writes=False)
_LIST_SHARD = LuaScript(*_SHARED, LUA / "list_shard.lua", writes=False)
_SNAPSHOT = LuaScript(LUA / "conversation_json.lua", LUA / "snapshot.lua", writes=False)

# Bytes of messages one list-page call assembles before it leaves the rest to a call each.
LIST_PAGE_INLINE_BYTES = 1024 * 1024

# Calls a list page may make to sweep a backlog of expired conversations (1,000 each); past
# that it answers with what it has (short pages until later calls finish the sweep).
_MOST_SWEEP_CALLS = 100

# append_message's outcomes (prelude.lua); scripts answer UNKNOWN_CONVERSATION before any.
APPENDED, DUPLICATE, FULL, UNKNOWN_CONVERSATION = 1, 0, -2, -1
_UNKNOWN_CURSOR = -4  # messages_page.lua
_METADATA_CHANGED = -3  # import_messages.lua
# How often an import re-reads metadata that a concurrent edit changed under it.
_IMPORT_ATTEMPTS = 5


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def conversation_call(
    script: LuaScript,
    conversation_id: str,
    *extra_args: Any,
    now_ms: int | None = None,
    extra_keys: list[str] | None = None,
) -> Any:
    """Run a `conversation_script` with the KEYS and ARGV that prelude.lua names, then its own
    (`extra_keys` as own_key(1), ..., `extra_args` as own_arg(1), ...)."""
    now_ms = _now_ms() if now_ms is None else now_ms
    ttl_seconds = settings.CONVERSATION_TTL_SECONDS
    expire_at = now_ms + ttl_seconds * 1000 if ttl_seconds > 0 else 0
    indexes = indexes_of(conversation_id)
    keys = [
        conversation_key(conversation_id),
        messages_key(conversation_id),
        message_index_key(conversation_id),
        *indexes.lua_keys,
        watched_key(conversation_id),
        *(extra_keys or ()),
    ]
    args = [
        conversation_id,
        now_ms,
        from_epoch_ms(now_ms),
        expire_at,
        live_channel(conversation_id),
        settings.CONVERSATION_MAX_MESSAGES,
        settings.CONVERSATION_MAX_BYTES,
        indexes.agent_prefix,
        "1" if cluster_mode() else "",
        *extra_args,
    ]
    return script(keys, args)


@store_operation
def conversation_create(
    *, agent_id: str | None = None, metadata: dict[str, Any] | None = None
) -> AgentConversation:
    """Create an empty conversation with a new UUID4 id."""
    conversation_id, now_ms = str(uuid.uuid4()), _now_ms()
    _create_or_touch(conversation_id, agent_id=agent_id, metadata=metadata, now_ms=now_ms)
    conversation: AgentConversation = {
        "conversationId": conversation_id,
        "messages": [],
        "createdAt": from_epoch_ms(now_ms),
        "lastAccessedAt": from_epoch_ms(now_ms),
        "messageCount": 0,
    }
    if agent_id is not None:
        conversation["agentId"] = agent_id
    if metadata is not None:
        conversation["metadata"] = metadata
    return conversation


@dataclass(frozen=True)
class Companion:
    """A record written in the same atomic step as the conversation (see conversation_ensure)."""

    key: str
    value: bytes
    ttl_seconds: int


@store_operation
def conversation_ensure(
    *,
    conversation_id: str,
    companion: Companion | None = None,
    elevenlabs_id: str | None = None,
    agent_id: str | None = None,
) -> bool:
    """Create the conversation if it does not exist, else move its lastAccessedAt; True if created.

    Atomic, so concurrent first session registrations create it exactly once. `companion`, a
    record of another store (a session), is written in the same step: both or neither (in
    cluster mode it lives in another slot, and is written right after: a failure between
    leaves the conversation without it, and the caller's retry writes it).
    `elevenlabs_id`, the ElevenLabs conversation id of a call, is mapped to this conversation
    for as long as it exists (`conversation_id_for`). `agent_id` is set only when creating.
    """
    return _create_or_touch(
        conversation_id, companion=companion, elevenlabs_id=elevenlabs_id, agent_id=agent_id
    )


def _create_or_touch(
    conversation_id: str,
    *,
    companion: Companion | None = None,
    elevenlabs_id: str | None = None,
    agent_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    now_ms: int | None = None,
) -> bool:
    """create_or_touch.lua, with '' for each absent value; True if it created the conversation."""
    together = companion if companion is not None and not cluster_mode() else None
    if together is None:
        extra_keys, value, ttl_ms = [], b"", 0
    else:
        extra_keys, value, ttl_ms = [together.key], together.value, together.ttl_seconds * 1000
    created = conversation_call(
        _CREATE_OR_TOUCH, conversation_id,
        value, ttl_ms, elevenlabs_id or "", agent_id or "", _metadata_json(metadata),
        now_ms=now_ms, extra_keys=extra_keys,
    )  # fmt: skip
    if companion is not None and together is None:
        confirmed_commands(("SET", companion.key, companion.value, "EX", companion.ttl_seconds))
    return created == 1


def _metadata_json(metadata: dict[str, Any] | None) -> bytes:
    return b"" if metadata is None else dumps(metadata)


@store_operation
def conversation_id_for(*, elevenlabs_id: str) -> str | None:
    """Our conversation that the ElevenLabs conversation `elevenlabs_id` belongs to, if it still
    exists (a mapping outlives its conversation only until the next sweep).

    In cluster mode each shard maps the ElevenLabs ids of its own conversations, and all are
    asked (one round trip per primary); should two conversations claim one call (a client
    registering it twice), the first shard's answer is taken.
    """
    mapped = scatter(*(("HGET", index.by_elevenlabs_id, elevenlabs_id) for index in all_indexes()))
    for conversation_id in (stored.decode() for stored in mapped if stored is not None):
        if commands(("EXISTS", conversation_key(conversation_id)))[0]:
            return conversation_id
    return None


@store_operation
def conversation_get(*, conversation_id: str) -> RawJSON | None:
    """The conversation as AgentConversation JSON (moving its lastAccessedAt); None if unknown."""
    conversation = conversation_call(_GET, conversation_id)
    return RawJSON(conversation) if conversation else None


def _peek_keys(conversation_id: str) -> list[str]:
    return [conversation_key(conversation_id), messages_key(conversation_id)]


@store_operation
def conversation_update(
    *, conversation_id: str, agent_id: str | None = None, metadata: dict[str, Any] | None = None
) -> RawJSON | None:
    """Set the conversation's agentId and/or metadata (replaced as a whole), counting it as
    used; the updated conversation, or None if it does not exist."""
    updated = conversation_call(_UPDATE, conversation_id, agent_id or "", _metadata_json(metadata))
    return RawJSON(updated) if updated else None


DELETED = "agent_conversation.deleted"


@store_operation
def conversation_delete(*, conversation_id: str, companion_key: str) -> bool:
    """Delete the conversation and everything of it (messages, pending pushes, index entries,
    ElevenLabs ids) with `companion_key` (its session: a record of another store, as in
    `conversation_ensure`), and tell its subscribers; True if it existed."""
    frame = dumps({"type": DELETED, "conversationId": conversation_id})
    # Cluster mode: the companion lives in another slot, and goes right after; a failure
    # between leaves it to its own TTL, or to the caller's retry (deleting is idempotent).
    together = [] if cluster_mode() else [companion_key]
    existed = conversation_call(
        _DELETE, conversation_id, frame, extra_keys=[pushes_key(conversation_id), *together]
    )
    if not together:
        confirmed_commands(("DEL", companion_key))
    return existed == 1


@dataclass(frozen=True)
class MessagePage:
    messages: RawJSON  # a JSON array of AgentMessage
    has_more: bool
    first_id: str | None
    last_id: str | None


class UnknownCursor(Exception):
    """The page's after/before messageId is not in the conversation."""


@store_operation
def messages_page(
    *, conversation_id: str, limit: int, after: str | None = None, before: str | None = None
) -> MessagePage | None:
    """`limit` messages in append order: the oldest, or those right after (before) a messageId;
    None for an unknown conversation. Counts the conversation as used. Raises UnknownCursor."""
    direction, cursor = ("after", after) if after is not None else ("before", before)
    answer = conversation_call(
        _MESSAGES_PAGE,
        conversation_id,
        limit,
        direction if cursor is not None else "",
        cursor or "",
    )
    if answer[0] == UNKNOWN_CONVERSATION:
        return None
    if answer[0] == _UNKNOWN_CURSOR:
        raise UnknownCursor
    _, more, *page = answer
    return MessagePage(
        messages=RawJSON(b"[" + b",".join(page) + b"]"),
        has_more=bool(more),
        first_id=loads(page[0])["messageId"] if page else None,
        last_id=loads(page[-1])["messageId"] if page else None,
    )


@store_operation
def message_append(
    *, conversation_id: str, message: AgentMessage, session_key: str | None = None
) -> AppendResult | None:
    """Append a message atomically; a messageId already stored is acknowledged, not stored again,
    and a full conversation takes nothing more. A voice message keeps the conversation's session
    (`session_key`, a record of another store) alive for SESSION_TTL_SECONDS from now, in the
    same step.

    Returns None for an unknown conversation.
    """
    session = session_key if message.get("source") == "voice" else None
    # Cluster mode: the session lives in another slot, and is kept alive right after.
    together = session if not cluster_mode() else None
    outcome, count = conversation_call(
        _APPEND, conversation_id, message["messageId"], dumps(message),
        *([settings.SESSION_TTL_SECONDS * 1000] if together else []),
        extra_keys=[together] if together else None,
    )  # fmt: skip
    if outcome == UNKNOWN_CONVERSATION:
        return None
    if session and not together:
        commands(("PEXPIRE", session, settings.SESSION_TTL_SECONDS * 1000))
    return AppendResult(
        message_id=message["messageId"],
        message_count=count,
        duplicate=outcome == DUPLICATE,
        full=outcome == FULL,
    )


@store_operation
def conversation_list(
    *,
    limit: int,
    offset: int,
    sort_by: SortBy,
    sort_order: SortOrder,
    agent_id: str | None = None,
) -> ConversationPage:
    """One page of conversations (all, or `agent_id`'s) in the given order (ties by
    conversationId); never touches them.

    One round trip for the total and the page's conversations, plus one for each conversation
    too large to assemble in that call. Cluster mode: `_merged_page`.
    """
    if cluster_mode():
        return _merged_page(limit, offset, sort_by, sort_order, agent_id)
    args = [offset, limit, sort_order, CONVERSATION_KEY_PREFIX, MESSAGES_KEY_SUFFIX]
    args += [LIST_PAGE_INLINE_BYTES, INDEXES.agent_prefix]
    # A backlog of expired conversations is swept a bounded amount per call (list_page.lua).
    for _ in range(_MOST_SWEEP_CALLS):
        total, unswept, *page = _LIST_PAGE(_list_keys(INDEXES, sort_by, agent_id), args)
        if not unswept:
            break
    # One call each, not a pipeline: Redis runs a client's pipelined calls back to back, and
    # other clients must get their turn between these.
    for n, entry in enumerate(page):
        if isinstance(entry, list):
            (conversation_id,) = entry
            page[n] = _PEEK(_peek_keys(conversation_id.decode()))
    conversations = b",".join(conversation for conversation in page if conversation)
    return ConversationPage(conversations=RawJSON(b"[" + conversations + b"]"), total=total)


def _list_keys(indexes: Indexes, sort_by: SortBy, agent_id: str | None) -> list[str]:
    """KEYS of list_page.lua and list_shard.lua."""
    return [indexes.sort(sort_by, agent_id), indexes.expiry(agent_id), *indexes.lua_keys]


def _merged_page(
    limit: int, offset: int, sort_by: SortBy, sort_order: SortOrder, agent_id: str | None
) -> ConversationPage:
    """Cluster mode: each shard's first offset + limit ids in order (one round trip per
    primary), merged; then the page's conversations, each read in its own shard (again one
    round trip per primary). The total is the shards' totals summed.

    The shards are read with plain commands: a script per shard cost Redis 60 µs each (most of
    it the script's own setup), the commands 5 µs. A shard whose by-expiry index holds expired
    ids is swept and read by list_shard.lua instead, as list_page.lua does. (Which ids have
    expired is asked by this process's clock here and by Redis' in the script: an id whose
    keys Redis expired a moment before this clock says so is read as gone, and left out.)
    """
    rank = "ZREVRANGE" if sort_order == "desc" else "ZRANGE"
    now = f"({_now_ms()}"
    reads: list[tuple[Any, ...]] = []
    for indexes in SHARD_INDEXES:
        index, expiry = indexes.sort(sort_by, agent_id), indexes.expiry(agent_id)
        reads += [("ZCARD", index), ("ZCOUNT", expiry, "-inf", now)]
        reads.append((rank, index, 0, offset + limit - 1, "WITHSCORES"))
    replies = scatter(*reads)
    # Per shard: its total, the expired ids it still indexes, its first ids as (score, id).
    answers = [
        (listed - expired, expired, [(score, member) for member, score in entries])
        for listed, expired, entries in zip(replies[::3], replies[1::3], replies[2::3], strict=True)
    ]
    unswept = [shard for shard, answer in enumerate(answers) if answer[1]]
    for _ in range(_MOST_SWEEP_CALLS):
        if not unswept:
            break
        runs = [
            (
                _list_keys(SHARD_INDEXES[shard], sort_by, agent_id),
                [offset + limit, sort_order, SHARD_INDEXES[shard].agent_prefix],
            )
            for shard in unswept
        ]
        for shard, (shard_total, expired, *entries) in zip(
            unswept, _LIST_SHARD.each(runs), strict=True
        ):
            pairs = [(float(entries[n + 1]), entries[n]) for n in range(0, len(entries), 2)]
            answers[shard] = (shard_total, expired, pairs)
        unswept = [shard for shard in unswept if answers[shard][1]]
    total, ranked = 0, []
    for shard_total, _, pairs in answers:
        total += shard_total
        ranked += pairs
    # The order of one Redis sorted set, ties by id: ZRANGE's, or ZREVRANGE's for 'desc'.
    ranked.sort(reverse=sort_order == "desc")
    page = [conversation_id.decode() for _, conversation_id in ranked[offset : offset + limit]]
    found = _PEEK.each([(_peek_keys(conversation_id), []) for conversation_id in page])
    conversations = b",".join(conversation for conversation in found if conversation)
    return ConversationPage(conversations=RawJSON(b"[" + conversations + b"]"), total=total)


@dataclass(frozen=True)
class Snapshot:
    conversation: RawJSON  # AgentConversation JSON
    pushes: list[dict[str, Any]]  # frames for the live agent not yet acknowledged, oldest first


def pending_push(frame: dict[str, Any], *, while_key: str) -> bytes:
    """A push as kept in the pushes hash until acknowledged: pending while `while_key` (its
    task) exists; snapshots send them in the order they were made (lua/snapshot.lua)."""
    return dumps({"at": _now_ms(), "while": while_key, "frame": frame})


@store_operation
def conversation_snapshot(*, conversation_id: str) -> Snapshot | None:
    """What a live-update socket gets on connect, in one round trip and without counting the
    conversation as used: the conversation and its pending pushes (those whose task expired are
    dropped). None if the conversation is unknown."""
    keys = [*_peek_keys(conversation_id), pushes_key(conversation_id)]
    lease = []
    if cluster_mode():  # the socket watches it from now: writes publish their frames
        keys.append(watched_key(conversation_id))
        lease.append(WATCH_LEASE_SECONDS * 1000)
    conversation, *entries = _SNAPSHOT(keys, lease)
    if conversation is None:
        return None
    pending = sorted((loads(entry) for entry in entries), key=lambda push: push["at"])
    return Snapshot(RawJSON(conversation), [push["frame"] for push in pending])


@store_operation
def conversation_watched(*, conversation_id: str) -> None:
    """Cluster mode: a socket still watches the conversation (its lease runs on)."""
    commands(("SET", watched_key(conversation_id), "1", "EX", WATCH_LEASE_SECONDS))


@store_operation
def push_acknowledge(*, conversation_id: str, delivery_id: str) -> bool:
    """The browser relayed this push to the agent: never send it again. True if it was pending."""
    return bool(redis_client().hdel(pushes_key(conversation_id), delivery_id))


@dataclass(frozen=True)
class Imported:
    imported: int
    duplicates: int
    full: int  # not stored: the conversation reached its caps


# The whitespace import_messages.lua collapses (Lua's %s): a message's text as compared.
_WHITESPACE = re.compile(r"[ \t\n\r\f\v]+")


def match_key(message: AgentMessage) -> str:
    """What makes two messages the same spoken turn: the role, and the text with its whitespace
    collapsed and trimmed (import_messages.lua computes the same of stored messages)."""
    return f"{message['role']}\n{_WHITESPACE.sub(' ', message['content']).strip(' ')}"


class ConversationChanging(Exception):
    """The conversation's metadata kept changing under an import."""


@store_operation
def messages_import(
    *,
    conversation_id: str,
    messages: list[AgentMessage],
    metadata_update: Callable[[dict[str, Any]], dict[str, Any]],
    call_start: str = "",
) -> Imported | None:
    """Store a call's turns at once (idempotently by messageId) and set the metadata to
    `metadata_update(current metadata)`, in one step; one `updated` frame. None for an unknown
    conversation.

    With `call_start` (ISO-8601), the turns are reconciled with the voice messages stored since
    then (import_messages.lua): a turn the page stored is not stored again, the stored message
    gains its reference (`elevenlabsTurn`), and the others take their place in time.
    """
    client = redis_client()
    turns: list[str | bytes] = []
    for message in messages:
        turns += [message["messageId"], dumps(message), message["timestamp"], match_key(message)]
    for _ in range(_IMPORT_ATTEMPTS):
        stored = client.hget(conversation_key(conversation_id), "metadata")
        current = loads(stored) if stored else {}
        answer = conversation_call(
            _IMPORT_MESSAGES, conversation_id,
            stored or b"", dumps(metadata_update(current)), call_start, *turns,
        )  # fmt: skip
        if answer[0] == UNKNOWN_CONVERSATION:
            return None
        if answer[0] != _METADATA_CHANGED:
            return Imported(imported=answer[1], duplicates=answer[2], full=answer[3])
    raise ConversationChanging
