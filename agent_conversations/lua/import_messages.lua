-- Import a call's transcript: its messages, idempotently by messageId, and the conversation's
-- new metadata, then one `updated` frame (not one per message).
-- own_arg(1): the metadata JSON as the caller read it ('' for none), own_arg(2): the new
-- metadata JSON; from own_arg(3): messageId, message JSON, messageId, message JSON, ...
-- Returns {1, imported, duplicates, refused as full}; {-1} for an unknown conversation, {-3}
-- when the metadata changed since the caller read it (nothing is written: read and try again).
if redis.call('EXISTS', conversation) == 0 then
  return {-1}
end
if (redis.call('HGET', conversation, 'metadata') or '') ~= own_arg(1) then
  return {-3}
end
redis.call('HSET', conversation, 'metadata', own_arg(2))
local tally = {[APPENDED] = 0, [DUPLICATE] = 0, [FULL] = 0}
local n = 3
while own_arg(n) do
  local outcome = append_message(own_arg(n), own_arg(n + 1))
  tally[outcome] = tally[outcome] + 1
  n = n + 2
end
touch()
publish_update('updated')
return {1, tally[APPENDED], tally[DUPLICATE], tally[FULL]}
