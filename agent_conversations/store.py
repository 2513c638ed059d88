"""Agent conversations in Redis, laid out for the frontend's access patterns.

Per conversation (all three keys share one expiry, renewed by every read or write):
  elevenlabs:conversation:{id}              hash: conversationId, createdAt and lastAccessedAt
                                            (epoch ms), messageCount, agentId?, metadata?
                                            (the client's object as a JSON string)
  elevenlabs:conversation:{id}:messages     list of AgentMessage JSON strings, in append order
  elevenlabs:conversation:{id}:message-ids  set of stored messageIds, so a retry stores nothing

Across conversations, sorted sets of conversation ids:
  elevenlabs:conversations:by-created-at       score: createdAt (epoch ms)
  elevenlabs:conversations:by-last-accessed-at score: lastAccessedAt (epoch ms)
  elevenlabs:conversations:by-message-count    score: messageCount
  elevenlabs:conversations:by-expiry           score: when the keys above expire (epoch ms)

Every write is one Lua script, so a conversation and its indexes never disagree. An append
is RPUSH + SADD + HINCRBY: its cost does not depend on the conversation's length. A list
page first drops the members whose keys Redis has expired (by-expiry, against Redis's own
clock, so a conversation leaves GET, the pages and the total at the same moment), then pages
with ZCARD and ZRANGE: O(log N + page) however many conversations exist.
"""

import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

from django.conf import settings
from redis.commands.core import Script

from elevenlabs_agent.redis import dumps, loads, lua_script, redis_client, store_operation
from elevenlabs_agent.timestamps import from_epoch_ms

SortBy = Literal["createdAt", "lastAccessedAt", "messageCount"]
SortOrder = Literal["asc", "desc"]


def conversation_key(conversation_id: str) -> str:
    return f"elevenlabs:conversation:{conversation_id}"


def messages_key(conversation_id: str) -> str:
    return f"elevenlabs:conversation:{conversation_id}:messages"


def message_ids_key(conversation_id: str) -> str:
    return f"elevenlabs:conversation:{conversation_id}:message-ids"


SORT_INDEX_KEYS: dict[SortBy, str] = {
    "createdAt": "elevenlabs:conversations:by-created-at",
    "lastAccessedAt": "elevenlabs:conversations:by-last-accessed-at",
    "messageCount": "elevenlabs:conversations:by-message-count",
}
EXPIRY_INDEX_KEY = "elevenlabs:conversations:by-expiry"


class AgentMessage(TypedDict):
    """The frontend's AgentMessage, exactly as stored and returned."""

    messageId: str
    role: Literal["user", "assistant", "system", "tool"]
    content: str
    timestamp: str
    source: Literal["voice", "text", "tool_output", "system_event"]
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
    conversations: list[AgentConversation]
    total: int


@dataclass(frozen=True)
class AppendResult:
    message_id: str
    message_count: int
    duplicate: bool


# KEYS and ARGV shared by every per-conversation script (see `_conversation_call`).
_PRELUDE = """
local conversation, messages, message_ids = KEYS[1], KEYS[2], KEYS[3]
local by_created, by_accessed, by_count, by_expiry = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local id, now_ms, expire_at = ARGV[1], ARGV[2], ARGV[3]

-- Move lastAccessedAt and renew the sliding retention of all three keys (0: keep forever).
local function touch()
  redis.call('HSET', conversation, 'lastAccessedAt', now_ms)
  redis.call('ZADD', by_accessed, now_ms, id)
  if expire_at == '0' then
    redis.call('PERSIST', conversation)
    redis.call('PERSIST', messages)
    redis.call('PERSIST', message_ids)
    redis.call('ZREM', by_expiry, id)
  else
    redis.call('PEXPIREAT', conversation, expire_at)
    redis.call('PEXPIREAT', messages, expire_at)
    redis.call('PEXPIREAT', message_ids, expire_at)
    redis.call('ZADD', by_expiry, expire_at, id)
  end
end
"""

# ARGV[4..]: field/value pairs for a new conversation. Returns 1 if created, 0 if it existed.
_CREATE_OR_TOUCH = lua_script(
    _PRELUDE
    + """
if redis.call('EXISTS', conversation) == 1 then
  touch()
  return 0
end
redis.call('HSET', conversation, 'conversationId', id, 'createdAt', now_ms, 'messageCount', 0,
           unpack(ARGV, 4))
redis.call('ZADD', by_created, now_ms, id)
redis.call('ZADD', by_count, 0, id)
touch()
return 1
"""
)

# Returns false for an unknown conversation, else {hash fields, message JSON strings}.
_GET = lua_script(
    _PRELUDE
    + """
if redis.call('EXISTS', conversation) == 0 then
  return false
end
touch()
return {redis.call('HGETALL', conversation), redis.call('LRANGE', messages, 0, -1)}
"""
)

# ARGV[4]: messageId, ARGV[5]: the message JSON. Returns {status, messageCount}:
# status 1 appended, 0 duplicate messageId (nothing written), -1 unknown conversation.
_APPEND = lua_script(
    _PRELUDE
    + """
if redis.call('EXISTS', conversation) == 0 then
  return {-1, 0}
end
if redis.call('SADD', message_ids, ARGV[4]) == 0 then
  return {0, tonumber(redis.call('HGET', conversation, 'messageCount'))}
end
redis.call('RPUSH', messages, ARGV[5])
local count = redis.call('HINCRBY', conversation, 'messageCount', 1)
redis.call('ZADD', by_count, count, id)
touch()
return {1, count}
"""
)

# ARGV[4..]: field/value pairs to set. Returns 1 if updated, 0 for an unknown conversation.
_UPDATE = lua_script(
    _PRELUDE
    + """
if redis.call('EXISTS', conversation) == 0 then
  return 0
end
if #ARGV >= 4 then
  redis.call('HSET', conversation, unpack(ARGV, 4))
end
touch()
return 1
"""
)

# KEYS: the index to page, then by-created, by-accessed, by-count, by-expiry.
# ARGV: offset, limit, 'asc' or 'desc'. Returns {total, ids of the page}.
_LIST_IDS = lua_script(
    """
local clock = redis.call('TIME')
local now_ms = clock[1] * 1000 + math.floor(clock[2] / 1000)
-- Redis expires a key once its clock passes the expiry; drop those ids from every index.
local expired = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', '(' .. now_ms)
for _, id in ipairs(expired) do
  for i = 2, 5 do
    redis.call('ZREM', KEYS[i], id)
  end
end
local offset, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local ids
if ARGV[3] == 'desc' then
  ids = redis.call('ZREVRANGE', KEYS[1], offset, offset + limit - 1)
else
  ids = redis.call('ZRANGE', KEYS[1], offset, offset + limit - 1)
end
return {redis.call('ZCARD', KEYS[1]), ids}
"""
)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _conversation_call(
    script: Script, conversation_id: str, *extra_args: Any, now_ms: int | None = None
) -> Any:
    """Run a per-conversation script with the keys and clock arguments of `_PRELUDE`."""
    now_ms = _now_ms() if now_ms is None else now_ms
    ttl_seconds = settings.CONVERSATION_TTL_SECONDS
    expire_at = now_ms + ttl_seconds * 1000 if ttl_seconds > 0 else 0
    keys = [
        conversation_key(conversation_id),
        messages_key(conversation_id),
        message_ids_key(conversation_id),
        SORT_INDEX_KEYS["createdAt"],
        SORT_INDEX_KEYS["lastAccessedAt"],
        SORT_INDEX_KEYS["messageCount"],
        EXPIRY_INDEX_KEY,
    ]
    args = [conversation_id, now_ms, expire_at, *extra_args]
    return script(keys=keys, args=args, client=redis_client())


def _profile_fields(agent_id: str | None, metadata: dict[str, Any] | None) -> list[str]:
    fields: list[str] = []
    if agent_id is not None:
        fields += ["agentId", agent_id]
    if metadata is not None:
        fields += ["metadata", dumps(metadata)]
    return fields


def _conversation(fields: dict[bytes, bytes], raw_messages: list[bytes]) -> AgentConversation:
    """Shape a stored hash and its message list as the frontend's AgentConversation."""
    conversation: AgentConversation = {
        "conversationId": fields[b"conversationId"].decode(),
        "messages": [loads(raw) for raw in raw_messages],
        "createdAt": from_epoch_ms(int(fields[b"createdAt"])),
        "lastAccessedAt": from_epoch_ms(int(fields[b"lastAccessedAt"])),
        "messageCount": int(fields[b"messageCount"]),
    }
    if b"agentId" in fields:
        conversation["agentId"] = fields[b"agentId"].decode()
    if b"metadata" in fields:
        conversation["metadata"] = loads(fields[b"metadata"])
    return conversation


@store_operation
def conversation_create(
    *, agent_id: str | None = None, metadata: dict[str, Any] | None = None
) -> AgentConversation:
    """Create an empty conversation with a new UUID4 id."""
    conversation_id, now_ms = str(uuid.uuid4()), _now_ms()
    fields = _profile_fields(agent_id, metadata)
    _conversation_call(_CREATE_OR_TOUCH, conversation_id, *fields, now_ms=now_ms)
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


@store_operation
def conversation_ensure(*, conversation_id: str) -> bool:
    """Create the conversation if it does not exist, else move its lastAccessedAt; True if created.

    Atomic, so concurrent first session registrations create it exactly once.
    """
    return _conversation_call(_CREATE_OR_TOUCH, conversation_id) == 1


@store_operation
def conversation_get(*, conversation_id: str) -> AgentConversation | None:
    """The conversation with its messages (moving its lastAccessedAt), or None if unknown."""
    found = _conversation_call(_GET, conversation_id)
    if not found:
        return None
    flat_fields, raw_messages = found
    fields = dict(zip(flat_fields[::2], flat_fields[1::2], strict=True))
    return _conversation(fields, raw_messages)


@store_operation
def conversation_update(
    *, conversation_id: str, agent_id: str | None = None, metadata: dict[str, Any] | None = None
) -> bool:
    """Set the conversation's agentId and/or metadata; False if it does not exist."""
    fields = _profile_fields(agent_id, metadata)
    return _conversation_call(_UPDATE, conversation_id, *fields) == 1


@store_operation
def message_append(*, conversation_id: str, message: AgentMessage) -> AppendResult | None:
    """Append a message atomically; a messageId already stored is acknowledged, not stored again.

    Returns None for an unknown conversation.
    """
    status, count = _conversation_call(
        _APPEND, conversation_id, message["messageId"], dumps(message), now_ms=_now_ms()
    )
    if status == -1:
        return None
    return AppendResult(message_id=message["messageId"], message_count=count, duplicate=status == 0)


@store_operation
def conversation_list(
    *, limit: int, offset: int, sort_by: SortBy, sort_order: SortOrder
) -> ConversationPage:
    """One page of conversations in the given order (ties by conversationId); never touches them.

    Two round trips: the ids of the page with the total, then the page's records.
    """
    client = redis_client()
    index_keys = [SORT_INDEX_KEYS[sort_by], *SORT_INDEX_KEYS.values(), EXPIRY_INDEX_KEY]
    total, ids = _LIST_IDS(keys=index_keys, args=[offset, limit, sort_order], client=client)
    pipe = client.pipeline(transaction=False)
    for raw_id in ids:
        conversation_id = raw_id.decode()
        pipe.hgetall(conversation_key(conversation_id))
        pipe.lrange(messages_key(conversation_id), 0, -1)
    replies = pipe.execute()
    conversations = [
        _conversation(fields, raw_messages)
        for fields, raw_messages in zip(replies[::2], replies[1::2], strict=True)
        if fields  # expired between the two round trips
    ]
    return ConversationPage(conversations=conversations, total=total)
