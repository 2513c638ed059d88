-- Finish a task as its callback reports: its record, its closing message and, when the
-- conversation has a live session, a push for the agent, kept until the browser acknowledges
-- it (agent_conversations/store.py: conversation_snapshot). Runs after prelude.lua.
-- own_key(1): the task, own_key(2): the conversation's pushes hash, own_key(3): its session
-- (in cluster mode, where the session is in another slot: none, and own_arg(8) is '1' when the
-- caller found the session).
-- own_arg(1): the task JSON as the caller read it, own_arg(2): the finished task JSON,
-- own_arg(3): the closing message's messageId, own_arg(4): its JSON, own_arg(5): the push's
-- deliveryId, own_arg(6): the push as kept in the pushes hash, own_arg(7): the push frame.
-- Returns -3 when the task is no longer what the caller read (another callback came first:
-- nothing is written), -1 for an unknown conversation (nothing is written), else the closing
-- message's outcome (a full conversation keeps the task's result, not the message).
local refusal = task_check(own_key(1), own_arg(1))
if refusal then
  return refusal
end
redis.call('SET', own_key(1), own_arg(2), 'KEEPTTL')
local outcome = append_message(own_arg(3), own_arg(4))
touch()
if outcome == APPENDED then
  publish_update('message_added', own_arg(4))
end
local live
if own_key(3) then
  live = redis.call('EXISTS', own_key(3)) == 1
else
  live = own_arg(8) == '1'
end
if live then
  redis.call('HSET', own_key(2), own_arg(5), own_arg(6))
  -- The pushes expire with the newest one's task.
  local task_ttl = redis.call('PTTL', own_key(1))
  if task_ttl > redis.call('PTTL', own_key(2)) then
    redis.call('PEXPIRE', own_key(2), task_ttl)
  end
  publish(own_arg(7))
end
return outcome
