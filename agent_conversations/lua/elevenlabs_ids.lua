-- The ElevenLabs conversation ids that name a conversation (the `sessionId` a browser registers,
-- or the call a post-call transcript was imported from): tool calls, callbacks and transcripts
-- arrive with that id, long after the 10-minute session, so the mapping lives as long as the
-- conversation does.
--   by_elevenlabs_id: hash, ElevenLabs conversation id -> conversation id
--   elevenlabs_ids:   hash, conversation id -> JSON array of its ElevenLabs ids (oldest first)
-- Neither expires by itself: sweep_expired and the delete script forget a conversation's ids
-- when the conversation goes.

-- A conversation keeps this many ids (one per call); registering more forgets the oldest.
local MOST_ELEVENLABS_IDS = 16

local function forget_elevenlabs_ids(by_elevenlabs_id, elevenlabs_ids, id)
  local stored = redis.call('HGET', elevenlabs_ids, id)
  if not stored then
    return
  end
  for _, elevenlabs_id in ipairs(cjson.decode(stored)) do
    if redis.call('HGET', by_elevenlabs_id, elevenlabs_id) == id then
      redis.call('HDEL', by_elevenlabs_id, elevenlabs_id)
    end
  end
  redis.call('HDEL', elevenlabs_ids, id)
end

-- Map elevenlabs_id to conversation `id` (taking it from any conversation it named before).
local function remember_elevenlabs_id(by_elevenlabs_id, elevenlabs_ids, id, elevenlabs_id)
  if redis.call('HGET', by_elevenlabs_id, elevenlabs_id) == id then
    return
  end
  redis.call('HSET', by_elevenlabs_id, elevenlabs_id, id)
  local stored = redis.call('HGET', elevenlabs_ids, id)
  local known = stored and cjson.decode(stored) or {}
  known[#known + 1] = elevenlabs_id
  if #known > MOST_ELEVENLABS_IDS then
    local oldest = table.remove(known, 1)
    if redis.call('HGET', by_elevenlabs_id, oldest) == id then
      redis.call('HDEL', by_elevenlabs_id, oldest)
    end
  end
  redis.call('HSET', elevenlabs_ids, id, cjson.encode(known))
end
