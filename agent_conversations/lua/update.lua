-- Set agentId and/or metadata. ARGV[8..]: field/value pairs to set.
-- Returns 1 if updated, 0 for an unknown conversation.
if redis.call('EXISTS', conversation) == 0 then
  return 0
end
if #ARGV >= 8 then
  redis.call('HSET', conversation, unpack(ARGV, 8))
end
touch()
publish_update('updated')
return 1
