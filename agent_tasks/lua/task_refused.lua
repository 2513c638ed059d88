-- cursor-runner refused the task, or could not be reached: the task and its pending message
-- become failed. Runs after prelude.lua.
-- own_key(1): the task.
-- own_arg(1): the task JSON as started, own_arg(2): the failed task JSON, own_arg(3): the index of
-- the started message, own_arg(4): that message's JSON as stored, own_arg(5): its failed JSON.
-- Returns -3 when a callback already finished the task (it decides: nothing is written), -1
-- for an unknown conversation, else 1.
local refusal = task_check(own_key(1), own_arg(1))
if refusal then
  return refusal
end
redis.call('SET', own_key(1), own_arg(2), 'KEEPTTL')
if redis.call('LINDEX', messages, own_arg(3)) == own_arg(4) then
  redis.call('LSET', messages, own_arg(3), own_arg(5))
  redis.call('HINCRBY', conversation, 'storedBytes', #own_arg(5) - #own_arg(4))
end
touch()
publish_update('updated')
return 1
