-- Finish a task as its callback reports: its record, its closing message and, when the
-- conversation has a live session, a push for the agent, kept until the browser acknowledges
-- it (agent_conversations/store.py: pushes_pending). Runs after prelude.lua.
-- KEYS[10]: the task, KEYS[11]: the conversation's session, KEYS[12]: its pushes hash.
-- ARGV[8]: the task JSON as the caller read it, ARGV[9]: the finished task JSON,
-- ARGV[10]: the closing message's messageId, ARGV[11]: its JSON, ARGV[12]: the push's
-- deliveryId, ARGV[13]: the push as kept in the pushes hash, ARGV[14]: the push frame.
-- Returns -3 when the task is no longer what the caller read (another callback came first:
-- nothing is written), -1 for an unknown conversation (nothing is written), else the closing
-- message's outcome (a full conversation keeps the task's result, not the message).
local refusal = task_check(KEYS[10], ARGV[8])
if refusal then
  return refusal
end
redis.call('SET', KEYS[10], ARGV[9], 'KEEPTTL')
local outcome = append_message(ARGV[10], ARGV[11])
touch()
if outcome == APPENDED then
  publish_update('message_added', ARGV[11])
end
if redis.call('EXISTS', KEYS[11]) == 1 then
  redis.call('HSET', KEYS[12], ARGV[12], ARGV[13])
  -- The pushes expire with the newest one's task.
  local task_ttl = redis.call('PTTL', KEYS[10])
  if task_ttl > redis.call('PTTL', KEYS[12]) then
    redis.call('PEXPIRE', KEYS[12], task_ttl)
  end
  if redis.call('PUBSUB', 'NUMSUB', live_channel)[2] > 0 then
    redis.call('PUBLISH', live_channel, ARGV[14])
  end
end
return outcome
