"""Agent conversations in Redis, laid out for the frontend's access patterns.

Per conversation (all three keys share one expiry, renewed by every read or write):
  elevenlabs:conversation:{id}              hash: conversationId, createdAt, lastAccessedAt
                                            (as sent to the frontend), messageCount, agentId?,
                                            metadata? (the client's object as a JSON string)
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

Reads answer in one round trip, and the stored messages and metadata are already JSON: they
go into the response as they are, never decoded and re-encoded. The list script reads keys it
derives from the ids it pages; that is fine on a single primary (Sentinel included), not on
Redis Cluster.
"""

import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

from django.conf import settings
from redis.commands.core import Script

from elevenlabs_agent.encoding import RawJSON, dumps
from elevenlabs_agent.redis import lua_script, redis_client, store_operation
from elevenlabs_agent.timestamps import from_epoch_ms

SortBy = Literal["createdAt", "lastAccessedAt", "messageCount"]
SortOrder = Literal["asc", "desc"]


CONVERSATION_KEY_PREFIX = "elevenlabs:conversation:"
MESSAGES_KEY_SUFFIX = ":messages"


def conversation_key(conversation_id: str) -> str:
    return f"{CONVERSATION_KEY_PREFIX}{conversation_id}"


def messages_key(conversation_id: str) -> str:
    return f"{CONVERSATION_KEY_PREFIX}{conversation_id}{MESSAGES_KEY_SUFFIX}"


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
    conversations: RawJSON  # a JSON array of AgentConversation
    total: int


@dataclass(frozen=True)
class AppendResult:
    message_id: str
    message_count: int
    duplicate: bool


# What a read returns of one conversation: its hash fields (false where absent) and, last,
# its list of message JSON strings; false if the conversation is gone.
_STORED_FIELDS = ("conversationId", "createdAt", "lastAccessedAt", "messageCount", "agentId",
                  "metadata")  # fmt: skip
_READ = f"""
local function read(conversation, messages)
  local stored = redis.call('HMGET', conversation, '{"', '".join(_STORED_FIELDS)}')
  if not stored[1] then
    return false
  end
  stored[#stored + 1] = redis.call('LRANGE', messages, 0, -1)
  return stored
end
"""

# KEYS and ARGV shared by every per-conversation script (see `_conversation_call`).
_PRELUDE = (
    _READ
    + """
local conversation, messages, message_ids = KEYS[1], KEYS[2], KEYS[3]
local by_created, by_accessed, by_count, by_expiry = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local id, now_ms, now_iso, expire_at = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

-- Move lastAccessedAt and renew the sliding retention of all three keys (0: keep forever).
local function touch()
  redis.call('HSET', conversation, 'lastAccessedAt', now_iso)
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
)

# ARGV[5..]: field/value pairs for a new conversation. Returns 1 if created, 0 if it existed.
_CREATE_OR_TOUCH = lua_script(
    _PRELUDE
    + """
if redis.call('EXISTS', conversation) == 1 then
  touch()
  return 0
end
redis.call('HSET', conversation, 'conversationId', id, 'createdAt', now_iso, 'messageCount', 0,
           unpack(ARGV, 5))
redis.call('ZADD', by_created, now_ms, id)
redis.call('ZADD', by_count, 0, id)
touch()
return 1
"""
)

# Returns false for an unknown conversation, else what `read` returns.
_GET = lua_script(
    _PRELUDE
    + """
if redis.call('EXISTS', conversation) == 0 then
  return false
end
touch()
return read(conversation, messages)
"""
)

# ARGV[5]: messageId, ARGV[6]: the message JSON. Returns {status, messageCount}:
# status 1 appended, 0 duplicate messageId (nothing written), -1 unknown conversation.
_APPEND = lua_script(
    _PRELUDE
    + """
if redis.call('EXISTS', conversation) == 0 then
  return {-1, 0}
end
if redis.call('SADD', message_ids, ARGV[5]) == 0 then
  return {0, tonumber(redis.call('HGET', conversation, 'messageCount'))}
end
redis.call('RPUSH', messages, ARGV[6])
local count = redis.call('HINCRBY', conversation, 'messageCount', 1)
redis.call('ZADD', by_count, count, id)
touch()
return {1, count}
"""
)

# ARGV[5..]: field/value pairs to set. Returns 1 if updated, 0 for an unknown conversation.
_UPDATE = lua_script(
    _PRELUDE
    + """
if redis.call('EXISTS', conversation) == 0 then
  return 0
end
if #ARGV >= 5 then
  redis.call('HSET', conversation, unpack(ARGV, 5))
end
touch()
return 1
"""
)

# KEYS: the index to page, then by-created, by-accessed, by-count, by-expiry.
# ARGV: offset, limit, 'asc' or 'desc', then the key prefix and the messages key suffix.
# Returns {total, then what `read` returns for each conversation of the page}.
_LIST_PAGE = lua_script(
    _READ
    + """
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
local page = {redis.call('ZCARD', KEYS[1])}
for _, id in ipairs(ids) do
  page[#page + 1] = read(ARGV[4] .. id, ARGV[4] .. id .. ARGV[5])
end
return page
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
    args = [conversation_id, now_ms, from_epoch_ms(now_ms), expire_at, *extra_args]
    return script(keys=keys, args=args, client=redis_client())


def _conversation_json(stored: list) -> RawJSON:
    """The AgentConversation JSON of what `read` returned, embedding the stored JSON as is."""
    conversation_id, created_at, last_accessed_at, count, agent_id, metadata, messages = stored
    conversation = {
        "conversationId": conversation_id.decode(),
        "messages": RawJSON(b"[" + b",".join(messages) + b"]"),
        "createdAt": created_at.decode(),
        "lastAccessedAt": last_accessed_at.decode(),
        "messageCount": int(count),
    }
    if agent_id is not None:
        conversation["agentId"] = agent_id.decode()
    if metadata is not None:
        conversation["metadata"] = RawJSON(metadata)
    return RawJSON(dumps(conversation))


def _profile_fields(agent_id: str | None, metadata: dict[str, Any] | None) -> list[str | bytes]:
    fields: list[str | bytes] = []
    if agent_id is not None:
        fields += ["agentId", agent_id]
    if metadata is not None:
        fields += ["metadata", dumps(metadata)]
    return fields


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
def conversation_get(*, conversation_id: str) -> RawJSON | None:
    """The conversation as AgentConversation JSON (moving its lastAccessedAt); None if unknown."""
    stored = _conversation_call(_GET, conversation_id)
    return _conversation_json(stored) if stored else None


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
        _APPEND, conversation_id, message["messageId"], dumps(message)
    )
    if status == -1:
        return None
    return AppendResult(message_id=message["messageId"], message_count=count, duplicate=status == 0)


@store_operation
def conversation_list(
    *, limit: int, offset: int, sort_by: SortBy, sort_order: SortOrder
) -> ConversationPage:
    """One page of conversations in the given order (ties by conversationId); never touches them.

    One round trip: the total and the stored pieces of the page's conversations.
    """
    index_keys = [SORT_INDEX_KEYS[sort_by], *SORT_INDEX_KEYS.values(), EXPIRY_INDEX_KEY]
    args = [offset, limit, sort_order, CONVERSATION_KEY_PREFIX, MESSAGES_KEY_SUFFIX]
    total, *page = _LIST_PAGE(keys=index_keys, args=args, client=redis_client())
    conversations = [_conversation_json(stored) for stored in page if stored]
    return ConversationPage(
        conversations=RawJSON(b"[" + b",".join(c.encoded for c in conversations) + b"]"),
        total=total,
    )
