-- Start a task: its record and its pending message in one step, before anything is dispatched
-- (so a crash leaves a visible pending task, never a lost one). Runs after prelude.lua.
-- own_key(1): the task key, own_key(2): the conversation's session (none in cluster mode, where
-- it is in another slot: the caller keeps it alive).
-- own_arg(1): the task JSON, own_arg(2): its TTL (ms), own_arg(3): the message's messageId,
-- own_arg(4): the message JSON, own_arg(5): the session's TTL (ms): a tool call is a sign the
-- call is alive, so its session lives on from it.
-- Returns {outcome, index of the message in the messages list}: APPENDED; FULL (nothing is
-- written); -1 unknown conversation.
if redis.call('EXISTS', conversation) == 0 then
  return {-1, 0}
end
session_alive(own_key(2), own_arg(5))
local outcome, count = append_message(own_arg(3), own_arg(4))
if outcome == FULL then
  return {outcome, count}
end
redis.call('SET', own_key(1), own_arg(1), 'PX', own_arg(2))
touch()
publish_update('message_added', own_arg(4))
return {outcome, count - 1}
