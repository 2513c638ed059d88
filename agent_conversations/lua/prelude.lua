-- Shared by every script that reads or writes one conversation (store.py's `_conversation_call`).
-- KEYS: 1 conversation hash, 2 messages list, 3 message-ids set, then the sorted-set indexes
--       4 by-created-at, 5 by-last-accessed-at, 6 by-message-count, 7 by-expiry.
-- ARGV: 1 conversation id, 2 now (epoch ms), 3 now (ISO-8601, as the frontend shows it),
--       4 when the keys expire (epoch ms; '0' keeps them forever), 5 the live-update channel;
--       each script's own arguments start at ARGV[6].
local conversation, messages, message_ids = KEYS[1], KEYS[2], KEYS[3]
local by_created, by_accessed, by_count, by_expiry = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local id, now_ms, now_iso, expire_at, live_channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

-- Move lastAccessedAt and renew the sliding retention of all three keys; and, as every read
-- and write of a conversation does, sweep a few expired conversations from the indexes.
local function touch()
  sweep_expired({by_created, by_accessed, by_count, by_expiry}, by_expiry, 10)
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

-- Tell the live subscribers of this conversation what changed, as the wire frame itself
-- (agent_conversations/live.py relies on how it begins).
-- Published from inside the write, so frames leave in the order the writes happened; and only
-- when some process subscribes, so a write nobody watches never builds the conversation.
local function publish_update(reason, message_json)
  if redis.call('PUBSUB', 'NUMSUB', live_channel)[2] == 0 then
    return
  end
  local frame = '{"type":"agent_conversation.updated","conversationId":' .. cjson.encode(id)
    .. ',"reason":"' .. reason .. '","conversation":' .. conversation_json(conversation, messages)
  if message_json then
    frame = frame .. ',"message":' .. message_json
  end
  redis.call('PUBLISH', live_channel, frame .. '}')
end
