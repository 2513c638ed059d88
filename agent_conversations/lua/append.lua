-- Append one message, idempotently by messageId, within the conversation's caps.
-- ARGV[6]: messageId, ARGV[7]: the message JSON, ARGV[8]: most messages a conversation holds,
-- ARGV[9]: most bytes of message JSON it holds (caps that keep every read of it short).
-- Returns {status, messageCount}: status 1 appended, 0 duplicate messageId, -1 unknown
-- conversation, -2 full; nothing is written unless 1. Cost does not depend on how many
-- messages are stored.
if redis.call('EXISTS', conversation) == 0 then
  return {-1, 0}
end
local count = tonumber(redis.call('HGET', conversation, 'messageCount'))
if redis.call('SISMEMBER', message_ids, ARGV[6]) == 1 then
  return {0, count}
end
local stored_bytes = tonumber(redis.call('HGET', conversation, 'storedBytes') or '0')
if count >= tonumber(ARGV[8]) or stored_bytes + #ARGV[7] > tonumber(ARGV[9]) then
  return {-2, count}
end
redis.call('SADD', message_ids, ARGV[6])
redis.call('RPUSH', messages, ARGV[7])
count = redis.call('HINCRBY', conversation, 'messageCount', 1)
redis.call('HINCRBY', conversation, 'storedBytes', #ARGV[7])
redis.call('ZADD', by_count, count, id)
touch()
publish_update('message_added', ARGV[7])
return {1, count}
