-- task_check(task, as_read): what task_finish and task_refused answer without writing anything,
-- or nil to go on. -3: the task is no longer what the caller read (another step finished it
-- first, and its result stands); -1: the conversation is gone. Runs after prelude.lua.
local function task_check(task, as_read)
  if redis.call('GET', task) ~= as_read then
    return -3
  end
  if redis.call('EXISTS', conversation) == 0 then
    return -1
  end
  return nil
end
