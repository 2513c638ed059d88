-- Append one message (append_message in prelude.lua). ARGV[8]: messageId, ARGV[9]: its JSON.
-- Returns {outcome, messageCount}: APPENDED, DUPLICATE, FULL, or -1 for an unknown conversation.
if redis.call('EXISTS', conversation) == 0 then
  return {-1, 0}
end
local outcome, count = append_message(ARGV[8], ARGV[9])
if outcome == APPENDED then
  touch()
  publish_update('message_added', ARGV[9])
end
return {outcome, count}
