-- Append one message (append_message in prelude.lua). own_arg(1): messageId, own_arg(2): its JSON.
-- Returns {outcome, messageCount}: APPENDED, DUPLICATE, FULL, or -1 for an unknown conversation.
if redis.call('EXISTS', conversation) == 0 then
  return {-1, 0}
end
local outcome, count = append_message(own_arg(1), own_arg(2))
if outcome == APPENDED then
  touch()
  publish_update('message_added', own_arg(2))
end
return {outcome, count}
