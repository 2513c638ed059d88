-- The pushes a conversation's browser has not acknowledged (store.py's `pushes_pending`).
-- KEYS[1]: the conversation's pushes hash, deliveryId -> {"at", "while", "frame"}: the push is
-- pending while the key `while` (its task) exists; expired ones are dropped here.
-- Returns the pending entries as stored.
local pending = {}
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local entry = entries[i + 1]
  if redis.call('EXISTS', cjson.decode(entry)['while']) == 1 then
    pending[#pending + 1] = entry
  else
    redis.call('HDEL', KEYS[1], entries[i])
  end
end
return pending
