-- Append one message, idempotently by messageId. ARGV[6]: messageId, ARGV[7]: the message JSON.
-- Returns {status, messageCount}: status 1 appended, 0 duplicate messageId (nothing written),
-- -1 unknown conversation. Cost does not depend on how many messages are stored.
if redis.call('EXISTS', conversation) == 0 then
  return {-1, 0}
end
if redis.call('SADD', message_ids, ARGV[6]) == 0 then
  return {0, tonumber(redis.call('HGET', conversation, 'messageCount'))}
end
redis.call('RPUSH', messages, ARGV[7])
local count = redis.call('HINCRBY', conversation, 'messageCount', 1)
redis.call('ZADD', by_count, count, id)
touch()
publish_update('message_added', ARGV[7])
return {1, count}
