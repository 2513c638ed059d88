-- Create the conversation, or move its lastAccessedAt if it exists (then subscribers hear of it).
-- KEYS[10] (optional): a key to SET in the same step, with ARGV[8] its value and ARGV[9] its TTL
--   in milliseconds (a session registration: its record and its conversation, all or nothing).
-- ARGV[10]: an ElevenLabs conversation id to map to this conversation, or ''.
-- ARGV[11..]: field/value pairs of a new conversation (agentId, metadata).
-- Returns 1 if created, 0 if it existed.
if KEYS[10] then
  redis.call('SET', KEYS[10], ARGV[8], 'PX', ARGV[9])
end
if ARGV[10] ~= '' then
  remember_elevenlabs_id(by_elevenlabs_id, elevenlabs_ids, id, ARGV[10])
end
if redis.call('EXISTS', conversation) == 1 then
  touch()
  publish_update('updated')
  return 0
end
redis.call('HSET', conversation, 'conversationId', id, 'createdAt', now_iso, 'messageCount', 0,
           'storedBytes', 0,
           unpack(ARGV, 11))
redis.call('ZADD', by_created, now_ms, id)
redis.call('ZADD', by_count, 0, id)
touch()
return 1
