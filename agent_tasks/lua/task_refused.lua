-- cursor-runner refused the task, or could not be reached: the task and its pending message
-- become failed. Runs after prelude.lua.
-- KEYS[10]: the task.
-- ARGV[8]: the task JSON as started, ARGV[9]: the failed task JSON, ARGV[10]: the index of
-- the started message, ARGV[11]: that message's JSON as stored, ARGV[12]: its failed JSON.
-- Returns -3 when a callback already finished the task (it decides: nothing is written), -1
-- for an unknown conversation, else 1.
local refusal = task_check(KEYS[10], ARGV[8])
if refusal then
  return refusal
end
redis.call('SET', KEYS[10], ARGV[9], 'KEEPTTL')
if redis.call('LINDEX', messages, ARGV[10]) == ARGV[11] then
  redis.call('LSET', messages, ARGV[10], ARGV[12])
  redis.call('HINCRBY', conversation, 'storedBytes', #ARGV[12] - #ARGV[11])
end
touch()
publish_update('updated')
return 1
