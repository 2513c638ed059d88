-- Shared by every script that reads or writes one conversation (store.py's `_conversation_call`).
-- KEYS: 1 conversation hash, 2 messages list, 3 message-ids set, then the sorted-set indexes
--       4 by-created-at, 5 by-last-accessed-at, 6 by-message-count, 7 by-expiry, then the
--       ElevenLabs id maps 8 by-elevenlabs-id, 9 elevenlabs-ids (elevenlabs_ids.lua); each
--       script's own keys start at KEYS[10].
-- ARGV: 1 conversation id, 2 now (epoch ms), 3 now (ISO-8601, as the frontend shows it),
--       4 when the keys expire (epoch ms; '0' keeps them forever), 5 the live-update channel,
--       6 most messages a conversation holds, 7 most bytes of message JSON it holds (caps that
--       keep every read of it short); each script's own arguments start at ARGV[8].
local conversation, messages, message_ids = KEYS[1], KEYS[2], KEYS[3]
local by_created, by_accessed, by_count, by_expiry = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local by_elevenlabs_id, elevenlabs_ids = KEYS[8], KEYS[9]
local id, now_ms, now_iso, expire_at, live_channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local most_messages, most_bytes = tonumber(ARGV[6]), tonumber(ARGV[7])

-- Move lastAccessedAt and renew the sliding retention of all three keys; and, as every read
-- and write of a conversation does, sweep a few expired conversations from the indexes.
local function touch()
  sweep_expired({by_created, by_accessed, by_count, by_expiry}, by_expiry,
                {by_elevenlabs_id, elevenlabs_ids}, 10)
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

-- append_message's outcomes (store.py names them too).
local APPENDED, DUPLICATE, FULL = 1, 0, -2

-- Append one message to the existing conversation, idempotently by messageId and within its
-- caps; the caller touches the conversation and publishes. Returns the outcome and the
-- messageCount; nothing is written unless APPENDED. Its cost does not depend on how many
-- messages are stored.
local function append_message(message_id, message_json)
  local count = tonumber(redis.call('HGET', conversation, 'messageCount'))
  if redis.call('SISMEMBER', message_ids, message_id) == 1 then
    return DUPLICATE, count
  end
  local stored_bytes = tonumber(redis.call('HGET', conversation, 'storedBytes') or '0')
  if count >= most_messages or stored_bytes + #message_json > most_bytes then
    return FULL, count
  end
  redis.call('SADD', message_ids, message_id)
  redis.call('RPUSH', messages, message_json)
  count = redis.call('HINCRBY', conversation, 'messageCount', 1)
  redis.call('HINCRBY', conversation, 'storedBytes', #message_json)
  redis.call('ZADD', by_count, count, id)
  return APPENDED, count
end
