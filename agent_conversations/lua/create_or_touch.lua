-- Create the conversation, or move its lastAccessedAt if it exists (then subscribers hear of it).
-- KEYS[8] (optional): a key to SET in the same step, with ARGV[6] its value and ARGV[7] its TTL
--   in milliseconds (a session registration: its record and its conversation, all or nothing).
-- ARGV[8..]: field/value pairs of a new conversation (agentId, metadata).
-- Returns 1 if created, 0 if it existed.
if KEYS[8] then
  redis.call('SET', KEYS[8], ARGV[6], 'PX', ARGV[7])
end
if redis.call('EXISTS', conversation) == 1 then
  touch()
  publish_update('updated')
  return 0
end
redis.call('HSET', conversation, 'conversationId', id, 'createdAt', now_iso, 'messageCount', 0,
           'storedBytes', 0,
           unpack(ARGV, 8))
redis.call('ZADD', by_created, now_ms, id)
redis.call('ZADD', by_count, 0, id)
touch()
return 1
