-- What a live-update socket gets on connect (store.py's `conversation_snapshot`), in one call
-- and without counting the conversation as used: its JSON, then the pushes for the live agent
-- that its browser has not acknowledged.
-- KEYS: 1 the conversation hash, 2 its messages list, 3 its pushes hash (deliveryId ->
--       {"at", "while", "frame"}: a push is pending while the key `while`, its task, exists;
--       the others are dropped here).
--       KEYS[4] (cluster mode): the key that says the conversation is watched, set here for
--       ARGV[1] ms (the socket renews it: store.py's conversation_watched).
-- Returns {conversation JSON, pending push entries as stored...}, or {false} if it is unknown.
local conversation = conversation_json(KEYS[1], KEYS[2])
if not conversation then
  return {false}
end
if KEYS[4] then
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[1])
end
local snapshot = {conversation}
local entries = redis.call('HGETALL', KEYS[3])
for i = 1, #entries, 2 do
  local entry = entries[i + 1]
  if redis.call('EXISTS', cjson.decode(entry)['while']) == 1 then
    snapshot[#snapshot + 1] = entry
  else
    redis.call('HDEL', KEYS[3], entries[i])
  end
end
return snapshot
