-- Shared by every script that reads or writes one conversation (store.py's `conversation_call`).
-- KEYS: 1 conversation hash, 2 messages list, 3 message-index hash, then the global indexes
--       4 by-created-at, 5 by-last-accessed-at, 6 by-message-count, 7 by-expiry, 8 by-elevenlabs-id,
--       9 elevenlabs-ids, 10 agent-ids (indexes.lua), 11 the key that says the conversation is
--       watched (cluster mode only: store.py's watched_key); a script's own keys: own_key(1), ...
-- ARGV: 1 conversation id, 2 now (epoch ms), 3 now (ISO-8601, as the frontend shows it),
--       4 when the keys expire (epoch ms; '0' keeps them forever), 5 the live-update channel,
--       6 most messages a conversation holds, 7 most bytes of message JSON it holds (caps that
--       keep every read of it short), 8 the per-agent index prefix, 9 '1' in cluster mode, else
--       ''; a script's own arguments: own_arg(1), ...
local conversation, messages, message_index = KEYS[1], KEYS[2], KEYS[3]
local ctx = {created = KEYS[4], accessed = KEYS[5], count = KEYS[6], expiry = KEYS[7],
             by_elevenlabs_id = KEYS[8], elevenlabs_ids = KEYS[9], agent_ids = KEYS[10],
             agent_prefix = ARGV[8]}
local watched_key = KEYS[11]
local id, now_ms, now_iso, expire_at, live_channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local most_messages, most_bytes = tonumber(ARGV[6]), tonumber(ARGV[7])
local cluster = ARGV[9] == '1'

local function own_key(n)
  return KEYS[11 + n]
end

local function own_arg(n)
  return ARGV[9 + n]
end

-- The call is alive: its session record (a key of another store) lives `ttl_ms` more, from now.
-- A session that is gone (expired, removed) stays gone.
local function session_alive(session, ttl_ms)
  if session and tonumber(ttl_ms) > 0 then
    redis.call('PEXPIRE', session, ttl_ms)
  end
end

local function agent_of_conversation()
  return redis.call('HGET', conversation, 'agentId') or nil
end

-- Make agent_id the conversation's agent: in its hash, and in agent-ids, which outlives the
-- conversation's keys so that its agent's indexes can still be cleaned once they expire.
local function set_agent(agent_id)
  redis.call('HSET', conversation, 'agentId', agent_id)
  redis.call('HSET', ctx.agent_ids, id, agent_id)
end

-- Move lastAccessedAt and renew the sliding retention of the conversation's keys.
local function touch()
  redis.call('HSET', conversation, 'lastAccessedAt', now_iso)
  local agent_id = agent_of_conversation()
  index_score(ctx, agent_id, 'accessed', now_ms, id)
  for _, key in ipairs({conversation, messages, message_index}) do
    if expire_at == '0' then
      redis.call('PERSIST', key)
    else
      redis.call('PEXPIREAT', key, expire_at)
    end
  end
  for _, indexes in ipairs(index_sets(ctx, agent_id)) do
    if expire_at == '0' then
      redis.call('ZREM', indexes.expiry, id)
    else
      redis.call('ZADD', indexes.expiry, expire_at, id)
    end
  end
end

-- Tell the live subscribers of this conversation what changed, as the wire frame itself
-- (agent_conversations/live.py relies on how it begins).
-- Published from inside the write, so frames leave in the order the writes happened; and only
-- when some process subscribes, so a write nobody watches never builds the conversation.
-- In cluster mode NUMSUB counts only this node's subscribers, while the cluster passes a PUBLISH
-- to every node: there, sockets keep a lease on watched_key instead.
local function watched()
  if cluster then
    return redis.call('EXISTS', watched_key) == 1
  end
  return redis.call('PUBSUB', 'NUMSUB', live_channel)[2] > 0
end

local function publish(frame)
  if watched() then
    redis.call('PUBLISH', live_channel, frame)
  end
end

local function publish_update(reason, message_json)
  if not watched() then
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
  if redis.call('HEXISTS', message_index, message_id) == 1 then
    return DUPLICATE, count
  end
  local stored_bytes = tonumber(redis.call('HGET', conversation, 'storedBytes') or '0')
  if count >= most_messages or stored_bytes + #message_json > most_bytes then
    return FULL, count
  end
  local length = redis.call('RPUSH', messages, message_json)
  redis.call('HSET', message_index, message_id, length - 1)
  count = redis.call('HINCRBY', conversation, 'messageCount', 1)
  redis.call('HINCRBY', conversation, 'storedBytes', #message_json)
  index_score(ctx, agent_of_conversation(), 'count', count, id)
  return APPENDED, count
end

-- Cluster mode, while the shard's slot moves to another primary: a key that a script derives
-- rather than declares (an agent's indexes) may be gone from here already, and touching it then
-- is an error that stops the script where it is. So a script touches each one first, before it
-- writes anything (store.py runs it again once the slot has moved).
local function before_writing(agent_id)
  if cluster and agent_id then
    touch_agent_indexes(ctx, agent_id)
  end
end

before_writing(agent_of_conversation())
-- Every read and write of a conversation sweeps a few expired conversations from the indexes.
sweep_expired(ctx, ctx.expiry, 10)
