-- Append one message (append_message in prelude.lua). own_arg(1): messageId, own_arg(2): its JSON;
-- for a voice message, own_key(1) the conversation's session and own_arg(3) its TTL (ms): a
-- voice message is a sign the call is alive, so the session lives on from it.
-- Returns {outcome, messageCount}: APPENDED, DUPLICATE, FULL, or -1 for an unknown conversation.
if redis.call('EXISTS', conversation) == 0 then
  return {-1, 0}
end
local outcome, count = append_message(own_arg(1), own_arg(2))
if outcome == APPENDED then
  touch()
  publish_update('message_added', own_arg(2))
end
session_alive(own_key(1), own_arg(3) or '0')
return {outcome, count}
