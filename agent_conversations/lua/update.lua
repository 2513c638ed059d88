-- Set agentId and/or metadata (metadata replaced as a whole), moving the conversation to its new
-- agent's indexes. own_arg(1): the agentId, or '' to keep it; own_arg(2): the metadata JSON, or ''
-- to keep it. Returns the conversation's JSON, or false for an unknown conversation.
if redis.call('EXISTS', conversation) == 0 then
  return false
end
local old_agent, new_agent = agent_of_conversation(), own_arg(1)
before_writing(new_agent ~= '' and new_agent or nil)
if new_agent ~= '' and new_agent ~= old_agent then
  if old_agent then
    index_remove(agent_indexes(ctx, old_agent), id)
  end
  local moved = agent_indexes(ctx, new_agent)
  redis.call('ZADD', moved.created, redis.call('ZSCORE', ctx.created, id), id)
  redis.call('ZADD', moved.count, redis.call('HGET', conversation, 'messageCount'), id)
  set_agent(new_agent)
end
if own_arg(2) ~= '' then
  redis.call('HSET', conversation, 'metadata', own_arg(2))
end
touch()  -- sets lastAccessedAt and expiry in every index the conversation is in now
publish_update('updated')
return conversation_json(conversation, messages)
