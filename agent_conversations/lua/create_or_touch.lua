-- Create the conversation, or move its lastAccessedAt if it exists (then subscribers hear of it).
-- own_key(1) (optional): a key to SET in the same step, with own_arg(1) its value and own_arg(2)
--   its TTL in milliseconds (a session registration: its record and its conversation, all or
--   nothing).
-- own_arg(3): an ElevenLabs conversation id to map to this conversation, or ''.
-- own_arg(4): the agentId of a new conversation, or ''; own_arg(5): its metadata JSON, or ''.
-- Returns 1 if created, 0 if it existed.
before_writing(own_arg(4) ~= '' and own_arg(4) or nil)
if own_key(1) then
  redis.call('SET', own_key(1), own_arg(1), 'PX', own_arg(2))
end
if own_arg(3) ~= '' then
  remember_elevenlabs_id(ctx.by_elevenlabs_id, ctx.elevenlabs_ids, id, own_arg(3))
end
if redis.call('EXISTS', conversation) == 1 then
  touch()
  publish_update('updated')
  return 0
end
redis.call('HSET', conversation, 'conversationId', id, 'createdAt', now_iso, 'messageCount', 0,
           'storedBytes', 0)
local agent_id = nil
if own_arg(4) ~= '' then
  agent_id = own_arg(4)
  set_agent(agent_id)
end
if own_arg(5) ~= '' then
  redis.call('HSET', conversation, 'metadata', own_arg(5))
end
index_score(ctx, agent_id, 'created', now_ms, id)
index_score(ctx, agent_id, 'count', 0, id)
touch()
return 1
