-- Set agentId and/or metadata. ARGV[6..]: field/value pairs to set.
-- Returns 1 if updated, 0 for an unknown conversation.
if redis.call('EXISTS', conversation) == 0 then
  return 0
end
if #ARGV >= 6 then
  redis.call('HSET', conversation, unpack(ARGV, 6))
end
touch()
publish_update('updated')
return 1
