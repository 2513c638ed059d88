-- Create the conversation, or move its lastAccessedAt if it exists (then subscribers hear of it).
-- ARGV[6..]: field/value pairs of a new conversation (agentId, metadata).
-- Returns 1 if created, 0 if it existed.
if redis.call('EXISTS', conversation) == 1 then
  touch()
  publish_update('updated')
  return 0
end
redis.call('HSET', conversation, 'conversationId', id, 'createdAt', now_iso, 'messageCount', 0,
           unpack(ARGV, 6))
redis.call('ZADD', by_created, now_ms, id)
redis.call('ZADD', by_count, 0, id)
touch()
return 1
