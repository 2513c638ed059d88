-- Read the conversation and count it as used. Returns its JSON, or false if unknown.
if redis.call('EXISTS', conversation) == 0 then
  return false
end
touch()
return conversation_json(conversation, messages)
