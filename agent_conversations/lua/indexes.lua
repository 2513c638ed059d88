-- The indexes across conversations (the whole layout: store.py's docstring). Every script that
-- writes them builds `ctx` from its KEYS and ARGV:
--   ctx.created, ctx.accessed, ctx.count, ctx.expiry   the global sorted sets of conversation ids
--   ctx.by_elevenlabs_id, ctx.elevenlabs_ids            the ElevenLabs id maps (elevenlabs_ids.lua)
--   ctx.agent_ids      hash: conversation id -> its agentId, so that a conversation gone with
--                      its keys can still be found in its agent's indexes
--   ctx.agent_prefix   the per-agent sorted sets are <agent_prefix><agentId>:by-created-at,
--                      ...:by-last-accessed-at, ...:by-message-count, ...:by-expiry (derived
--                      from the agent id here: fine on one primary, not on Redis Cluster)

local function agent_indexes(ctx, agent_id)
  local base = ctx.agent_prefix .. agent_id
  return {created = base .. ':by-created-at', accessed = base .. ':by-last-accessed-at',
          count = base .. ':by-message-count', expiry = base .. ':by-expiry'}
end

-- The index sets a conversation belongs to: the global one and, with an agent, its agent's.
local function index_sets(ctx, agent_id)
  if agent_id then
    return {ctx, agent_indexes(ctx, agent_id)}
  end
  return {ctx}
end

-- Set the conversation's score in one index (`which`: created, accessed, count or expiry) of
-- every set it belongs to.
local function index_score(ctx, agent_id, which, score, id)
  for _, indexes in ipairs(index_sets(ctx, agent_id)) do
    redis.call('ZADD', indexes[which], score, id)
  end
end

-- Read each of an agent's indexes (see before_writing in prelude.lua).
local function touch_agent_indexes(ctx, agent_id)
  for _, key in pairs(agent_indexes(ctx, agent_id)) do
    redis.call('EXISTS', key)
  end
end

local function index_remove(indexes, id)
  redis.call('ZREM', indexes.created, id)
  redis.call('ZREM', indexes.accessed, id)
  redis.call('ZREM', indexes.count, id)
  redis.call('ZREM', indexes.expiry, id)
end

-- Drop the conversation from every index and forget its ElevenLabs ids and its agent.
local function forget_conversation(ctx, id)
  index_remove(ctx, id)
  local agent_id = redis.call('HGET', ctx.agent_ids, id)
  if agent_id then
    index_remove(agent_indexes(ctx, agent_id), id)
    redis.call('HDEL', ctx.agent_ids, id)
  end
  forget_elevenlabs_ids(ctx.by_elevenlabs_id, ctx.elevenlabs_ids, id)
end

-- Forget up to `most` conversations whose keys Redis has expired, as listed in `by_expiry`
-- (the global by-expiry, or an agent's). Returns how many expired ones that index still holds.
-- An id's by-expiry score is exactly its keys' PEXPIREAT, and Redis's own clock decides both,
-- so an id leaves the indexes once its keys are gone, never before. Writes sweep a few each
-- and list pages sweep more (list_page.lua): the indexes stay in proportion to the live
-- conversations without any one call doing much.
local function sweep_expired(ctx, by_expiry, most)
  local clock = redis.call('TIME')
  local now = '(' .. (clock[1] * 1000 + math.floor(clock[2] / 1000))
  local expired = redis.call('ZRANGEBYSCORE', by_expiry, '-inf', now, 'LIMIT', 0, most)
  for _, gone in ipairs(expired) do  -- every key it derives is read before any is written
    local agent_id = redis.call('HGET', ctx.agent_ids, gone)
    if agent_id then
      touch_agent_indexes(ctx, agent_id)
    end
  end
  for _, gone in ipairs(expired) do
    forget_conversation(ctx, gone)
  end
  return redis.call('ZCOUNT', by_expiry, '-inf', now)
end
