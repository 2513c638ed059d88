-- Start a task: its record and its pending message in one step, before anything is dispatched
-- (so a crash leaves a visible pending task, never a lost one). Runs after prelude.lua.
-- KEYS[10]: the task key.
-- ARGV[8]: the task JSON, ARGV[9]: its TTL (ms), ARGV[10]: the message's messageId,
-- ARGV[11]: the message JSON.
-- Returns {outcome, index of the message in the messages list}: APPENDED; FULL (nothing is
-- written); -1 unknown conversation.
if redis.call('EXISTS', conversation) == 0 then
  return {-1, 0}
end
local outcome, count = append_message(ARGV[10], ARGV[11])
if outcome == FULL then
  return {outcome, count}
end
redis.call('SET', KEYS[10], ARGV[8], 'PX', ARGV[9])
touch()
publish_update('message_added', ARGV[11])
return {outcome, count - 1}
