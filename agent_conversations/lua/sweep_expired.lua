-- sweep_expired(indexes, by_expiry, id_maps, most): drop up to `most` conversations whose keys
-- Redis has expired from every index (by-expiry among them) and forget their ElevenLabs ids
-- (id_maps: {by_elevenlabs_id, elevenlabs_ids}, see elevenlabs_ids.lua). Returns how many
-- expired ones are still indexed. An id's by-expiry score is exactly its keys' PEXPIREAT, and
-- Redis's own clock decides both, so an id leaves the indexes once its keys are gone, never
-- before. Writes sweep a few each and list pages sweep more (list_page.lua): the indexes stay
-- in proportion to the live conversations without any one call doing much.
local function sweep_expired(indexes, by_expiry, id_maps, most)
  local clock = redis.call('TIME')
  local now = '(' .. (clock[1] * 1000 + math.floor(clock[2] / 1000))
  local expired = redis.call('ZRANGEBYSCORE', by_expiry, '-inf', now, 'LIMIT', 0, most)
  for _, gone in ipairs(expired) do
    for _, index in ipairs(indexes) do
      redis.call('ZREM', index, gone)
    end
    forget_elevenlabs_ids(id_maps[1], id_maps[2], gone)
  end
  return redis.call('ZCOUNT', by_expiry, '-inf', now)
end
