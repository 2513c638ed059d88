-- The call is over (ElevenLabs' post-call webhook): remove the conversation's session record if
-- it is that call's. KEYS[1]: the session record; ARGV[1]: the call's id (the record's
-- sessionId; older writers named it agentSessionId). Returns 1 if removed, else 0 (no record,
-- or a newer call's).
local stored = redis.call('GET', KEYS[1])
if not stored then
  return 0
end
local ok, record = pcall(cjson.decode, stored)
if ok and type(record) == 'table'
    and (record.sessionId == ARGV[1] or record.agentSessionId == ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
